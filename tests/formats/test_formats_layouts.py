"""The VOC and CVAT exports read by strict readers written from the published format
descriptions (strict_layouts.py), and the same files read back by segstudio's importer
when they come from elsewhere: CVAT's own conventions (background line, no images in the zip,
colours not in the labelmap) and VOC without labelmap.txt."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from formats_data import REVIEWED, labels_of, tree_digest
from PIL import Image
from strict_layouts import read_cvat, read_voc, voc_colormap

from segstudio.core.formats import export_labels, import_labels
from segstudio.core.project import Project


@pytest.mark.parametrize("fixture", ["tricky", "tricky_void4"])
def test_voc_export_passes_the_strict_reader(fixture, request, tmp_path):
    root = request.getfixturevalue(fixture)
    export_labels(root, "voc", tmp_path / "voc", split={"val": 0.25})
    labelmap, masks, lists = read_voc(tmp_path / "voc")
    classes = Project.open(root).classes
    names = [n for n, _ in labelmap]
    assert names[: classes.num_classes] == classes.names
    assert labelmap[classes.num_classes] == (classes.ignore_name, classes.ignore_color)
    assert set(lists) == {"train", "val", "trainval"}
    for key, label in labels_of(root, REVIEWED).items():
        ident = key.rsplit(".", 1)[0]
        expected = np.where(label == classes.ignore_index, 255, label)
        np.testing.assert_array_equal(masks[ident], expected)


@pytest.mark.parametrize("out", ["cvat.zip", "cvat"])
def test_cvat_export_passes_the_strict_reader(out, tricky, tmp_path):
    export_labels(tricky, "cvat-mask", tmp_path / out)
    labelmap, masks, lists = read_cvat(tmp_path / out)
    assert set(lists) == {"default"} and sorted(lists["default"]) == sorted(
        k.rsplit(".", 1)[0] for k in REVIEWED)
    classes = Project.open(tricky).classes
    names = [n for n, _ in labelmap]
    for key, label in labels_of(tricky, REVIEWED).items():
        got = np.asarray(names, object)[masks[key.rsplit(".", 1)[0]]]
        want = np.asarray([*classes.names, classes.ignore_name], object)[
            np.where(label == classes.ignore_index, classes.num_classes, label)]
        assert (got == want).all()
    if out.endswith(".zip"):
        with zipfile.ZipFile(tmp_path / out) as z:
            assert z.testzip() is None
            assert any(n.startswith("JPEGImages/ñandú/") for n in z.namelist())


def _cvat_zip(path, labelmap: str, masks: dict[str, np.ndarray], images: bool = False):
    """A zip as CVAT itself writes it: background line first, default.txt, no images."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("labelmap.txt", labelmap)
        z.writestr("ImageSets/Segmentation/default.txt", "".join(f"{k}\n" for k in masks))
        for ident, rgb in masks.items():
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, "PNG")
            z.writestr(f"SegmentationClass/{ident}.png", buf.getvalue())
            z.writestr(f"SegmentationObject/{ident}.png", buf.getvalue())


def test_cvat_zip_from_cvat_with_images_elsewhere_and_unknown_colours(tmp_path):
    labelmap = ("# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:250,50,83::\n"
                "road:61,61,245::\n")
    rgb = np.zeros((12, 16, 3), np.uint8)
    rgb[6:, :] = (61, 61, 245)
    rgb[2:5, 3:9] = (250, 50, 83)
    rgb[0, 0] = (1, 2, 3)  # a colour CVAT did not declare
    src = tmp_path / "task.zip"
    _cvat_zip(src, labelmap, {"frame_000001": rgb, "sub/frame_2": rgb})
    images = tmp_path / "frames"
    (images / "sub").mkdir(parents=True)
    Image.new("RGB", (16, 12)).save(images / "frame_000001.jpg")
    Image.new("RGB", (16, 12)).save(images / "sub" / "frame_2.png")
    before = tree_digest(tmp_path)

    without = import_labels(src, "cvat-mask", tmp_path / "p0")
    assert without.imported == 0 and len(without.problems) == 2
    assert "pass the images folder" in without.problems[0]

    report = import_labels(src, "cvat-mask", tmp_path / "p", images=images, link=True)
    assert report.imported == 2 and report.images["linked"] == 2
    project = Project.open(tmp_path / "p")
    assert project.classes.names == ["background", "car", "road"]
    assert project.classes.colors == [(0, 0, 0), (250, 50, 83), (61, 61, 245)]
    label = project.read_label(project.entry("sub/frame_2.png"))
    assert label[0, 0] == project.classes.ignore_index
    assert (label[6:] == 2).all() and (label[2:5, 3:9] == 1).all() and label[1, 1] == 0
    assert "unknown colour (1, 2, 3): 2 px in 2 images, imported as void" in report.unknown
    assert (tmp_path / "p" / "images" / "sub" / "frame_2.png").is_symlink()
    after = {k: v for k, v in tree_digest(tmp_path).items() if k in before}
    assert after == before  # nothing of the source (zip, images) changed


def test_voc_without_labelmap_has_the_voc_classes(tmp_path):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    (root / "SegmentationClass").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    values = np.zeros((10, 12), np.uint8)
    values[2:6, 2:6] = 15  # person
    values[0, :] = 255
    values[9, 9] = 42  # not a VOC class
    img = Image.fromarray(values, "P")
    img.putpalette([v for c in voc_colormap() for v in c])
    img.save(root / "SegmentationClass" / "2007_000032.png")
    Image.new("RGB", (12, 10)).save(root / "JPEGImages" / "2007_000032.jpg")
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("2007_000032\n")
    report = import_labels(tmp_path / "VOCdevkit", "voc", tmp_path / "p")
    project = Project.open(tmp_path / "p")
    assert project.classes.names[15] == "person" and project.classes.num_classes == 21
    label = project.read_label(project.entry("2007_000032.jpg"))
    expected = values.copy()
    expected[9, 9] = 255
    np.testing.assert_array_equal(label, expected)
    text = "\n".join(report.summary())
    assert "no labelmap.txt: reading the 21 Pascal VOC classes" in text
    assert "unknown index 42: 1 px in 1 image, imported as void" in text
