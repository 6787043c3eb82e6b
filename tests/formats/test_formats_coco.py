"""COCO files checked by pycocotools (a reader segstudio did not write), and the numpy RLE /
polygon code checked bit for bit against pycocotools' C implementation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from formats_data import REVIEWED, labels_of
from hypothesis import given, settings
from hypothesis import strategies as st

from segstudio.core.formats import export_labels, import_labels, rle
from segstudio.core.project import Project

pytest.importorskip("pycocotools")
from pycocotools import mask as cocomask
from pycocotools.coco import COCO

# pycocotools 2.0.x with numpy 2 warns inside its own decode; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools.*")


def _coco(path) -> COCO:
    coco = COCO()
    coco.dataset = json.loads(path.read_text("utf-8"))
    coco.createIndex()
    return coco


def test_pycocotools_ann_to_mask_reproduces_every_label_map(tricky, tmp_path):
    report = export_labels(tricky, "coco", tmp_path / "c", split={"val": 0.25})
    assert report.subsets == {"val": 1, "train": 3}
    classes = Project.open(tricky).classes
    truth = labels_of(tricky, REVIEWED)
    seen = set()
    for subset in ("train", "val"):
        coco = _coco(tmp_path / "c" / "annotations" / f"instances_{subset}.json")
        cats = {c["id"]: c for c in coco.loadCats(coco.getCatIds())}
        assert [cats[i]["name"] for i in sorted(cats)] == classes.names
        for img in coco.loadImgs(coco.getImgIds()):
            label = truth[img["file_name"]]
            assert (img["height"], img["width"]) == label.shape
            rebuilt = np.full(label.shape, classes.ignore_index, np.uint8)
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
            assert sorted(a["category_id"] - 1 for a in anns) == sorted(
                set(np.unique(label).tolist()) - {classes.ignore_index})
            for ann in anns:
                binary = coco.annToMask(ann).astype(bool)
                cls = ann["category_id"] - 1
                np.testing.assert_array_equal(binary, label == cls)
                assert ann["iscrowd"] == 1 and isinstance(ann["segmentation"]["counts"], str)
                assert ann["area"] == int(binary.sum())
                rle_ = coco.annToRLE(ann)
                assert ann["bbox"] == cocomask.toBbox(rle_).tolist()
                assert ann["area"] == int(cocomask.area(rle_))
                assert not (rebuilt[binary] != classes.ignore_index).any()  # disjoint
                rebuilt[binary] = cls
            np.testing.assert_array_equal(rebuilt, label)  # void = covered by nothing
            seen.add(img["file_name"])
    assert seen == set(REVIEWED)


def test_polygons_are_approximate_and_say_by_how_much(tricky, tmp_path):
    report = export_labels(tricky, "coco", tmp_path / "p", polygons=True)
    note = next(n for n in report.notes if n.startswith("polygons are approximate"))
    wrong = int(note.split(": ", 1)[1].split(" of ")[0].replace(",", ""))
    coco = _coco(tmp_path / "p" / "annotations" / "instances_default.json")
    classes = Project.open(tricky).classes
    truth = labels_of(tricky, REVIEWED)
    differ = 0
    for img in coco.loadImgs(coco.getImgIds()):
        label = truth[img["file_name"]]
        painted = np.full(label.shape, 255, np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            assert ann["iscrowd"] == 0 and all(len(p) >= 6 for p in ann["segmentation"])
            painted[coco.annToMask(ann).astype(bool)] = ann["category_id"] - 1
        expected = np.where(label == classes.ignore_index, 255, label)
        differ += int((painted != expected).sum())
    assert differ == wrong  # the number the export reports is what pycocotools sees
    assert 0 < wrong < 0.05 * sum(m.size for m in truth.values())  # void specks are holes
    back = import_labels(tmp_path / "p", "coco", tmp_path / "back")
    assert back.imported == 4
    restored = labels_of(tmp_path / "back")
    assert sum(int((restored[k] != truth[k]).sum()) for k in truth) == wrong


def test_polygons_of_regions_without_holes_are_exact(tmp_path):
    from segstudio.core.formats.coco import mask_polygons

    rng = np.random.default_rng(3)
    for _ in range(40):
        h, w = rng.integers(5, 60, 2)
        m = np.zeros((h, w), bool)
        for _ in range(3):  # overlapping boxes and diagonal staircases, touching the border
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[y0:y0 + rng.integers(1, h), x0:x0 + rng.integers(1, w)] = True
        k = int(rng.integers(0, min(h, w)))
        m[np.arange(k), np.arange(k)] = True
        import cv2

        filled = m.copy()
        n, lab = cv2.connectedComponents((~m).astype(np.uint8), connectivity=4)
        for i in range(1, n):  # fill holes: background components not touching the border
            comp = lab == i
            if not (comp[0].any() or comp[-1].any() or comp[:, 0].any() or comp[:, -1].any()):
                filled |= comp
        polys = mask_polygons(filled)
        got = cocomask.decode(cocomask.merge(cocomask.frPyObjects(polys, int(h), int(w))))
        np.testing.assert_array_equal(got.astype(bool), filled)


masks = st.integers(1, 30).flatmap(lambda h: st.integers(1, 30).flatmap(
    lambda w: st.lists(st.booleans(), min_size=h * w, max_size=h * w).map(
        lambda bits: np.array(bits, bool).reshape(h, w))))


@settings(max_examples=300, deadline=None)
@given(mask=masks)
def test_rle_matches_pycocotools(mask):
    h, w = mask.shape
    ref = cocomask.encode(np.asfortranarray(mask.astype(np.uint8)))
    counts = rle.encode(mask)
    assert rle.to_string(counts) == ref["counts"].decode("ascii")
    np.testing.assert_array_equal(rle.from_string(ref["counts"]), counts)
    np.testing.assert_array_equal(rle.decode(counts, h, w), mask)
    assert rle.area(counts) == int(cocomask.area(ref))
    assert rle.bbox(mask) == cocomask.toBbox(ref).tolist()


def test_rle_of_large_runs_and_uncompressed_counts():
    mask = np.zeros((700, 900), bool)
    mask[100:650, 3:880] = True  # runs longer than 2**15 need several characters each
    ref = cocomask.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert rle.to_string(rle.encode(mask)) == ref["counts"].decode()
    unc = {"size": [700, 900], "counts": rle.encode(mask).tolist()}
    assert cocomask.frPyObjects(unc, 700, 900)["counts"] == ref["counts"]


coords = st.floats(-8, 48, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40),
       poly=st.lists(st.tuples(coords, coords), min_size=3, max_size=9))
def test_polygon_rasterisation_matches_pycocotools(h, w, poly):
    flat = [v for p in poly for v in p]
    ref = cocomask.decode(cocomask.merge(cocomask.frPyObjects([flat], h, w))).astype(bool)
    np.testing.assert_array_equal(rle.polygons_to_mask([flat], h, w), ref)


def test_bbox_segmentation_reads_as_pycocotools_does():
    # pycocotools reads a 4-number "polygon" as a box (its list path crashes on it; the array
    # path is the one it means).
    boxes = np.asarray([[2.5, 1, 4, 3]])
    ref = cocomask.decode(cocomask.merge(cocomask.frPyObjects(boxes, 8, 9)))
    np.testing.assert_array_equal(rle.polygons_to_mask([[2.5, 1, 4, 3]], 8, 9), ref.astype(bool))


def test_foreign_coco_with_gaps_overlaps_and_unknown_categories(tmp_path):
    """Category ids with gaps, no colours, polygons and uncompressed RLE, overlapping
    instances, an annotation of an undeclared category and one of an unlisted image."""
    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.new("RGB", (20, 10)).save(tmp_path / "images" / "x.png")
    square = [2, 2, 12, 2, 12, 8, 2, 8]
    over = np.zeros((10, 20), bool)
    over[4:10, 8:20] = True
    doc = {
        "images": [{"id": 7, "file_name": "x.png", "height": 10, "width": 20}],
        "categories": [{"id": 3, "name": "cat"}, {"id": 90, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "segmentation": [square], "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 90, "iscrowd": 1,
             "segmentation": {"size": [10, 20], "counts": rle.encode(over).tolist()}},
            {"id": 3, "image_id": 7, "category_id": 5, "segmentation": [square], "iscrowd": 0},
            {"id": 4, "image_id": 99, "category_id": 3, "segmentation": [square], "iscrowd": 0},
        ],
    }
    (tmp_path / "instances.json").write_text(json.dumps(doc))
    report = import_labels(tmp_path / "instances.json", "coco", tmp_path / "proj")
    project = Project.open(tmp_path / "proj")
    assert project.classes.names == ["cat", "dog"]
    label = project.read_label(project.entry("x.png"))
    cat = cocomask.decode(cocomask.frPyObjects([square], 10, 20))[..., 0].astype(bool)
    expected = np.full((10, 20), 255, np.uint8)
    expected[cat] = 0
    expected[over] = 1  # the later annotation wins
    np.testing.assert_array_equal(label, expected)
    text = "\n".join(report.summary())
    assert "unknown category id 5: 1 annotation in 1 image, skipped" in text
    assert "overlapping annotations" in text
    assert "1 annotation naming no listed image" in text
