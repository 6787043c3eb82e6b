import itertools

import numpy as np
import pytest

from segstudio.core.editing import MIN_RADIUS, MaskDocument, capsule


def _reference_capsule(shape, p0, p1, r):
    """Brute force over the whole mask: pixel centres within r of the segment."""
    h, w = shape
    r = max(r, MIN_RADIUS)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    px, py = xx + 0.5 - p0[0], yy + 0.5 - p0[1]
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    l2 = dx * dx + dy * dy
    t = np.zeros_like(px) if l2 == 0 else np.clip((px * dx + py * dy) / l2, 0, 1)
    return (px - t * dx) ** 2 + (py - t * dy) ** 2 <= r * r


def _changed_bbox(a, b):
    ys, xs = np.nonzero(a != b)
    return (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)


@pytest.mark.parametrize(
    ("p0", "p1", "r"),
    [
        ((20.5, 20.5), (20.5, 20.5), 5),  # a click: a disc
        ((10.0, 12.3), (50.7, 31.1), 4.5),  # diagonal capsule
        ((-5.0, 3.0), (70.0, 3.0), 7),  # clipped at the borders
        ((30.2, 30.7), (30.2, 30.7), 0.1),  # tiny radius still paints the pixel under it
        ((2.0, 2.0), (2.0, 2.0), 0.1),  # a click on a pixel corner
    ],
)
def test_brush_is_exactly_a_round_capsule_and_reports_its_box(p0, p1, r) -> None:
    mask = np.zeros((48, 64), np.uint8)
    doc = MaskDocument(mask.copy(), 255)
    box = doc.brush(p0, p1, r, 3)
    expect = _reference_capsule(mask.shape, p0, p1, r)
    np.testing.assert_array_equal(doc.mask == 3, expect)
    assert box == _changed_bbox(doc.mask, mask)


def test_capsule_box_is_clipped_and_empty_outside() -> None:
    assert capsule((10, 10), (-50.0, -50.0), (-40.0, -40.0), 3) is None
    box, hit = capsule((10, 10), (5.0, 5.0), (5.0, 5.0), 100)
    assert box == (0, 0, 10, 10) and hit.all()


def test_fast_stroke_leaves_no_gaps() -> None:
    doc = MaskDocument(np.zeros((100, 400), np.uint8), 255)
    doc.begin_stroke()
    pts = [(5.0, 50.0), (200.0, 52.0), (395.0, 50.0)]  # two huge mouse jumps
    for a, b in itertools.pairwise(pts):
        doc.brush(a, b, 2, 1)
    doc.end_stroke()
    assert (doc.mask[50, 5:395] == 1).all()


def test_protect_paints_only_over_one_class_and_eraser_paints_ignore() -> None:
    mask = np.zeros((20, 20), np.uint8)
    mask[:, 10:] = 2
    doc = MaskDocument(mask.copy(), 255)
    doc.protect = 2
    box = doc.brush((0.0, 10.0), (20.0, 10.0), 3, 5)
    assert (doc.mask[:, :10] == 0).all()  # class 0 protected
    assert (doc.mask[7:13, 10:] == 5).all() and (doc.mask[13, 10:] == 2).all()
    assert box[1] == 10
    doc.protect = None
    doc.erase((5.0, 5.0), (5.0, 5.0), 1)
    assert doc.mask[4, 4] == 255 and (doc.mask == 255).sum() == 4


def test_fill_is_4_connected_and_respects_protect() -> None:
    mask = np.zeros((10, 10), np.uint8)
    mask[5, :] = 1  # a wall
    mask[0, 9] = 1
    mask[8, 8] = 2
    doc = MaskDocument(mask.copy(), 255)
    assert doc.fill(0, 0, 3) == (0, 0, 5, 10)
    assert (doc.mask[:5] == np.where(mask[:5] == 0, 3, mask[:5])).all()
    assert (doc.mask[6:] == mask[6:]).all()
    assert doc.fill(0, 0, 3) is None  # already that value
    doc.protect = 2
    assert doc.fill(0, 9, 4) is None  # seed not of the protected class
    assert doc.fill(8, 8, 4) == (8, 8, 9, 9)
    assert doc.fill(-1, 0, 4) is None


