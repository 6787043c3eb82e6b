"""Export then import gives back the same label maps, class set and image bytes, for every
format that can hold them; what a format cannot hold is said in one line."""

from __future__ import annotations

import numpy as np
import pytest
from formats_data import IMAGES, REVIEWED, labels_of
from PIL import Image

from segstudio.core.formats import FormatError, export_labels, import_labels
from segstudio.core.project import ImageState, Project

CASES = [("voc", "voc"), ("cvat-mask", "cvat.zip"), ("cvat-mask", "cvat"), ("coco", "coco")]


def _same_classes(a, b) -> None:
    assert a.names == b.names
    assert a.colors == b.colors
    assert (a.ignore_index, a.ignore_name, a.ignore_color) == \
        (b.ignore_index, b.ignore_name, b.ignore_color)
    assert a.name == b.name


@pytest.mark.parametrize(("fmt", "out"), CASES)
@pytest.mark.parametrize("fixture", ["tricky", "tricky_void4"])
def test_round_trip_is_exact(fmt, out, fixture, request, tmp_path):
    root = request.getfixturevalue(fixture)
    before = Project.open(root)
    report = export_labels(root, fmt, tmp_path / out, include_all=True)
    assert not report.problems and not report.cancelled
    assert report.states == {"reviewed": 4, "predicted": 1}
    back = import_labels(tmp_path / out, fmt, tmp_path / "back")
    assert back.created and back.imported == 5 and not back.problems and not back.unknown
    after = Project.open(tmp_path / "back")
    _same_classes(after.classes, before.classes)
    original = labels_of(root)
    restored = labels_of(tmp_path / "back")
    assert sorted(restored) == sorted(original)  # keys keep subfolders and non-ASCII names
    for key, mask in original.items():
        assert restored[key].dtype == np.uint8
        np.testing.assert_array_equal(restored[key], mask, err_msg=f"{fmt} {key}")
        assert after.state(after.entry(key)) is ImageState.REVIEWED
        assert after.entry(key).path.read_bytes() == before.entry(key).path.read_bytes()
    assert (restored["a.png"] == before.classes.ignore_index).any()  # void survived


@pytest.mark.parametrize(("fmt", "out"), CASES)
def test_void_index_is_said_when_the_format_stores_255(fmt, out, tricky_void4, tmp_path):
    report = export_labels(tricky_void4, fmt, tmp_path / out)
    text = "\n".join(report.summary())
    if fmt == "voc":
        assert "void (index 4 here) is written as 255" in text
    else:
        assert "255" not in text


def test_colour_masks_decode_through_their_classes_json(tricky, tmp_path):
    from segstudio.core.classes import ClassSet
    from segstudio.core.labels import read_label

    report = export_labels(tricky, "color", tmp_path / "color", split={"val": 0.25})
    classes = ClassSet.load(tmp_path / "color" / "classes.json")
    _same_classes(classes, Project.open(tricky).classes)
    original = labels_of(tricky, REVIEWED)
    for key, mask in original.items():
        png = tmp_path / "color" / "masks" / (key.rsplit(".", 1)[0] + ".png")
        assert Image.open(png).mode == "RGB"
        np.testing.assert_array_equal(read_label(png, classes), mask)
        assert (tmp_path / "color" / "images" / key).is_file()
    lists = {n: (tmp_path / "color" / f"{n}.txt").read_text("utf-8").split("\n")[:-1]
             for n in ("train", "val")}
    assert sorted(lists["train"] + lists["val"]) == sorted(REVIEWED)
    assert len(lists["val"]) == 1 and report.subsets == {"val": 1, "train": 3}


def test_export_defaults_to_reviewed_and_says_what_it_left_out(tricky, tmp_path):
    report = export_labels(tricky, "coco", tmp_path / "c")
    assert report.states == {"reviewed": 4} and report.exported == 4
    text = "\n".join(report.summary())
    # Said for both front ends: the CLI flag and the app's check box.
    assert "left out 1 predicted label" in text and "--all" in text
    assert "'Also predicted and edited labels' in the app" in text
    everything = export_labels(tricky, "coco", tmp_path / "all", include_all=True)
    text = "\n".join(everything.summary())
    assert "(4 reviewed, 1 predicted)" in text and "not ground truth" in text


def test_any_state_other_than_reviewed_counts_as_not_ground_truth(tricky, tmp_path, monkeypatch):
    """A state added later (e.g. EDITED) is neither exported by default nor missed by --all."""
    from segstudio.core.formats import exporting

    project = Project.open(tricky)
    real = project.state

    class FakeState:  # stands in for a new enum member: not REVIEWED, not UNLABELED
        value = "edited"

    def state(entry):
        return FakeState if entry.key == "predicted.png" else real(entry)

    monkeypatch.setattr(project, "state", state)
    chosen, included, left = exporting.select(project, include_all=False)
    assert "predicted.png" not in [e.key for e in chosen] and left == {"edited": 1}
    chosen, included, left = exporting.select(project, include_all=True)
    assert "predicted.png" in [e.key for e in chosen] and included["edited"] == 1


