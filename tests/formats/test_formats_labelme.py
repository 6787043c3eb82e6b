"""labelme / X-AnyLabeling JSON written by labelme's conventions imports to the mask that
drawing the shapes in order gives (labelme's `shapes_to_label`: Pillow ImageDraw, a later
shape over an earlier one, `mask` shapes placed at their bounding-box points)."""

from __future__ import annotations

import base64
import io
import json
import math

import numpy as np
from formats_data import tree_digest
from PIL import Image, ImageDraw

from segstudio.core.formats import import_labels
from segstudio.core.project import ImageState, Project

H, W = 60, 80


def _b64_png(array: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buf, format="PNG")  # as labelme writes masks
    return base64.b64encode(buf.getvalue()).decode("ascii")


PATCH = np.zeros((9, 12), bool)
PATCH[1:8, 2:11] = True
PATCH[4, :] = False  # a gap that must stay unpainted


def _shape(label, shape_type, points, **extra):
    return {"label": label, "points": points, "group_id": None, "description": "",
            "shape_type": shape_type, "flags": {}, "mask": None, **extra}


SHAPES = [
    _shape("road", "polygon", [[0, 30], [79, 30], [79, 59], [0, 59]]),
    _shape("car", "polygon", [[10, 20], [40, 22], [38, 45], [12, 40]]),   # over the road
    _shape("sign", "rectangle", [[70, 15], [60, 5]]),                    # corners reversed
    _shape("ball", "circle", [[25, 10], [25, 16]]),                      # centre, rim point
    _shape("car", "mask", [[50, 40], [61, 48]], mask=_b64_png(PATCH)),   # 12 x 9 patch
    _shape("__ignore__", "polygon", [[2, 50], [8, 50], [5, 56]]),
    _shape("road", "polygon", [[30, 25], [45, 25], [45, 35], [30, 35]]),  # back over the car
    _shape("pole", "cuboid", [[1, 1], [2, 2]]),                          # not a labelme type
    _shape("road", "polygon", [[1, 1], [3, 3]]),                         # too few points
]


def _reference(shapes, index, fill):
    """labelme's shapes_to_label, spelled out: each shape drawn with ImageDraw, in order."""
    out = np.full((H, W), fill, np.uint8)
    for s in shapes:
        if s["label"] not in index or s["shape_type"] == "cuboid" or (
                s["shape_type"] == "polygon" and len(s["points"]) < 3):
            continue
        img = Image.new("L", (W, H), 0)
        draw = ImageDraw.Draw(img)
        xy = [tuple(p) for p in s["points"]]
        if s["shape_type"] == "polygon":
            draw.polygon(xy, outline=1, fill=1)
        elif s["shape_type"] == "rectangle":
            (x0, y0), (x1, y1) = xy
            draw.rectangle(((min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))),
                           outline=1, fill=1)
        elif s["shape_type"] == "circle":
            (cx, cy), (px, py) = xy
            d = math.hypot(cx - px, cy - py)
            draw.ellipse(((cx - d, cy - d), (cx + d, cy + d)), outline=1, fill=1)
        m = np.array(img, bool)
        if s["shape_type"] == "mask":
            (x1, y1), (x2, y2) = s["points"]
            m = np.zeros((H, W), bool)
            m[y1:y2 + 1, x1:x2 + 1] = PATCH[: y2 - y1 + 1, : x2 - x1 + 1]
        out[m] = index[s["label"]]
    return out


def _write(folder, shapes, *, image=True, name="img.jpg", sub=""):
    d = folder / sub
    d.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    data = None
    if image:
        Image.fromarray(rgb).save(d / name)
    else:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG")
        data = base64.b64encode(buf.getvalue()).decode("ascii")
    doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": name,
           "imageData": data, "imageHeight": H, "imageWidth": W}
    (d / (name.rsplit(".", 1)[0] + ".json")).write_text(json.dumps(doc), encoding="utf-8")


