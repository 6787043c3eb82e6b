"""Deleting and merging classes (issue 18 item 2): the label files are rewritten to match,
in every kind they come in, nothing changes on a bad file or a cancel, and a crash between
recording and the renames is finished later."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core import class_remap as cr
from segstudio.core.class_origin import own_classes
from segstudio.core.classes import ClassSet
from segstudio.core.errors import ClassSetError, LabelError
from segstudio.core.project import ImageState, Project

CLASSES = ClassSet(["road", "car", "van", "tree"],
                   [(128, 64, 128), (64, 0, 128), (0, 0, 200), (0, 128, 0)], 255,
                   weights=[1.0, 2.0, 3.0, 4.0])


@pytest.fixture
def project(tmp_path):
    """a: palette PNG with every value; b: greyscale; c: RGB colour-coded; d: no label."""
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    CLASSES.save(tmp_path / "classes.json")
    for name in "abcd":
        Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(tmp_path / "images" / f"{name}.png")
    p = Project.open(tmp_path)
    mask = np.array([[0, 1, 2, 3, 255]] * 6, np.uint8)
    p.save_label(p.entry("a.png"), mask, state=ImageState.REVIEWED)
    Image.fromarray(mask, mode="L").save(tmp_path / "labels" / "b.png")
    Image.fromarray(CLASSES.palette()[mask], mode="RGB").save(tmp_path / "labels" / "c.png")
    return Project.open(tmp_path)


def _masks(p):
    return {k: p.read_label(p.entry(k)) for k in ("a.png", "b.png", "c.png")}


def test_delete_makes_its_pixels_void_and_shifts_the_rest(project) -> None:
    plan = cr.plan_delete(project, "car")
    assert cr.apply_remap(project, plan) == 3
    p = Project.open(project.root)
    assert p.classes.names == ["road", "van", "tree"] and p.classes.weights == [1.0, 3.0, 4.0]
    assert p.classes.colors[1] == (0, 0, 200)
    for key, mask in _masks(p).items():
        assert mask[0].tolist() == [0, 255, 1, 2, 255], key
    assert Image.open(p.root / "labels" / "b.png").mode == "L"
    assert Image.open(p.root / "labels" / "c.png").mode == "RGB"
    assert p.state(p.entry("a.png")) is ImageState.REVIEWED
    assert own_classes(p) is not None and "class_remap" not in p.settings
    assert sorted(x.name for x in (p.root / "labels").iterdir()) == ["a.png", "b.png", "c.png"]
    # The dataset's own classes.json is left as it was.
    assert ClassSet.load(p.root / "classes.json").names == CLASSES.names


def test_merge_moves_pixels_into_the_target(project) -> None:
    cr.apply_remap(project, cr.plan_merge(project, "van", "car"))
    p = Project.open(project.root)
    assert p.classes.names == ["road", "car", "tree"]
    for mask in _masks(p).values():
        assert mask[0].tolist() == [0, 1, 1, 2, 255]
    cr.apply_remap(p, cr.plan_merge(p, "road", "tree"))   # a later class into an earlier one
    p = Project.open(project.root)
    assert p.classes.names == ["car", "tree"]
    assert _masks(p)["a.png"][0].tolist() == [1, 0, 0, 1, 255]


@pytest.mark.parametrize(("call", "expected"), [
    (lambda p: cr.plan_delete(p, "bus"), "no class 'bus'"),
    (lambda p: cr.plan_merge(p, "car", "car"), "into itself"),
])
def test_refusals_are_one_line(project, call, expected) -> None:
    with pytest.raises(ClassSetError) as info:
        call(project)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_last_class_cannot_go(project) -> None:
    for name in ("road", "car", "van"):
        cr.apply_remap(project, cr.plan_delete(project, name))
    with pytest.raises(ClassSetError, match="only class"):
        cr.plan_delete(project, "tree")


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_bad_file_or_cancel_changes_nothing(project) -> None:
    before = _snapshot(project.root)
    assert cr.apply_remap(project, cr.plan_delete(project, "car"), cancel=lambda: True) == 0
    assert _snapshot(project.root) == before
    bad = np.full((6, 5), 9, np.uint8)        # 9: neither a class nor void
    Image.fromarray(bad, mode="L").save(project.root / "labels" / "d.png")
    before = _snapshot(project.root)
    with pytest.raises(LabelError) as info:
        cr.apply_remap(project, cr.plan_delete(project, "car"))
    assert "d.png" in str(info.value)
    assert _snapshot(project.root) == before
    assert Project.open(project.root).classes.names == CLASSES.names


def test_crash_before_the_renames_is_finished_later(project, monkeypatch) -> None:
    monkeypatch.setattr(cr, "_commit", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        cr.apply_remap(project, cr.plan_delete(project, "car"))
    monkeypatch.undo()
    p = Project.open(project.root)
    assert p.settings["class_remap"] == {"what": "delete 'car'"}
    with pytest.raises(Exception, match="unfinished"):
        cr.plan_delete(p, "van")
    assert cr.finish_pending_remap(p) == 3
    p = Project.open(project.root)
    assert "class_remap" not in p.settings
    assert _masks(p)["b.png"][0].tolist() == [0, 255, 1, 2, 255]
    assert not (p.store_dir / cr.MANIFEST).exists()
    assert not [x for x in (p.root / "labels").iterdir() if x.name.startswith(".")]
    json.loads(p.project_file.read_text())   # still a readable project file
