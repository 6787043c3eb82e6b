"""The weight-free assisted tools on generated images: the box finds the object and clicks
fix it, the scissors follow an edge, the region brush stops at edges, and ObjectEdit commits
through the document (one undo step per mask, protect honoured, touched pixels)."""

from __future__ import annotations

import cv2
import numpy as np

from segstudio.assist.commit import ObjectEdit
from segstudio.assist.grabcut import BoxSegmenter
from segstudio.assist.regions import RegionMap, superpixels
from segstudio.assist.scissors import Scissors
from segstudio.core.editing import MaskDocument

H, W = 120, 160


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy dark background with a bright disc (the object)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(20, 60, (H, W, 3)).astype(np.uint8)
    obj = np.zeros((H, W), np.uint8)
    cv2.circle(obj, (80, 60), 30, 1, -1)
    img[obj > 0] = rng.integers(180, 230, (int(obj.sum()), 3))
    return img, obj > 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


def _place(seg: BoxSegmenter) -> np.ndarray:
    out = np.zeros((H, W), bool)
    y0, x0, y1, x1 = seg.window
    out[y0:y1, x0:x1] = seg.mask
    return out


def test_box_finds_the_object_and_clicks_fix_it() -> None:
    img, obj = _scene()
    seg = BoxSegmenter(img, (46, 26), (114, 94))
    assert _iou(_place(seg), obj) > 0.9
    # A negative click in the middle takes that part away (a seed is definite).
    seg.click(80, 60, positive=False, radius=4)
    assert not _place(seg)[60, 80]


def test_a_box_over_the_whole_image_and_a_degenerate_box_do_not_fail() -> None:
    img, _ = _scene()
    assert BoxSegmenter(img, (0, 0), (W, H)).mask.shape == (H, W)
    assert not BoxSegmenter(img, (10, 10), (11, 11)).mask.any()


def test_box_cost_is_bounded_on_a_large_image() -> None:
    big = np.random.default_rng(1).integers(0, 255, (2000, 3000, 3)).astype(np.uint8)
    seg = BoxSegmenter(big, (100, 100), (2900, 1900))
    assert seg.scale < 0.2 and seg.mask.shape == (2000, 3000)


def test_scissors_follow_the_edge_between_anchors() -> None:
    img, obj = _scene()
    s = Scissors(img)
    s.anchor((50.5, 60.5))              # the disc's left and right extremes
    path = s.path((110.5, 60.5))
    assert path[0].tolist() == [50.5, 60.5] and path[-1].tolist() == [110.5, 60.5]
    # The straight line would cross the disc; the wire goes round its border instead.
    d = cv2.distanceTransform((~obj).astype(np.uint8), cv2.DIST_L2, 3) + \
        cv2.distanceTransform(obj.astype(np.uint8), cv2.DIST_L2, 3)
    ij = np.rint(path - 0.5).astype(int)
    assert np.median(d[ij[:, 1], ij[:, 0]]) <= 2.0


def test_scissors_in_windows_on_a_large_image() -> None:
    big = np.zeros((1200, 1200, 3), np.uint8)
    s = Scissors(big, max_pixels=100_000, window=256)
    s.anchor((600, 600))
    assert len(s.path((650, 600))) > 2                    # inside the window: traced
    assert len(s.path((1100, 1100))) == 2                 # outside: a straight edge


def test_regions_stop_at_edges_and_cover_the_image() -> None:
    img, obj = _scene()
    ids = superpixels(img, 10)
    assert ids.min() >= 1 and ids.shape == (H, W)
    regions = RegionMap(img, tile=64)
    box, painted = regions.brush((80, 60), (80, 60), 12)
    y0, x0, y1, x1 = box
    inside = obj[y0:y1, x0:x1]
    assert painted[inside].mean() > 0 and (painted & ~inside).sum() < 0.1 * painted.sum()
    # Tiles are computed where painted only; ids are unique over the image.
    assert len(regions._tiles) < 12
    all_ids = regions.labels((0, 0, H, W))
    assert len(np.unique(all_ids)) > 100


def test_object_edit_replaces_its_previous_mask_undoably_and_honours_protect() -> None:
    mask = np.zeros((20, 20), np.uint8)
    mask[:, 10:] = 2                                      # class 2 on the right half
    doc = MaskDocument(mask, 255)
    doc.protect = 0                                       # paint only over class 0
    edit = ObjectEdit(doc, 1, (0, 0, 20, 20))
    first = np.zeros((20, 20), bool)
    first[5:15, 5:15] = True
    edit.show(first)
    assert (doc.mask[5:15, 5:10] == 1).all() and (doc.mask[5:15, 10:15] == 2).all()
    second = np.zeros((20, 20), bool)
    second[5:15, 7:15] = True
    edit.show(second)                                     # columns 5-6 get their 0 back
    assert (doc.mask[5:15, 5:7] == 0).all() and (doc.mask[5:15, 7:10] == 1).all()
    assert doc.touched[5:15, 7:10].all()
    doc.undo()
    assert (doc.mask[5:15, 5:10] == 1).all()
    doc.undo()
    assert (doc.mask[:, :10] == 0).all() and doc.touched is not None
    assert not doc.touched.any()


def test_paint_clips_to_the_mask_and_checks_its_map() -> None:
    doc = MaskDocument(np.zeros((10, 10), np.uint8), 255)
    assert doc.paint((-5, -5, 5, 5), np.ones((10, 10), bool), 3) == (0, 0, 5, 5)
    assert (doc.mask[:5, :5] == 3).all() and doc.mask.sum() == 75
    try:
        doc.paint((0, 0, 2, 2), np.ones((3, 3), bool), 1)
    except ValueError:
        pass
    else:
        raise AssertionError("a map of the wrong size was accepted")


def test_a_box_whose_grabcut_collapses_is_segmented_again_around_its_core(monkeypatch):
    # GrabCut often takes a small object's whole box for background (57% of CamVid val boxes
    # came back empty): the box is then segmented again with its core fixed as object.
    import cv2
    import numpy as np

    from segstudio.assist import grabcut

    calls = []
    real = cv2.grabCut

    def collapsing(img, mask, rect, bg, fg, iterations, mode):
        calls.append((mode, mask.copy()))
        if len(calls) == 1:
            mask[:] = cv2.GC_BGD                       # the collapse
            return mask, bg, fg
        return real(img, mask, rect, bg, fg, iterations, mode)

    monkeypatch.setattr(grabcut.cv2, "grabCut", collapsing)
    img = np.full((80, 100, 3), 40, np.uint8)
    img[30:50, 40:60] = 200
    seg = grabcut.BoxSegmenter(img, (36, 26), (64, 54))
    assert len(calls) == 2 and calls[1][0] == cv2.GC_INIT_WITH_MASK
    second = calls[1][1]
    wy0, wx0 = seg.window[:2]
    assert second[40 - wy0, 50 - wx0] == cv2.GC_FGD          # the box's centre is fixed
    assert seg.mask[40 - wy0, 50 - wx0] and seg.mask.sum() > 0.5 * 20 * 20