def test_diagonal_neighbours_are_not_connected() -> None:
    mask = np.eye(4, dtype=np.uint8)
    doc = MaskDocument(mask, 255)
    assert doc.fill(0, 0, 7) == (0, 0, 1, 1)


def test_polygon_fills_pixel_centres_inside() -> None:
    doc = MaskDocument(np.zeros((20, 20), np.uint8), 255)
    box = doc.polygon([(2.5, 3.5), (9.5, 3.5), (9.5, 12.5), (2.5, 12.5)], 4)
    assert box == (3, 2, 13, 10)
    assert (doc.mask[3:13, 2:10] == 4).all() and (doc.mask == 4).sum() == 80
    assert doc.polygon([(1.0, 1.0), (2.0, 2.0)], 4) is None
    assert doc.polygon([(-9.0, -9.0), (-5.0, -9.0), (-5.0, -5.0)], 4) is None


def test_replace_undo_redo_and_dirty() -> None:
    doc = MaskDocument(np.zeros((30, 30), np.uint8), 255)
    assert not doc.dirty and not doc.can_undo
    new = np.zeros((30, 30), np.uint8)
    new[10:12, 5:7] = 9
    assert doc.replace(new) == (10, 5, 12, 7)
    assert doc.dirty and doc.can_undo
    doc.mark_saved()
    assert not doc.dirty
    assert doc.undo() == (10, 5, 12, 7) and doc.mask.max() == 0
    assert doc.dirty and doc.can_redo
    assert doc.redo() == (10, 5, 12, 7)
    assert not doc.dirty  # back at the saved state
    assert doc.replace(new) == (0, 0, 0, 0)
    with pytest.raises(ValueError, match="differs"):
        doc.replace(np.zeros((3, 3), np.uint8))


def test_one_drag_is_one_step_and_a_new_edit_clears_redo() -> None:
    base = np.zeros((50, 50), np.uint8)
    doc = MaskDocument(base.copy(), 255)
    doc.begin_stroke()
    for i in range(10):
        doc.brush((5.0 + 3 * i, 5.0), (8.0 + 3 * i, 9.0), 2, 1)
    assert doc.dirty  # mid-stroke changes count
    doc.end_stroke()
    painted = doc.mask.copy()
    assert len(doc.history) == 1
    doc.undo()
    np.testing.assert_array_equal(doc.mask, base)
    doc.redo()
    np.testing.assert_array_equal(doc.mask, painted)
    doc.undo()
    doc.brush((40.0, 40.0), (40.0, 40.0), 2, 2)  # outside a stroke: its own step
    assert not doc.can_redo and len(doc.history) == 1


def test_undo_mid_stroke_closes_the_stroke_first() -> None:
    doc = MaskDocument(np.zeros((20, 20), np.uint8), 255)
    doc.begin_stroke()
    doc.brush((5.0, 5.0), (9.0, 5.0), 2, 1)
    assert doc.undo() is not None and doc.mask.max() == 0


def test_history_stores_only_changed_pixels_and_caps_memory() -> None:
    h, w = 2000, 3000
    doc = MaskDocument(np.zeros((h, w), np.uint8), 255, history_bytes=200_000)
    for i in range(60):
        doc.begin_stroke()
        y = 30.0 * i + 20
        for x in range(0, 2800, 40):
            doc.brush((float(x), y), (float(x + 40), y), 10, 1 + i % 3)
        doc.end_stroke()
    assert doc.history_nbytes <= 200_000
    assert 1 <= len(doc.history) < 60  # oldest steps were dropped
    # One segment of a fresh stroke stores ~its painted pixels, not a mask copy.
    small = MaskDocument(np.zeros((h, w), np.uint8), 255)
    small.brush((100.0, 100.0), (140.0, 100.0), 20, 1)
    painted = int((small.mask == 1).sum())
    assert painted <= small.history_nbytes < painted * 1.3 + 1000


