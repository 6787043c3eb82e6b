"""Undoing the last class delete or merge (core.class_undo, class_remap.undo_last_remap):
the classes and every label file come back byte for byte; refused in one line, nothing
changed, when a label or the classes changed since; only the last change; crash-safe."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segstudio.core import class_remap as cr
from segstudio.core import class_undo
from segstudio.core.errors import LabelError, ProjectError
from segstudio.core.project import ImageState, Project
from tests.core.test_class_remap import CLASSES, project  # noqa: F401 - the fixture


def _snapshot(root):
    """Every file of the project but segstudio's own store and segstudio.json."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".segstudio" not in p.parts and p.name != "segstudio.json"}


@pytest.mark.parametrize("change", [lambda p: cr.plan_merge(p, "van", "car"),
                                    lambda p: cr.plan_delete(p, "road")])
def test_undo_brings_back_the_classes_and_every_label_file(project, change):  # noqa: F811
    before = _snapshot(project.root)
    names = project.classes.to_dict()
    cr.apply_remap(project, change(project))
    assert _snapshot(project.root) != before
    p = Project.open(project.root)
    what = cr.undo_last_remap(p)
    assert what.startswith(("merge", "delete"))
    again = Project.open(project.root)
    assert again.classes.to_dict() == names
    assert again.classes.names == CLASSES.names
    assert _snapshot(project.root) == before                 # byte for byte, every kind
    assert "class_remap" not in again.settings
    assert not (again.store_dir / class_undo.RECORD).exists()
    assert list((again.store_dir / class_undo.BACKUPS).iterdir()) == []
    with pytest.raises(ProjectError, match="no class change to undo"):
        cr.undo_last_remap(again)


def test_a_label_changed_since_refuses_the_undo(project):  # noqa: F811
    cr.apply_remap(project, cr.plan_merge(project, "van", "car"))
    p = Project.open(project.root)
    p.save_label(p.entry("a.png"), np.zeros((6, 5), np.uint8), state=ImageState.REVIEWED)
    before, doc = _snapshot(p.root), p.project_file.read_bytes()
    with pytest.raises(ProjectError) as err:
        cr.undo_last_remap(p)
    line = str(err.value)
    assert "\n" not in line and "a.png" in line and "changed after it" in line
    assert _snapshot(p.root) == before and p.project_file.read_bytes() == doc


def test_a_label_written_since_refuses_the_undo(project):  # noqa: F811
    cr.apply_remap(project, cr.plan_delete(project, "car"))
    p = Project.open(project.root)
    p.save_label(p.entry("d.png"), np.zeros((6, 5), np.uint8), state=ImageState.REVIEWED)
    with pytest.raises(ProjectError, match=r"d\.png was written after it"):
        cr.undo_last_remap(p)


def test_classes_changed_since_refuse_the_undo(project):  # noqa: F811
    cr.apply_remap(project, cr.plan_delete(project, "car"))
    p = Project.open(project.root)
    classes = p.classes
    classes.add("bus")
    p.classes = classes
    p.save()
    with pytest.raises(ProjectError, match="classes changed since"):
        cr.undo_last_remap(Project.open(project.root))


def test_only_the_last_change_is_undone(project):  # noqa: F811
    cr.apply_remap(project, cr.plan_merge(project, "van", "car"))
    p = Project.open(project.root)
    after_first = _snapshot(p.root)
    cr.apply_remap(p, cr.plan_delete(p, "tree"))
    assert cr.undo_last_remap(Project.open(project.root)) == "delete 'tree'"
    p = Project.open(project.root)
    assert p.classes.names == ["road", "car", "tree"] and _snapshot(p.root) == after_first
    with pytest.raises(ProjectError, match="no class change to undo"):
        cr.undo_last_remap(p)
    # one change's copies at a time
    assert len(list((p.store_dir / class_undo.BACKUPS).iterdir())) == 0


def test_a_failed_change_keeps_the_undo_of_the_one_before(project):  # noqa: F811
    before = _snapshot(project.root)
    cr.apply_remap(project, cr.plan_merge(project, "van", "car"))
    bad = np.full((6, 5), 9, np.uint8)            # neither a class nor void
    Image.fromarray(bad, mode="L").save(project.root / "labels" / "d.png")
    p = Project.open(project.root)
    with pytest.raises(LabelError):
        cr.apply_remap(p, cr.plan_delete(p, "road"))
    (project.root / "labels" / "d.png").unlink()
    cr.undo_last_remap(Project.open(project.root))
    assert _snapshot(project.root) == before


def test_a_crash_during_the_undo_is_finished_when_the_project_opens(project, monkeypatch):  # noqa: F811
    before = _snapshot(project.root)
    cr.apply_remap(project, cr.plan_merge(project, "van", "car"))
    monkeypatch.setattr(cr, "_commit", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        cr.undo_last_remap(Project.open(project.root))
    monkeypatch.undo()
    p = Project.open(project.root)
    assert p.settings["class_remap"] == {"what": "undo merge 'van' into 'car'"}
    cr.finish_pending_remap(p)
    assert Project.open(project.root).classes.names == CLASSES.names
    assert _snapshot(project.root) == before
