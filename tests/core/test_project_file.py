"""segstudio.json from hostile hands: every bad part is one line naming the key; unknown keys
and other tools' files are left intact; size and nesting are bounded."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

from segstudio.core import project_file as pf
from segstudio.core.errors import ProjectError
from segstudio.core.project import ImageState, Project


@pytest.fixture
def folder(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a.png")
    return tmp_path


def _write(folder, data) -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    (folder / "segstudio.json").write_text(text)


def _doc(**parts):
    return {"format": "segstudio-project", "version": 1, **parts}


@pytest.mark.parametrize(("data", "expected"), [
    (_doc(images={"a.png": {"state": ["reviewed"]}}), "'images'[\"a.png\"].state: expected one"),
    (_doc(images={"a.png": {"state": {"x": 1}}}), "'images'[\"a.png\"].state"),
    (_doc(images={"a.png": "reviewed"}), "'images'[\"a.png\"]: expected an object"),
    (_doc(images={"a.png": {"state": "predicted", "confidence": "high"}}), "confidence"),
    (_doc(images={"a.png": {"state": "predicted", "confidence": 7}}), "outside 0..1"),
    (_doc(images=[]), "'images': expected an object"),
    (_doc(settings=[1]), "'settings': expected an object"),
    (_doc(settings={"arch": 5}), "'settings'.arch: expected a string"),
    (_doc(checkpoints={"a": 1}), "'checkpoints': expected a list"),
    (_doc(checkpoints=[{"arch": "enet"}]), "'checkpoints'[0].path: expected a string"),
    (_doc(checkpoints=[{"path": "x", "status": "great"}]), "'checkpoints'[0].status"),
    (_doc(checkpoints=[{"path": "x", "miou": float("nan")}]), "'checkpoints'[0].miou"),
    (_doc(classes={"classes": "sky"}), "'classes'"),
    ({"format": "segstudio-project", "version": "1"}, "'version': expected an integer"),
    ({"format": "segstudio-project", "version": 9}, "written by a newer segstudio"),
    ({"format": "labelstudio"}, "not a segstudio project file"),
    ([1, 2], "not a segstudio project file"),
    ("{not json", "cannot read project file"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_bad_project_file_is_one_line_naming_the_key(folder, data, expected) -> None:
    _write(folder, data)
    with pytest.raises(ProjectError) as info:
        Project.open(folder)
    message = str(info.value)
    assert expected in message, message
    assert "\n" not in message and str(folder / "segstudio.json") in message


@pytest.mark.parametrize(("finetune", "expected"), [
    ({"epochs": 1e30}, "epochs: 1e+30 is not a whole number"),
    ({"epochs": 10**30}, "epochs: 1000"),
    ({"lr": "fast"}, "lr: 'fast' is not a number"),
    ({"lr": -1}, "lr: -1 is outside"),
    ({"weighting": "magic"}, "is not one of auto, none, median"),
    ({"height": True}, "height: True is not a number"),
])
def test_bad_finetune_settings_open_with_defaults(folder, finetune, expected) -> None:
    """Issue 18: settings never make a project unreachable (see test_settings_schema)."""
    _write(folder, _doc(settings={"finetune": finetune}))
    project = Project.open(folder)
    [line] = project.settings_warnings
    assert expected in line and "settings.finetune." in line and "\n" not in line, line
    assert project.settings["finetune"] == {}


def test_other_tools_file_is_never_overwritten(folder) -> None:
    _write(folder, {"format": "labelstudio", "tasks": [1, 2]})
    before = (folder / "segstudio.json").read_bytes()
    with pytest.raises(ProjectError):
        Project.open(folder)
    assert (folder / "segstudio.json").read_bytes() == before


def test_unknown_keys_survive_saves(folder) -> None:
    _write(folder, _doc(images={"a.png": {"state": "predicted", "reviewer": "ann"}},
                        settings={"future": [1, 2]}, plugin={"x": 1}))
    (folder / "labels").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "labels" / "a.png")
    p = Project.open(folder)
    assert p.state(p.entries[0]) is ImageState.PREDICTED
    p.save_label(p.entries[0], np.zeros((4, 4), np.uint8), state=ImageState.REVIEWED)
    p.settings["arch"] = "enet"
    p.save()
    data = json.loads((folder / "segstudio.json").read_text())
    assert data["plugin"] == {"x": 1}
    assert data["settings"]["future"] == [1, 2]
    assert data["images"]["a.png"] == {"state": "reviewed", "reviewer": "ann"}


def test_oversized_file_is_refused_quickly(folder, monkeypatch) -> None:
    monkeypatch.setattr(pf, "MAX_BYTES", 1000)
    _write(folder, _doc(settings={"pad": "x" * 5000}))
    t0 = time.perf_counter()
    with pytest.raises(ProjectError, match="MB limit"):
        Project.open(folder)
    assert time.perf_counter() - t0 < 1.0


def test_valid_file_with_every_part_opens(folder) -> None:
    _write(folder, _doc(
        settings={"arch": "enet", "active": "checkpoints/x/best.safetensors",
                  "finetune": {"epochs": 12, "height": 144, "width": 192, "lr": 5e-3,
                               "batch": 4, "weighting": "none", "train_edited": True}},
        images={"a.png": {"state": "edited", "confidence": 0.5}},
        checkpoints=[{"path": "checkpoints/x/best.safetensors", "arch": "enet",
                      "status": "cancelled", "miou": 0.4, "start_miou": None,
                      "metrics": {}, "parent": None}]))
    p = Project.open(folder)
    assert p.settings["finetune"]["epochs"] == 12
    assert p.checkpoints[0]["status"] == "cancelled"