def test_nothing_to_export_is_one_line(tmp_path):
    from segstudio.core.sample import make_sample_project

    root = make_sample_project(tmp_path / "p", count=2, reviewed=0, size=(32, 32))
    with pytest.raises(FormatError) as exc:
        export_labels(root, "voc", tmp_path / "out")
    assert "nothing to export: no reviewed labels" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_split_lists_and_stable_assignment(tricky, tmp_path):
    export_labels(tricky, "voc", tmp_path / "v", include_all=True, split={"val": 0.4})
    lists = tmp_path / "v" / "ImageSets" / "Segmentation"
    read = {p.stem: p.read_text("utf-8").splitlines() for p in lists.glob("*.txt")}
    assert set(read) == {"train", "val", "trainval"}
    assert len(read["val"]) == 2 and len(read["train"]) == 3
    assert read["trainval"] == read["train"] + read["val"]
    export_labels(tricky, "voc", tmp_path / "v2", include_all=True, split={"val": 0.4})
    again = (tmp_path / "v2" / "ImageSets" / "Segmentation" / "val.txt").read_text("utf-8")
    assert again.splitlines() == read["val"]  # the same images every time
    without = export_labels(tricky, "cvat-mask", tmp_path / "c")
    assert without.subsets == {"default": 4}
    assert (tmp_path / "c" / "ImageSets" / "Segmentation" / "default.txt").is_file()


def test_non_empty_destination_is_refused_unless_forced(tricky, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    with pytest.raises(FormatError) as exc:
        export_labels(tricky, "voc", out)
    assert "is not empty" in str(exc.value) and "--force" in str(exc.value)
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]
    report = export_labels(tricky, "voc", out, force=True)
    assert (out / "old.txt").read_text() == "keep me"
    assert "1 file already in" in "\n".join(report.summary())
    export_labels(tricky, "cvat-mask", tmp_path / "x.zip")
    with pytest.raises(FormatError, match="exists; pass --force"):
        export_labels(tricky, "cvat-mask", tmp_path / "x.zip")
    export_labels(tricky, "cvat-mask", tmp_path / "x.zip", force=True)


def test_export_inside_the_project_images_is_refused(tricky):
    with pytest.raises(FormatError, match="inside the project's images folder"):
        export_labels(tricky, "voc", tricky / "images" / "export")


def test_what_a_format_cannot_hold_is_refused_in_one_line(tmp_path):
    from segstudio.core.classes import ClassSet
    from segstudio.core.sample import make_sample_project

    root = make_sample_project(tmp_path / "p", count=2, reviewed=2, size=(32, 32))
    project = Project.open(root)
    project.classes = ClassSet(["sky", "ground: wet", "disc", "box"], project.classes.colors)
    project.save()
    for fmt in ("voc", "cvat-mask"):
        with pytest.raises(FormatError) as exc:
            export_labels(root, fmt, tmp_path / fmt)
        msg = str(exc.value)
        assert "'ground: wet'" in msg and "':' separates the fields" in msg and "\n" not in msg
    export_labels(root, "coco", tmp_path / "coco")  # JSON holds any name
    back = import_labels(tmp_path / "coco", "coco", tmp_path / "back")
    assert Project.open(tmp_path / "back").classes.names[1] == "ground: wet"
    assert back.imported == 2


def test_two_images_with_one_id_are_refused(tmp_path):
    from segstudio.core.sample import make_sample_project

    root = make_sample_project(tmp_path / "p", count=2, reviewed=2, size=(32, 32))
    images = root / "images"
    (images / "scene_01.png").rename(images / "scene_01.jpg")
    (images / "scene_02.png").rename(images / "scene_01.png")
    project = Project.open(root)
    for entry in project.entries:
        project.save_label(entry, np.zeros((32, 32), np.uint8), state=ImageState.REVIEWED)
    with pytest.raises(FormatError) as exc:
        export_labels(root, "voc", tmp_path / "v")
    assert "'scene_01.jpg' and 'scene_01.png' would both be 'scene_01'" in str(exc.value)
    report = export_labels(root, "coco", tmp_path / "c")  # COCO names files by full key
    assert report.exported == 2


def test_labels_only_export(tricky, tmp_path):
    export_labels(tricky, "voc", tmp_path / "v", images=False)
    assert not (tmp_path / "v" / "JPEGImages").exists()
    back = import_labels(tmp_path / "v", "voc", tmp_path / "back", images=tricky / "images")
    assert back.imported == 4 and not back.problems
    for key, mask in labels_of(tricky, REVIEWED).items():
        np.testing.assert_array_equal(labels_of(tmp_path / "back")[key], mask)


def test_sizes_differ_between_images(tricky, tmp_path):
    export_labels(tricky, "coco", tmp_path / "c")
    import json

    doc = json.loads((tmp_path / "c" / "annotations" / "instances_default.json")
                     .read_text("utf-8"))
    sizes = {im["file_name"]: (im["height"], im["width"]) for im in doc["images"]}
    assert sizes == {k: IMAGES[k] for k in REVIEWED}


def test_an_unreadable_label_is_named_and_the_rest_exported(tricky, tmp_path):
    project = Project.open(tricky)
    project.label_path(project.entry("a.png")).write_bytes(b"not a png")
    assert project.state(project.entry("sub/b.jpg")) is ImageState.REVIEWED  # listed...
    project.label_path(project.entry("sub/b.jpg")).unlink()  # ...then removed meanwhile
    report = export_labels(project, "voc", tmp_path / "v")
    assert report.exported == 2 and report.states == {"reviewed": 2}
    text = "\n".join(report.summary())
    assert "skipped: " in text and "a.png" in text and "not an image file" in text
    assert "b.jpg: its label file is gone; not exported" in text
