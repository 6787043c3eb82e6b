"""`segstudio bench predict|train --json`: small runs report both rates and a ratio."""

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.engine.checkpoint import default_checkpoint


def test_bench_predict_json(capsys):
    assert main(["bench", "predict", "--images", "2", "--rounds", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["folder_pipeline"]["images_per_s"] > 0
    assert result["forward_only"]["images_per_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["folder_pipeline"]["images_per_s"] / result["forward_only"]["images_per_s"])


def test_bench_train_json(capsys):
    assert main(["bench", "train", "--images", "4", "--batch", "2", "--size", "64x64",
                 "--rounds", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["segstudio_train"]["images_per_s"] > 0
    assert result["plain_loop"]["images_per_s"] > 0
    assert result["ratio"] > 0 and result["size"] == [64, 64]


def test_segment_defaults_to_the_shipped_model(capsys, tmp_path):
    if not default_checkpoint().exists():
        pytest.skip(f"default model not shipped at {default_checkpoint()}")
    image = tmp_path / "frame.png"
    Image.fromarray(np.full((48, 64, 3), 120, np.uint8)).save(image)
    assert main(["segment", str(image), "--out", str(tmp_path / "out")]) == 0
    with Image.open(tmp_path / "out" / "frame.png") as im:
        assert im.size == (64, 48) and im.mode == "P"
