"""Moving void out of the way of a new class (CamVid layout: void right after the last class):
every label file is checked first, the move is recorded, files are rewritten atomically keeping
their kind, an interrupted move reads loudly and finishes when run again, a read-only folder
is refused with a way out."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import ClassSet
from segstudio.core.errors import LabelError, ProjectError
from segstudio.core.labels import read_label
from segstudio.core.project import Project
from segstudio.core.void_index import (
    move_void,
    needs_void_move,
    pending_void_move,
    plan_void_move,
)

CLASSES = ClassSet(["sky", "road", "car"], [(10, 20, 30), (40, 50, 60), (70, 80, 90)],
                   ignore_index=3, ignore_name="Unlabelled", ignore_color=(0, 0, 0))


def _mask(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([0, 1, 2, 3], np.uint8), size=(12, 16))


@pytest.fixture
def camvid_like(tmp_path):
    """Three images; labels as greyscale (CamVid's), palette and colour-coded PNGs."""
    root = tmp_path / "proj"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    masks = {}
    for i in range(3):
        Image.new("RGB", (16, 12), (i * 40, 0, 0)).save(root / "images" / f"f{i}.png")
        masks[f"f{i}"] = _mask(i)
    Image.fromarray(masks["f0"], mode="L").save(root / "labels" / "f0.png")
    pal = Image.fromarray(masks["f1"], mode="P")
    pal.putpalette(CLASSES.palette().tobytes())
    pal.save(root / "labels" / "f1.png")
    rgb = CLASSES.palette()[masks["f2"]]
    Image.fromarray(rgb, mode="RGB").save(root / "labels" / "f2.png")
    CLASSES.save(root / "classes.json")
    return root, masks


def test_adding_a_class_needs_void_moved_and_the_move_keeps_every_label(camvid_like):
    root, masks = camvid_like
    project = Project.open(root)
    assert needs_void_move(project.classes)
    with pytest.raises(Exception, match="ignore index"):
        project.classes.copy().add("bus")
    plan = plan_void_move(project)
    assert plan is not None and not plan.blocked and (plan.old, plan.new) == (3, 255)
    assert len(plan.files) == 3
    seen = []
    rewritten = move_void(project, plan, progress=lambda e: seen.append((e.stage, e.done)))
    assert rewritten == 2                      # the RGB file stores void as a colour
    assert seen[-1] == ("rewrite", 2) and ("check", 3) in seen
    assert project.classes.ignore_index == 255 and pending_void_move(project) is None
    assert project.classes.names == CLASSES.names
    # Every file means what it meant: void is 255 now, classes unchanged.
    for key, mask in masks.items():
        expected = np.where(mask == 3, 255, mask)
        np.testing.assert_array_equal(project.read_label(project.entry(f"{key}.png")), expected)
    with Image.open(root / "labels" / "f0.png") as img:
        assert img.mode == "L"                 # greyscale stays greyscale
    with Image.open(root / "labels" / "f1.png") as img:
        assert img.mode == "P"
    # Now the class can be added, and is saved with the project.
    assert project.classes.add("bus") == 3
    project.save()
    again = Project.open(root)
    assert again.classes.names[-1] == "bus" and again.classes.ignore_index == 255
    assert (CLASSES.to_dict() == ClassSet.load(root / "classes.json").to_dict())  # untouched


def test_an_unreadable_label_stops_it_before_any_change(camvid_like):
    root, _ = camvid_like
    bad = np.full((12, 16), 7, np.uint8)
    Image.fromarray(bad, mode="L").save(root / "labels" / "zz.png")
    before = {p.name: p.read_bytes() for p in (root / "labels").iterdir()}
    project = Project.open(root)
    with pytest.raises(LabelError, match=r"zz\.png"):
        move_void(project, plan_void_move(project))
    assert {p.name: p.read_bytes() for p in (root / "labels").iterdir()} == before
    assert Project.open(root).classes.ignore_index == 3


def test_a_read_only_labels_folder_is_refused_with_a_way_out(camvid_like):
    root, _ = camvid_like
    labels = root / "labels"
    os.chmod(labels, 0o555)
    try:
        project = Project.open(root)
        plan = plan_void_move(project)
        assert "read-only" in plan.blocked and "copy the project folder" in plan.blocked
        with pytest.raises(ProjectError, match="read-only"):
            move_void(project, plan)
        assert project.classes.ignore_index == 3
    finally:
        os.chmod(labels, 0o755)


def test_an_interrupted_move_reads_loudly_and_finishes_when_run_again(camvid_like,
                                                                      monkeypatch):
    from segstudio.core import void_index

    root, masks = camvid_like
    project = Project.open(root)
    real = void_index._write_like
    calls = []

    def crash_on_second(path, mask, classes):
        calls.append(path)
        if len(calls) == 2:
            raise ProjectError("disk full")
        real(path, mask, classes)

    monkeypatch.setattr(void_index, "_write_like", crash_on_second)
    with pytest.raises(ProjectError, match="disk full"):
        move_void(project, plan_void_move(project))
    reopened = Project.open(root)
    assert pending_void_move(reopened) == {"from": 3, "to": 255}
    # The file not yet rewritten is refused, never read as something it is not.
    unfinished = calls[1]
    with pytest.raises(LabelError, match="not classes"):
        read_label(unfinished, reopened.classes)
    monkeypatch.setattr(void_index, "_write_like", real)
    plan = plan_void_move(reopened)
    assert plan.resuming
    move_void(reopened, plan)
    assert pending_void_move(Project.open(root)) is None
    for key, mask in masks.items():
        np.testing.assert_array_equal(reopened.read_label(reopened.entry(f"{key}.png")),
                                      np.where(mask == 3, 255, mask))


def test_nothing_to_move_when_void_is_out_of_the_way(tmp_path):
    (tmp_path / "images").mkdir()
    project = Project.open(tmp_path)
    assert project.classes.ignore_index == 255
    assert plan_void_move(project) is None