def test_single_step_larger_than_cap_is_kept() -> None:
    doc = MaskDocument(np.zeros((100, 100), np.uint8), 255, history_bytes=10)
    doc.replace(np.ones((100, 100), np.uint8))
    assert doc.undo() is not None and doc.mask.max() == 0


def test_non_contiguous_input_is_copied_but_contiguous_is_shared() -> None:
    buf = np.zeros((10, 10), np.uint8)
    assert MaskDocument(buf, 255).mask is buf
    assert MaskDocument(buf[:, ::2], 255).mask.flags.c_contiguous


def test_bad_values_and_non_finite_points() -> None:
    doc = MaskDocument(np.zeros((10, 10), np.uint8), 255)
    with pytest.raises(ValueError, match="256"):
        doc.brush((1.0, 1.0), (2.0, 2.0), 1, 256)
    with pytest.raises(ValueError, match="-1"):
        doc.fill(0, 0, -1)
    assert doc.brush((float("nan"), 1.0), (2.0, 2.0), 1, 1) is None
    assert doc.brush((1.0, 1.0), (2.0, 2.0), float("inf"), 1) is None
    assert not doc.dirty


def test_save_mid_drag_splits_the_drag_and_tracks_dirty() -> None:
    doc = MaskDocument(np.zeros((20, 40), np.uint8), 255)
    doc.begin_stroke()
    doc.brush((2.0, 5.0), (10.0, 5.0), 2, 1)
    doc.mark_saved()
    assert not doc.dirty
    doc.brush((10.0, 5.0), (20.0, 5.0), 2, 1)
    assert doc.dirty
    doc.end_stroke()
    doc.undo()  # only the part after the save
    assert not doc.dirty
    assert (doc.mask[:, 13:] == 0).all() and doc.mask[5, 5] == 1


def test_tools_record_touched_pixels_and_undo_restores_them() -> None:
    doc = MaskDocument(np.zeros((30, 30), np.uint8), 255)
    assert doc.touched is None and not doc.touched_any
    doc.replace(np.ones((30, 30), np.uint8))          # a prediction: nobody touched anything
    assert not doc.touched_any
    doc.mark_saved()
    doc.begin_stroke()
    doc.brush((5.5, 5.5), (5.5, 5.5), 2, 1)           # same class: nothing changes, but touched
    doc.end_stroke()
    assert doc.touched_any and (doc.mask == 1).all()
    assert doc.dirty                                   # so the touched pixels get saved
    steps = len(doc.history)                           # ...without an invisible undo step
    first = doc.touched.copy()
    doc.fill(20, 20, 2)                                # the whole region: touched too
    assert doc.touched.all() and len(doc.history) == steps + 1
    doc.undo()                                         # the fill and its touch go together
    np.testing.assert_array_equal(doc.touched, first)
    assert (doc.mask == 1).all()
    doc.redo()
    assert doc.touched.all()
    doc.undo()
    doc.brush((20.5, 20.5), (22.5, 20.5), 2, 3)        # a stroke that changes pixels
    assert doc.touched[20, 21]
    doc.undo()
    np.testing.assert_array_equal(doc.touched, first)


def test_protect_limits_touched_to_paintable_pixels() -> None:
    mask = np.zeros((10, 10), np.uint8)
    mask[:, 5:] = 3
    doc = MaskDocument(mask, 255)
    doc.protect = 3
    doc.brush((0.0, 5.0), (10.0, 5.0), 3, 1)
    assert doc.touched[:, :5].sum() == 0 and doc.touched[:, 5:].any()


def test_change_listeners_see_every_change() -> None:
    doc = MaskDocument(np.zeros((10, 10), np.uint8), 255)
    seen = []
    remove = doc.on_change(seen.append)
    doc.brush((2.5, 2.5), (2.5, 2.5), 1, 1)
    doc.undo()
    doc.redo()
    doc.replace(np.full((10, 10), 2, np.uint8))
    assert len(seen) == 4 and seen[-1] == (0, 0, 10, 10)
    remove()
    doc.undo()
    assert len(seen) == 4
