"""Hypothesis: any sequence of edits undone as many times restores the original mask exactly,
and redoing them all replays the edited mask exactly."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from segstudio.core.editing import MaskDocument

H, W = 24, 32
coord = st.floats(-5, 40, allow_nan=False)
point = st.tuples(coord, coord)
value = st.integers(0, 5) | st.just(255)

brush = st.tuples(st.just("brush"), st.lists(point, min_size=1, max_size=5), st.floats(0, 6), value)
erase = st.tuples(st.just("erase"), st.lists(point, min_size=1, max_size=4), st.floats(0, 6))
fill = st.tuples(st.just("fill"), st.integers(-1, W), st.integers(-1, H), value)
poly = st.tuples(st.just("polygon"), st.lists(point, min_size=0, max_size=6), value)
replace = st.tuples(st.just("replace"), st.integers(0, 2**32 - 1))
protect = st.tuples(st.just("protect"), st.none() | st.integers(0, 5))
ops = st.lists(st.one_of(brush, erase, fill, poly, replace, protect), max_size=12)


def _apply(doc: MaskDocument, op) -> bool:
    """Run one op; True when it made an undo step."""
    before = len(doc.history)
    kind = op[0]
    if kind == "protect":
        doc.protect = op[1]
        return False
    if kind in ("brush", "erase"):
        pts = op[1]
        doc.begin_stroke()
        for a, b in zip(pts, pts[1:] or pts, strict=False):
            doc.brush(a, b, op[2], op[3]) if kind == "brush" else doc.erase(a, b, op[2])
        doc.end_stroke()
    elif kind == "fill":
        doc.fill(op[1], op[2], op[3])
    elif kind == "polygon":
        doc.polygon(op[1], op[2])
    else:
        rng = np.random.default_rng(op[1])
        doc.replace(rng.integers(0, 4, (H, W), dtype=np.uint8))
    return len(doc.history) > before


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=ops)
def test_undo_restores_and_redo_replays(seed, ops) -> None:
    rng = np.random.default_rng(seed)
    original = rng.integers(0, 4, (H, W), dtype=np.uint8)
    doc = MaskDocument(original.copy(), 255, history_bytes=2**30)
    snapshots = [original.copy()]
    for op in ops:
        if _apply(doc, op):
            snapshots.append(doc.mask.copy())
    edited = doc.mask.copy()
    assert len(doc.history) == len(snapshots) - 1
    for expected in reversed(snapshots[:-1]):
        assert doc.undo() is not None
        np.testing.assert_array_equal(doc.mask, expected)
    # Back at the start, unsaved only where a brush confirmed pixels of their own class
    # (touched for good, no undo step).
    assert doc.undo() is None and doc.dirty == doc._touched_unsaved
    for expected in snapshots[1:]:
        assert doc.redo() is not None
        np.testing.assert_array_equal(doc.mask, expected)
    np.testing.assert_array_equal(doc.mask, edited)
    assert doc.redo() is None


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=ops)
def test_reported_boxes_contain_every_change(seed, ops) -> None:
    rng = np.random.default_rng(seed)
    doc = MaskDocument(rng.integers(0, 4, (H, W), dtype=np.uint8), 255)
    for op in ops:
        if op[0] in ("protect", "replace"):
            _apply(doc, op)
            continue
        before = doc.mask.copy()
        if op[0] == "fill":
            box = doc.fill(op[1], op[2], op[3])
        elif op[0] == "polygon":
            box = doc.polygon(op[1], op[2])
        else:
            a = op[1][0]
            b = op[1][-1]
            box = doc.brush(a, b, op[2], op[3]) if op[0] == "brush" else doc.erase(a, b, op[2])
        diff = doc.mask != before
        if box is None:
            assert not diff.any()
        else:
            y0, x0, y1, x1 = box
            inside = np.zeros_like(diff)
            inside[y0:y1, x0:x1] = True
            assert not (diff & ~inside).any()
            assert diff[y0:y1, x0:x1].any()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=ops, cap=st.integers(0, 3000))
def test_memory_cap_keeps_the_most_recent_steps_exact(seed, ops, cap) -> None:
    rng = np.random.default_rng(seed)
    original = rng.integers(0, 4, (H, W), dtype=np.uint8)
    doc = MaskDocument(original.copy(), 255, history_bytes=cap)
    snapshots = [original.copy()]
    for op in ops:
        before = doc.mask.copy()
        _apply(doc, op)
        if not np.array_equal(before, doc.mask):
            snapshots.append(doc.mask.copy())
    kept = len(doc.history)
    assert kept <= len(snapshots) - 1
    assert doc.history_nbytes <= cap or kept == 1
    for expected in reversed(snapshots[-kept - 1 : -1]):
        doc.undo()
        np.testing.assert_array_equal(doc.mask, expected)
    assert not doc.can_undo
