"""Issue 18 item 2: a model whose classes differ never replaces the classes a user defined
(a classes.json, or classes edited in the project); a bare folder's placeholder classes, or a
model's adopted earlier, may still take the model's. Through the API and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core.class_origin import own_classes
from segstudio.core.classes import ADOPTED_KEY, ClassSet, builtin_classes
from segstudio.core.project import Project
from segstudio.engine.checkpoint import CheckpointError, default_checkpoint
from segstudio.engine.workflow import active_checkpoint, adopt_or_check_classes
from tests.cli_helpers import one_line_error, run_cli

ROAD = ClassSet(["road", "car", "other"], [(128, 64, 128), (64, 0, 128), (0, 128, 0)], 255)


@pytest.fixture
def bare(tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.full((40, 48, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    return folder


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_bare_folder_is_a_placeholder_and_adopts(bare) -> None:
    project = Project.open(bare)
    assert own_classes(project) is None
    assert active_checkpoint(project) == default_checkpoint()
    assert adopt_or_check_classes(project, builtin_classes("camvid"), default_checkpoint())
    reopened = Project.open(bare)
    assert reopened.classes.names == builtin_classes("camvid").names
    # Taken from a model, unchanged: still not the user's, another model may replace them.
    assert reopened.classes.extra[ADOPTED_KEY] == default_checkpoint().name
    assert own_classes(reopened) is None
    assert adopt_or_check_classes(reopened, ROAD, bare / "other.safetensors")
    # ... until the user edits them.
    reopened.classes.rename(0, "street")
    assert own_classes(reopened) == "defined in this project"


def test_classes_json_is_never_replaced(bare) -> None:
    ROAD.save(bare / "classes.json")
    project = Project.open(bare)
    assert "classes.json" in own_classes(project)
    assert active_checkpoint(project) is None          # the shipped ENet does not fit
    before = _snapshot(bare)
    with pytest.raises(CheckpointError) as info:
        adopt_or_check_classes(project, builtin_classes("camvid"), default_checkpoint())
    message = str(info.value)
    assert "\n" not in message and "are its own" in message and "classes.json" in message
    assert project.classes.names == ["road", "car", "other"]
    assert _snapshot(bare) == before                     # nothing written


@pytest.mark.parametrize("edit", ["add", "rename", "recolor"])
def test_classes_edited_in_the_app_are_the_users(bare, edit) -> None:
    project = Project.open(bare)
    {"add": lambda c: c.add("car"), "rename": lambda c: c.rename(1, "car"),
     "recolor": lambda c: c.recolor(1, (1, 2, 3))}[edit](project.classes)
    project.save()
    project = Project.open(bare)
    assert own_classes(project) == "defined in this project"
    assert active_checkpoint(project) is None
    with pytest.raises(CheckpointError):
        adopt_or_check_classes(project, builtin_classes("camvid"), default_checkpoint())


def test_cli_segment_refuses_and_writes_nothing(capsys, bare) -> None:
    ROAD.save(bare / "classes.json")
    before = _snapshot(bare)
    code, out, err = run_cli(capsys, "segment", bare)
    assert code == 2 and "no active model fits" in one_line_error(err)
    code, out, err = run_cli(capsys, "segment", bare, "--checkpoint", default_checkpoint())
    assert code == 2 and "are its own" in one_line_error(err), err
    assert "took the classes" not in out
    assert _snapshot(bare) == before


def test_cli_segment_edited_classes_in_segstudio_json(capsys, bare) -> None:
    project = Project.open(bare)
    project.classes.add("car")
    project.save()
    before = json.loads((bare / "segstudio.json").read_text())["classes"]
    code, _, err = run_cli(capsys, "segment", bare, "--checkpoint", default_checkpoint())
    assert code == 2 and "are its own" in one_line_error(err)
    assert json.loads((bare / "segstudio.json").read_text())["classes"] == before