def test_shapes_drawn_in_order_as_labelme_draws_them(tmp_path):
    src = tmp_path / "labelme"
    _write(src, SHAPES)
    _write(src, SHAPES[:2], image=False, name="embedded.png", sub="sub")
    (src / "notes.json").write_text('{"not": "labelme"}')
    before = tree_digest(src)
    report = import_labels(src, "labelme", tmp_path / "p")
    assert tree_digest(src) == before
    project = Project.open(tmp_path / "p")
    classes = project.classes
    assert classes.names == ["ball", "car", "pole", "road", "sign"]  # every label, sorted
    index = {n: i for i, n in enumerate(classes.names)} | {"__ignore__": 255}
    label = project.read_label(project.entry("img.jpg"))
    np.testing.assert_array_equal(label, _reference(SHAPES, index, 255))
    # The same facts without the reference drawing:
    assert (label[5:16, 60:71] == index["sign"]).all()       # rectangle, corners inclusive
    assert label[4, 65] != index["sign"] and label[5, 71] != index["sign"]
    assert label[10, 25] == index["ball"] and label[10, 31] == index["ball"]
    assert label[30, 35] == index["road"]                    # the last road polygon wins
    assert label[38, 20] == index["car"]                     # car over the first road
    assert (label[41:48, 52:61] == index["car"]).sum() == 7 * 9 - 9   # the patch, gap kept
    assert (label[44, 50:62] != index["car"]).all()
    assert label[52, 5] == 255                               # __ignore__ paints void
    assert label[2, 2] == 255                                # nothing drawn: void
    embedded = project.entry("sub/embedded.png")
    assert project.state(embedded) is ImageState.REVIEWED
    assert np.asarray(Image.open(embedded.path)).shape == (H, W, 3)
    text = "\n".join(report.summary())
    assert "unknown shape type 'cuboid': 1 shape in 1 image, skipped" in text
    assert "malformed shape (a polygon needs more than 2 points, got 2)" in text
    assert "1 .json file not in labelme's format" in text
    assert "pixels no shape covers are imported as void" in text


def test_labels_file_fixes_classes_and_background(tmp_path):
    src = tmp_path / "labelme"
    _write(src, SHAPES)
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\nroad\ncar\n")
    report = import_labels(src, "labelme", tmp_path / "p", labels=labels)
    project = Project.open(tmp_path / "p")
    assert project.classes.names == ["_background_", "road", "car"]
    index = {"_background_": 0, "road": 1, "car": 2, "__ignore__": 255}
    label = project.read_label(project.entry("img.jpg"))
    np.testing.assert_array_equal(label, _reference(SHAPES, index, 0))
    assert label[2, 2] == 0  # undrawn pixels are _background_
    text = "\n".join(report.summary())
    assert "unknown label 'sign': 1 shape in 1 image, skipped (not in --labels)" in text
    assert "unknown label 'ball'" in text


def test_x_anylabeling_rotation_and_a_wrong_size(tmp_path):
    src = tmp_path / "xany"
    rot = _shape("box", "rotation", [[10, 10], [30, 14], [26, 34], [6, 30]], direction=0.2)
    _write(src, [rot])
    doc = json.loads((src / "img.json").read_text())
    _write(src, [rot], name="other.jpg")
    bad = json.loads((src / "other.json").read_text())
    bad["imageWidth"] = W + 1
    (src / "other.json").write_text(json.dumps(bad))
    report = import_labels(src, "labelme", tmp_path / "p")
    project = Project.open(tmp_path / "p")
    label = project.read_label(project.entry("img.jpg"))
    img = Image.new("L", (W, H), 0)
    ImageDraw.Draw(img).polygon([tuple(p) for p in doc["shapes"][0]["points"]], outline=1,
                                fill=1)
    np.testing.assert_array_equal(label == 0, np.array(img, bool))
    assert report.imported == 1
    assert any("says the image is 81x60 but it is 80x60" in p for p in report.problems)
