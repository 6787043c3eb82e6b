"""Undo/redo for one label mask, storing only what changed (napari labels-layer style).

A step is a list of patches; a patch is a bounding box, a bit-packed map of the pixels it
changed inside that box, and one byte per changed pixel. Undo and redo are the same operation:
swap the stored bytes with the mask's current bytes, patches in reverse order for undo and in
order for redo, which stays exact even when the patches of one step overlap.

A stroke keeps one patch per segment rather than one growing box, so a long diagonal drag across
an 8000x6000 mask stores a chain of small boxes, not the square around them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

BBox = tuple[int, int, int, int]  # (y0, x0, y1, x1), half-open, in mask pixels

# Python object overhead per patch, counted so that many tiny patches still hit the cap.
_PATCH_OVERHEAD = 200
# Above this fraction (numerator, denominator) of changed pixels a patch stores its whole box.
_DENSE_FRACTION = (1, 2)


def union(a: BBox | None, b: BBox | None) -> BBox | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


# The arrays a patch may belong to: the label mask, or the document's touched-pixel map.
MASK, TOUCHED = 0, 1


@dataclass
class Patch:
    bbox: BBox
    shape: tuple[int, int]  # of the box
    packed: np.ndarray | None  # np.packbits of the changed-pixel map; None: the whole box
    values: np.ndarray  # one per changed pixel (mask's dtype): what the next swap writes
    layer: int = MASK
    inverts: bool = False  # a bool layer whose changed pixels are inverted (no values kept)

    @classmethod
    def capture(cls, mask: np.ndarray, bbox: BBox, changed: np.ndarray,
                layer: int = MASK) -> Patch:
        """Record the current values of `mask` at `changed` (a bool map of the box) before
        they are overwritten."""
        y0, x0, y1, x1 = bbox
        view = mask[y0:y1, x0:x1]
        # Mostly changed: keep the whole box. Swapping unchanged pixels is harmless (a swap only
        # ever runs on the state right after this step, where they hold their old values),
        # costs at most ~2x the memory of the sparse form, and copies instead of gathering.
        if np.count_nonzero(changed) * _DENSE_FRACTION[1] >= changed.size * _DENSE_FRACTION[0]:
            return cls(bbox, changed.shape, None, view.ravel().copy(), layer)
        return cls(bbox, changed.shape, np.packbits(changed, axis=None), view[changed], layer)

    @classmethod
    def flip(cls, bbox: BBox, changed: np.ndarray, layer: int) -> Patch:
        """A patch of a bool layer whose `changed` pixels are about to be inverted (touched
        pixels only ever go from False to True): the map alone is enough, no values."""
        return cls(bbox, changed.shape, np.packbits(changed, axis=None),
                   np.empty(0, np.uint8), layer, inverts=True)

    def _changed(self) -> np.ndarray:
        h, w = self.shape
        assert self.packed is not None
        return np.unpackbits(self.packed, count=h * w).view(bool).reshape(h, w)

    def swap(self, mask: np.ndarray) -> None:
        y0, x0, y1, x1 = self.bbox
        view = mask[y0:y1, x0:x1]
        if self.inverts:
            view ^= self._changed()   # undo and redo both invert
            return
        if self.packed is None:
            current = view.ravel().copy()
            np.copyto(view, self.values.reshape(view.shape))
        else:
            changed = self._changed()
            current = view[changed]
            view[changed] = self.values
        self.values = current

    @property
    def nbytes(self) -> int:
        packed = 0 if self.packed is None else self.packed.nbytes
        return self.values.nbytes + packed + _PATCH_OVERHEAD


@dataclass
class Step:
    id: int
    patches: list[Patch] = field(default_factory=list)
    bbox: BBox | None = None
    nbytes: int = 0

    def add(self, patch: Patch) -> None:
        self.patches.append(patch)
        self.bbox = union(self.bbox, patch.bbox)
        self.nbytes += patch.nbytes


class History:
    """Undo and redo stacks with a memory cap in bytes (oldest steps dropped first; the most
    recent step is always kept, however large)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._undo: deque[Step] = deque()
        self._redo: list[Step] = []
        self._open: Step | None = None  # a stroke in progress
        self._next_id = 1
        self.nbytes = 0

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) or (self._open is not None and bool(self._open.patches))

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def top_id(self) -> int:
        """Id of the last committed step (0 when none): identifies the mask's state."""
        return self._undo[-1].id if self._undo else 0

    @property
    def in_stroke(self) -> bool:
        return self._open is not None

    @property
    def pending(self) -> bool:
        """True while an open stroke has changed pixels that are not yet a step."""
        return self._open is not None and bool(self._open.patches)

    def __len__(self) -> int:
        return len(self._undo)

    def begin(self) -> None:
        if self._open is None:
            self._open = Step(self._new_id())

    def end(self) -> None:
        step, self._open = self._open, None
        if step is not None and step.patches:
            self._commit(step)

    def record(self, patch: Patch) -> None:
        """Add a patch: to the open stroke, or as a step of its own when none is open."""
        if self._redo:
            # A new edit makes the undone future unreachable.
            self.nbytes -= sum(s.nbytes for s in self._redo)
            self._redo.clear()
        if self._open is not None:
            self._open.add(patch)
            self.nbytes += patch.nbytes
        else:
            step = Step(self._new_id())
            step.add(patch)
            self.nbytes += patch.nbytes
            self._commit(step)

    def undo(self, layers: np.ndarray | dict[int, np.ndarray]) -> BBox | None:
        """Undo the last step on `layers` (the mask, or {MASK: mask, TOUCHED: touched})."""
        self.end()
        if not self._undo:
            return None
        step = self._undo.pop()
        arrays = layers if isinstance(layers, dict) else {MASK: layers}
        for patch in reversed(step.patches):
            patch.swap(arrays[patch.layer])
        self._redo.append(step)
        return step.bbox

    def redo(self, layers: np.ndarray | dict[int, np.ndarray]) -> BBox | None:
        self.end()
        if not self._redo:
            return None
        step = self._redo.pop()
        arrays = layers if isinstance(layers, dict) else {MASK: layers}
        for patch in step.patches:
            patch.swap(arrays[patch.layer])
        self._undo.append(step)
        return step.bbox

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._open = None
        self.nbytes = 0

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _commit(self, step: Step) -> None:
        self._undo.append(step)
        while self.nbytes > self.max_bytes and len(self._undo) > 1:
            self.nbytes -= self._undo.popleft().nbytes
