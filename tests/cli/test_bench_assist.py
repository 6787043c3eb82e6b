"""`segstudio bench assist` on generated images: it counts clicks per object for each tool
and the polygon's vertices, prints `noc85` / `noc90` keyed by tool with --json, and skips
with a reason when CamVid is absent."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from segstudio.bench import assist_sim as sim
from segstudio.cli import main
from segstudio.core.classes import ClassSet
from segstudio.core.labels import write_label

CLASSES = ClassSet(["background", "disc", "bar"], [(90, 90, 90), (200, 0, 0), (0, 200, 0)], 255)


def _folder(root: Path, count: int = 2) -> Path:
    rng = np.random.default_rng(3)
    for sub in ("images", "labels"):
        (root / sub).mkdir(parents=True)
    for i in range(count):
        img = rng.integers(20, 60, (96, 128, 3)).astype(np.uint8)
        label = np.zeros((96, 128), np.uint8)
        cv2.circle(label, (40 + 10 * i, 48), 22, 1, -1)
        cv2.rectangle(label, (90, 10), (110, 80), 2, -1)
        label[:2] = 255                                   # a void band
        img[label == 1] = (210, 180, 60)
        img[label == 2] = (60, 200, 220)
        Image.fromarray(img).save(root / "images" / f"{i}.png")
        write_label(root / "labels" / f"{i}.png", label, CLASSES)
    CLASSES.save(root / "classes.json")
    return root


def test_next_click_goes_to_the_centre_of_the_largest_error() -> None:
    gt = np.zeros((40, 40), bool)
    gt[5:35, 5:35] = True
    pred = np.zeros_like(gt)
    pred[5:35, 5:15] = True                              # the right part is missed
    x, y, positive, dist = sim.next_click(pred, gt, np.ones_like(gt))
    assert positive and 24 <= x <= 26 and 14 <= y <= 26 and dist >= 9
    pred = gt.copy()
    pred[0:4] = True                                     # spilled above
    assert sim.next_click(pred, gt, np.ones_like(gt))[2] is False
    assert sim.next_click(gt, gt, np.ones_like(gt)) is None


def test_the_polygon_baseline_counts_vertices() -> None:
    gt = np.zeros((60, 60), bool)
    gt[10:50, 10:50] = True
    trial = sim.contour_trial(gt, np.ones_like(gt))
    assert trial.noc(0.85, 20) == (4, True)              # a square: its four corners


def test_bench_assist_json(tmp_path, capsys) -> None:
    data = _folder(tmp_path / "data")
    # --sam off: the weight-free tools' keys, also on a machine that has SAM's weights
    assert main(["bench", "assist", "--data", str(data), "--classes", "disc,bar",
                 "--min-size", "100", "--sam", "off", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["objects"] == 4
    for key in ("noc85", "noc90"):
        assert set(out[key]) == {"box", "regions", "scissors", "polygon"}
        assert all(v >= 1 for v in out[key].values())
    assert out["per_class"]["bar"]["polygon"]["noc85"] == 4     # a rectangle's corners
    assert out["per_class"]["disc"]["polygon"]["noc85"] > 4
    assert out["noc85"]["box"] <= 3                      # a box on a clean object
    assert set(out["per_class"]) == {"disc", "bar"}
    assert out["latency_ms"]["box"]["median_ms"] > 0
    assert set(out["prepare_ms"]) == {"scissors", "regions"}


def test_bench_assist_skips_without_camvid(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SEGSTUDIO_CAMVID", str(tmp_path / "absent"))
    assert main(["bench", "assist", "--json"]) == 0
    assert "absent" in json.loads(capsys.readouterr().out)["skipped"]


def test_bench_assist_names_an_unknown_class(tmp_path, capsys) -> None:
    data = _folder(tmp_path / "data", 1)
    assert main(["bench", "assist", "--data", str(data), "--classes", "car"]) == 2
    assert "car" in capsys.readouterr().err
