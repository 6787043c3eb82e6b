"""`segstudio bench prompt` on generated images with an untrained ENet as the prediction:
the code path (a click per missed object, fill against the object fill) and its keys; the
figures of an untrained network mean nothing."""

from __future__ import annotations

import json

import torch

from segstudio.cli import main
from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
from segstudio.models import build_model
from tests.cli.test_bench_assist import CLASSES, _folder


def test_bench_prompt_json(tmp_path, capsys):
    data = _folder(tmp_path / "data")
    torch.manual_seed(0)
    model = build_model("enet", CLASSES.num_classes)
    ckpt = save_checkpoint(model, tmp_path / "enet", CheckpointMeta(
        arch="enet", classes=CLASSES, mean=model.info.mean, std=model.info.std))
    assert main(["bench", "prompt", "--data", str(data), "--classes", "disc,bar",
                 "--min-size", "100", "--checkpoint", str(ckpt), "--sam", "off",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["objects"] >= 1 and out["sam"].startswith("off")
    assert set(out["iou_after"]) == {"fill", "object_fill"}
    assert set(out["broken_px"]) == {"fill", "object_fill"}
    assert all(0 <= v <= 1 for v in out["iou_after"].values())


def test_bench_prompt_refuses_a_model_of_other_classes(tmp_path, capsys):
    data = _folder(tmp_path / "data", count=1)
    assert main(["bench", "prompt", "--data", str(data), "--sam", "off"]) == 2
    assert "classes differ" in capsys.readouterr().err
