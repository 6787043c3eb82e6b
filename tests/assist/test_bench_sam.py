"""SAM in `segstudio bench assist`: with a tiny model the test builds, the code path runs
(NoC, per-click latency, encoder time); without weights one line says it is not measured.
The tiny model's figures are not SAM's figures: only the keys and counts are checked."""

from __future__ import annotations

import argparse
import json

import numpy as np

from segstudio.assist.sam import SamModel
from segstudio.bench import assist, assist_sam
from segstudio.cli import main
from tests.assist.sam_tiny import TINY, save_tiny
from tests.cli.test_bench_assist import _folder


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    assist.add_arguments(parser)
    args = parser.parse_args(list(argv))
    args.json = True
    return args


def test_bench_assist_measures_a_given_sam(tmp_path):
    data = _folder(tmp_path / "data")
    args = _args("--data", str(data), "--classes", "disc,bar", "--min-size", "100",
                 "--max-clicks", "4")
    args.sam_model = SamModel.load(save_tiny(tmp_path / "tiny.pth"), TINY)
    out = assist.run(args)
    assert out["objects"] == 4 and out["sam"] == "given"
    assert 1 <= out["noc85"]["sam"] <= 4 and 1 <= out["noc90"]["sam"] <= 4
    assert out["latency_ms"]["sam"]["median_ms"] > 0
    assert out["prepare_ms"]["sam_encoder"]["median_ms"] > 0
    assert set(out["per_class"]["disc"]) >= {"sam", "polygon"}
    assert "ratio85_sam" in out
    assert "SAM (given) at 85%" in assist.summary(out)


def test_without_weights_sam_is_not_measured(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    data = _folder(tmp_path / "data", count=1)
    assert main(["bench", "assist", "--data", str(data), "--classes", "bar",
                 "--min-size", "100", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["sam"].startswith("not measured: no weights here")
    assert "segstudio weights fetch sam_vit_b" in out["sam"]
    assert "sam" not in out["noc85"]
    assert captured.err.count("SAM: not measured") == 1
    assert main(["bench", "assist", "--data", str(data), "--classes", "bar",
                 "--min-size", "100", "--sam", "off"]) == 0
    assert "SAM: off" in capsys.readouterr().out


def test_timing_reports_encoder_and_click_times(tmp_path):
    model = SamModel.load(save_tiny(tmp_path / "tiny.pth"), TINY)
    images = [np.zeros((30, 40, 3), np.uint8)] * 2
    t = assist_sam.timing(model, images, clicks=3)
    assert t["images"] == 2 and t["clicks"] == 6
    assert t["encoder_s"]["median_s"] >= 0 and t["click_ms"]["median_ms"] > 0
