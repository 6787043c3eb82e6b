"""Importing into an existing project: classes are never silently remapped, reviewed labels
are never silently replaced, the source is never written to; and both directions report
progress, can be cancelled and leave only complete files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from formats_data import REVIEWED, labels_of, tree_digest
from PIL import Image

from segstudio.core.atomic import is_temp_file
from segstudio.core.formats import (
    ClassMismatchError,
    FormatError,
    TransferProgress,
    export_labels,
    import_labels,
)
from segstudio.core.project import ImageState, Project
from segstudio.core.sample import make_sample_project


@pytest.fixture
def coco_export(tricky, tmp_path):
    export_labels(tricky, "coco", tmp_path / "coco")
    return tmp_path / "coco"


@pytest.fixture
def other_project(tmp_path):
    """A project with other classes (sky, ground, disc, box) and the tricky image keys."""
    root = make_sample_project(tmp_path / "other", count=1, reviewed=1, size=(32, 32))
    return root


def test_other_classes_are_refused_in_one_line_and_nothing_is_written(coco_export,
                                                                       other_project):
    before = tree_digest(other_project)
    with pytest.raises(ClassMismatchError) as exc:
        import_labels(coco_export, "coco", other_project)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "source only: straße" in msg and "project only: ground" in msg
    assert "--map-by-name" in msg and "--map SOURCE=PROJECT" in msg
    assert tree_digest(other_project) == before


def test_same_names_in_another_order_are_refused(tricky, tmp_path):
    export_labels(tricky, "coco", tmp_path / "c")
    target = make_sample_project(tmp_path / "t", count=1, reviewed=1, size=(32, 32))
    project = Project.open(target)
    project.classes.names = ["straße", "sky", "disc", "box"]
    project.save()
    with pytest.raises(ClassMismatchError, match="same names in another order"):
        import_labels(tmp_path / "c", "coco", target)


def test_map_by_name_adds_missing_classes(coco_export, other_project, tricky):
    report = import_labels(coco_export, "coco", other_project, map_by_name=True)
    project = Project.open(other_project)
    assert project.classes.names == ["sky", "ground", "disc", "box", "straße"]
    assert report.classes_added == ["straße"]
    assert "added classes to the project: straße" in "\n".join(report.summary())
    src = Project.open(tricky).classes
    for key, mask in labels_of(tricky, REVIEWED).items():
        got = project.read_label(project.entry(key))
        names = np.asarray([*src.names, "void"], object)[np.where(mask == 255, 4, mask)]
        dst = np.asarray([*project.classes.names, "void"], object)[np.where(got == 255, 5, got)]
        assert (names == dst).all()


def test_explicit_map_and_map_to_void(coco_export, other_project, tricky):
    with pytest.raises(ClassMismatchError, match="straße"):
        import_labels(coco_export, "coco", other_project, class_map={"disc": "box"})
    with pytest.raises(ClassMismatchError, match="the source has no class 'nope'"):
        import_labels(coco_export, "coco", other_project, class_map={"nope": "sky"})
    with pytest.raises(ClassMismatchError, match="the project has no class 'road'"):
        import_labels(coco_export, "coco", other_project, class_map={"straße": "road"})
    import_labels(coco_export, "coco", other_project,
                  class_map={"straße": "ground", "disc": "void"})
    project = Project.open(other_project)
    assert project.classes.names == ["sky", "ground", "disc", "box"]  # unchanged
    for key, mask in labels_of(tricky, REVIEWED).items():
        got = project.read_label(project.entry(key))
        expected = mask.copy()
        expected[mask == 2] = 255  # disc -> void
        np.testing.assert_array_equal(got, expected)  # straße (1) -> ground (1)


def test_reviewed_labels_are_kept_unless_asked(tricky, coco_export, tmp_path):
    target = tmp_path / "target"
    shutil.copytree(tricky, target)
    project = Project.open(target)
    changed = {}
    for key in REVIEWED[:2]:
        entry = project.entry(key)
        changed[key] = np.zeros_like(project.read_label(entry))
        project.save_label(entry, changed[key], state=ImageState.REVIEWED)
    entry = project.entry(REVIEWED[2])
    assert project.save_label(entry, np.zeros_like(project.read_label(entry)),
                              state=ImageState.PREDICTED, overwrite_reviewed=True)
    report = import_labels(coco_export, "coco", target)
    assert report.kept_reviewed == 3 and report.imported == 1
    assert report.replaced == {"predicted": 1}
    text = "\n".join(report.summary())
    assert "kept 3 reviewed labels" in text and "replaced 1 predicted label" in text
    for key in REVIEWED[:2]:
        np.testing.assert_array_equal(labels_of(target)[key], changed[key])
    again = import_labels(coco_export, "coco", target, overwrite_reviewed=True)
    assert again.imported == 4 and again.replaced == {"reviewed": 4}
    np.testing.assert_array_equal(labels_of(target)[REVIEWED[0]],
                                  labels_of(tricky)[REVIEWED[0]])


def test_source_is_never_written(tricky, tmp_path):
    export_labels(tricky, "voc", tmp_path / "voc")
    before = tree_digest(tmp_path / "voc")
    import_labels(tmp_path / "voc", "voc", tmp_path / "new")
    import_labels(tmp_path / "voc", "voc", tmp_path / "linked", link=True)
    import_labels(tmp_path / "voc", "voc", tmp_path / "new", overwrite_reviewed=True)
    assert tree_digest(tmp_path / "voc") == before
    for bad in (tmp_path / "voc" / "project", tmp_path / "voc", tmp_path):
        with pytest.raises(FormatError, match="must not contain each other"):
            import_labels(tmp_path / "voc", "voc", bad)
    assert tree_digest(tmp_path / "voc") == before


def test_an_image_with_other_content_is_not_replaced(coco_export, tricky, tmp_path):
    target = tmp_path / "target"
    (target / "images").mkdir(parents=True)
    Image.new("RGB", (64, 48), (9, 9, 9)).save(target / "images" / "a.png")
    report = import_labels(coco_export, "coco", target)
    assert report.imported == 3
    assert any("a.png: exists with other content" in p for p in report.problems)
    assert np.asarray(Image.open(target / "images" / "a.png"))[0, 0].tolist() == [9, 9, 9]


def test_progress_reports_every_stage(coco_export, tmp_path):
    events: list[TransferProgress] = []
    import_labels(coco_export, "coco", tmp_path / "p", progress=events.append)
    stages = [e.stage for e in events]
    assert stages[0] == "scan" and "images" in stages and stages[-1] == "labels"
    last = {e.stage: e for e in events}
    assert last["images"].done == last["images"].total == 4
    assert last["labels"].done == last["labels"].total == 4
    assert {e.key for e in events if e.stage == "labels" and e.key} == set(REVIEWED)
    out: list[TransferProgress] = []
    export_labels(tmp_path / "p", "voc", tmp_path / "v", progress=out.append)
    assert [e.done for e in out] == list(range(5)) and out[-1].total == 4


def _no_temp_files(folder) -> None:
    assert not [p for p in folder.rglob("*") if is_temp_file(p.name)]


@pytest.mark.parametrize("out", ["v", "x.zip"])
def test_cancelled_export_leaves_only_complete_files(tricky, tmp_path, out):
    fmt = "cvat-mask" if out.endswith(".zip") else "voc"
    events = []
    report = export_labels(tricky, fmt, tmp_path / out, progress=events.append,
                           cancel=lambda: len(events) > 2)
    assert report.cancelled and report.exported == 2
    assert "cancelled" in report.summary()[0]
    _no_temp_files(tmp_path)
    if fmt == "cvat-mask":
        assert not (tmp_path / out).exists()  # the zip is all or nothing
    else:
        pngs = list((tmp_path / out / "SegmentationClass").rglob("*.png"))
        assert len(pngs) == 2
        for p in pngs:
            Image.open(p).load()  # complete files


def test_cancelled_import_leaves_a_consistent_project(coco_export, tmp_path):
    events = []

    def cancel():
        return any(e.stage == "labels" and e.done >= 2 for e in events)

    report = import_labels(coco_export, "coco", tmp_path / "p", progress=events.append,
                           cancel=cancel)
    assert report.cancelled and report.imported == 2
    _no_temp_files(tmp_path / "p")
    project = Project.open(tmp_path / "p")
    data = json.loads((tmp_path / "p" / "segstudio.json").read_text("utf-8"))
    assert data["classes"]["classes"][1]["name"] == "straße"
    assert project.counts()[ImageState.REVIEWED] == 2
    for entry in project.reviewed_entries():
        project.read_label(entry)  # readable and the right size
    finished = import_labels(coco_export, "coco", tmp_path / "p")  # run again to finish
    assert finished.imported == 2 and finished.kept_reviewed == 2


def test_bad_sources_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    cases = [
        ("voc", tmp_path / "empty", "no SegmentationClass/ folder"),
        ("coco", tmp_path / "empty", "no COCO .json file"),
        ("labelme", tmp_path / "empty", "no labelme JSON files"),
        ("cvat-mask", tmp_path / "missing.zip", "no such file or folder"),
    ]
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    cases.append(("cvat-mask", tmp_path / "broken.zip", "not a readable zip"))
    (tmp_path / "x.json").write_text("{\"images\": 3}")
    cases.append(("coco", tmp_path / "x.json", "not a COCO file"))
    for fmt, path, message in cases:
        with pytest.raises(FormatError) as exc:
            import_labels(path, fmt, tmp_path / f"p_{fmt}")
        assert message in str(exc.value) and "\n" not in str(exc.value), (fmt, exc.value)


def test_an_image_that_would_take_another_ones_label_file_is_skipped(tmp_path):
    root = make_sample_project(tmp_path / "p", count=2, reviewed=2, size=(32, 32))
    before = labels_of(root)
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(src / "images" / "scene_01.jpg")  # scene_01.png is there
    doc = {"images": [{"id": 1, "file_name": str(src / "images" / "scene_01.jpg"),
                       "height": 32, "width": 32}],
           "categories": [{"id": i, "name": n}
                          for i, n in enumerate(Project.open(root).classes.names, 1)],
           "annotations": []}
    (src / "coco.json").write_text(json.dumps(doc))
    report = import_labels(src / "coco.json", "coco", root)
    assert report.imported == 0
    assert any("would share its label file with 'scene_01.png'" in p for p in report.problems)
    assert not (root / "images" / "scene_01.jpg").exists()
    after = labels_of(root)
    assert sorted(after) == sorted(before)
    new = import_labels(src / "coco.json", "coco", tmp_path / "new")  # absolute file_name
    assert new.imported == 1
    label = Project.open(tmp_path / "new").read_label(
        Project.open(tmp_path / "new").entry("scene_01.jpg"))
    assert (label == 255).all()  # an image without annotations: all void
