"""Mask editing: round brush, eraser, flood fill, polygon fill and whole-mask replace, each
undoable and each reporting the box it changed so a view redraws only that box.

Coordinates are (x, y) in mask pixels with pixel (row i, column j) covering [j, j+1) x [i, i+1),
so its centre is (j + 0.5, i + 0.5), the convention of an image item drawn at the origin. Every
operation works inside its own bounding box only: cost depends on the brush, not the mask size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from segstudio.core.history import MASK, TOUCHED, BBox, History, Patch

# A radius below this could miss every pixel centre (a click on a pixel corner is 0.707 px
# from the nearest centres); clamping guarantees a click always paints the pixel under it.
MIN_RADIUS = math.sqrt(0.5) + 1e-6


def _tight(changed: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight (y0, x0, y1, x1) of the True pixels of a box-local map, or None."""
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _check_value(value: int) -> None:
    if not 0 <= int(value) <= 255:
        raise ValueError(f"label value {value} is not in 0..255")


def capsule(
    shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float], radius: float
) -> tuple[BBox, np.ndarray] | None:
    """Pixels whose centre lies within `radius` of the segment p0-p1, as (box, bool map of the
    box), clipped to `shape`; None when the box is empty. A disc when p0 == p1."""
    h, w = shape
    x0, y0 = float(p0[0]), float(p0[1])
    x1, y1 = float(p1[0]), float(p1[1])
    r = max(float(radius), MIN_RADIUS)
    # Pixel j is a candidate when its centre j + 0.5 is within r of the segment's x-range.
    bx0 = max(0, math.ceil(min(x0, x1) - r - 0.5))
    bx1 = min(w, math.floor(max(x0, x1) + r - 0.5) + 1)
    by0 = max(0, math.ceil(min(y0, y1) - r - 0.5))
    by1 = min(h, math.floor(max(y0, y1) + r - 0.5) + 1)
    if bx0 >= bx1 or by0 >= by1:
        return None
    xs = (np.arange(bx0, bx1, dtype=np.float64) + 0.5 - x0)[None, :]
    ys = (np.arange(by0, by1, dtype=np.float64) + 0.5 - y0)[:, None]
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        d2 = xs * xs + ys * ys
    else:
        # Distance to the segment: project on it, clamp to the ends (the round caps).
        t = np.clip((xs * dx + ys * dy) / length2, 0.0, 1.0)
        ex, ey = xs - t * dx, ys - t * dy
        d2 = ex * ex + ey * ey
    return (by0, bx0, by1, bx1), d2 <= r * r


class MaskDocument:
    """One image's label mask plus its undo history; views share `mask`'s buffer.

    Besides the mask it keeps `touched`: the pixels a person's tools covered (brush, eraser,
    fill, polygon; not `replace`, which is how predictions arrive). Undo and redo restore it
    with the mask, so an undone stroke is no longer "touched". Listeners added with
    `on_change(fn)` are called with the changed box after every change, whoever made it
    (a tool, undo/redo, a prediction): views subscribe instead of being told by each caller,
    as napari's labels layer emits `paint`.
    """

    def __init__(
        self, mask: np.ndarray, ignore_index: int, *, history_bytes: int = 256 * 2**20,
        touched: np.ndarray | None = None,
    ) -> None:
        if mask.ndim != 2:
            raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
        if mask.dtype != np.uint8 or not mask.flags.c_contiguous or not mask.flags.writeable:
            mask = np.ascontiguousarray(mask, dtype=np.uint8).copy()
        self.mask = mask
        self.ignore_index = int(ignore_index)
        self.protect: int | None = None
        self.history = History(history_bytes)
        self._saved_id = 0
        if touched is not None and touched.shape != mask.shape:
            raise ValueError(f"touched map {touched.shape} differs from the mask {mask.shape}")
        self.touched: np.ndarray | None = (
            None if touched is None else np.ascontiguousarray(touched, dtype=bool).copy())
        self._listeners: list[Callable[[BBox], None]] = []
        self._touched_unsaved = False   # touched pixels set outside the history, not saved
        # The mask as last saved (or loaded), copied at the first change after that: a save
        # beside another writer merges only the pixels that differ from it (core.label_saving).
        self._saved: np.ndarray | None = None

    # ----- events --------------------------------------------------------------------------
    def on_change(self, listener: Callable[[BBox], None]) -> Callable[[], None]:
        """Call `listener(bbox)` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
        return remove

    def _emit(self, bbox: BBox | None) -> BBox | None:
        if bbox is not None:
            for listener in list(self._listeners):
                listener(bbox)
        return bbox

    @property
    def touched_any(self) -> bool:
        return self.touched is not None and bool(self.touched.any())

    # ----- state ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    @property
    def dirty(self) -> bool:
        return (self.history.pending or self.history.top_id != self._saved_id
                or self._touched_unsaved)

    def mark_saved(self) -> None:
        # A save in the middle of a drag splits it: what was painted so far is the saved state.
        reopen = self.history.in_stroke
        self.history.end()
        if reopen:
            self.history.begin()
        self._saved_id = self.history.top_id
        self._touched_unsaved = False
        self._saved = None

    def saved_mask(self) -> np.ndarray:
        """The mask as last saved (`mark_saved`) or loaded: a copy kept since the first change
        after that, or `mask` itself (not a copy) while nothing has changed since."""
        return self.mask if self._saved is None else self._saved

    def _keep_saved(self) -> None:
        if self._saved is None:
            self._saved = self.mask.copy()

    def merge_disk(self, disk: np.ndarray, disk_touched: np.ndarray | None) -> BBox | None:
        """Another writer saved this image's label (`disk`, its touched map): take its pixels
        wherever this document has no unsaved change; the unsaved ones stay, to be saved over
        it. Not an undo step (undo is for this document's own edits); returns the box that
        changed on screen and tells the listeners."""
        if disk.shape != self.mask.shape:
            raise ValueError(f"label on disk {disk.shape} differs from {self.mask.shape}")
        disk = np.asarray(disk, np.uint8)
        new = disk if self._saved is None else np.where(self.mask != self._saved, self.mask,
                                                        disk)
        if self._saved is not None:
            self._saved = disk.copy()          # what a save now starts from
        if disk_touched is not None and disk_touched.any():
            if self.touched is None:
                self.touched = np.zeros(self.mask.shape, bool)
            self.touched |= disk_touched
        tight = _tight(self.mask != new)
        if tight is None:
            return None
        y0, x0, y1, x1 = tight
        np.copyto(self.mask[y0:y1, x0:x1], new[y0:y1, x0:x1])
        return self._emit(tight)

    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    # ----- strokes -------------------------------------------------------------------------
    def begin_stroke(self) -> None:
        self.history.begin()

    def end_stroke(self) -> None:
        self.history.end()

    def _apply(self, box: BBox, candidates: np.ndarray, value: int) -> BBox | None:
        """A person's tool: set `value` on the candidate pixels of `box` that change
        (honouring protect), recording their old values, and mark every candidate pixel the
        tool may paint as touched (painting a class over itself confirms it); returns the tight
        box of what changed in the mask (None: no pixel changed, though some may now be
        touched: the document is then dirty all the same)."""
        # The touch and the paint are one undo step even outside a stroke (a fill, a polygon).
        single = not self.history.in_stroke
        if single:
            self.history.begin()
        try:
            return self._emit(self._paint(box, candidates, value))
        finally:
            if single:
                self.history.end()

    def _paint(self, box: BBox, candidates: np.ndarray, value: int) -> BBox | None:
        y0, x0, y1, x1 = box
        view = self.mask[y0:y1, x0:x1]
        allowed = candidates if self.protect is None else candidates & (view == self.protect)
        changed = allowed & (view != value)
        tight = _tight(changed)
        # Touched pixels are not drawn. Painting a class over itself changes nothing visible:
        # those pixels become touched for good (an undo step that changes nothing on screen
        # would only confuse), and the document counts as unsaved so they are written.
        self._touch(box, allowed, undoable=tight is not None)
        if tight is None:
            return None
        ty0, tx0, ty1, tx1 = tight
        changed = changed[ty0:ty1, tx0:tx1]
        bbox = (y0 + ty0, x0 + tx0, y0 + ty1, x0 + tx1)
        self._keep_saved()
        self.history.record(Patch.capture(self.mask, bbox, changed))
        self.mask[bbox[0] : bbox[2], bbox[1] : bbox[3]][changed] = value
        return bbox

    def _touch(self, box: BBox, pixels: np.ndarray, *, undoable: bool = True) -> BBox | None:
        """Mark `pixels` (a bool map of `box`) touched (undoably, or for good); the box of
        the newly touched ones."""
        if self.touched is None:
            if not pixels.any():
                return None
            self.touched = np.zeros(self.mask.shape, bool)
        y0, x0, y1, x1 = box
        new = pixels & ~self.touched[y0:y1, x0:x1]
        tight = _tight(new)
        if tight is None:
            return None
        ty0, tx0, ty1, tx1 = tight
        new = new[ty0:ty1, tx0:tx1]
        bbox = (y0 + ty0, x0 + tx0, y0 + ty1, x0 + tx1)
        if undoable:
            self.history.record(Patch.flip(bbox, new, TOUCHED))
        else:
            self._touched_unsaved = True
        self.touched[bbox[0] : bbox[2], bbox[1] : bbox[3]][new] = True
        return bbox

    def brush(
        self, p0: tuple[float, float], p1: tuple[float, float], radius: float, value: int
    ) -> BBox | None:
        """Round brush swept from p0 to p1 ((x, y) in mask pixels): every pixel whose centre is
        within `radius` of the segment, so a fast mouse leaves no gaps. None if nothing changed."""
        _check_value(value)
        if not all(math.isfinite(v) for v in (*p0, *p1, radius)):
            return None
        hit = capsule(self.shape, p0, p1, radius)
        if hit is None:
            return None
        return self._apply(hit[0], hit[1], int(value))

    def erase(self, p0: tuple[float, float], p1: tuple[float, float], radius: float) -> BBox | None:
        return self.brush(p0, p1, radius, self.ignore_index)

    # ----- region operations ---------------------------------------------------------------
    def fill(self, x: int, y: int, value: int) -> BBox | None:
        """Flood fill the 4-connected region of pixels equal to the one at (x, y)."""
        _check_value(value)
        h, w = self.shape
        x, y = int(x), int(y)
        if not (0 <= x < w and 0 <= y < h):
            return None
        seed = int(self.mask[y, x])
        if seed == value or (self.protect is not None and seed != self.protect):
            return None
        region = np.zeros((h + 2, w + 2), np.uint8)
        flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
        _, _, _, (rx, ry, rw, rh) = cv2.floodFill(self.mask, region, (x, y), 0, 0, 0, flags)
        box = (ry, rx, ry + rh, rx + rw)
        return self._apply(box, region[1 + ry : 1 + ry + rh, 1 + rx : 1 + rx + rw] > 0, int(value))

    def polygon(self, points: Sequence[tuple[float, float]], value: int) -> BBox | None:
        """Fill the polygon through `points` ((x, y) in mask pixels); pixels whose centres are
        inside it, plus OpenCV's boundary pixels. Needs three points or more."""
        _check_value(value)
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        if len(pts) < 3 or not np.isfinite(pts).all():
            return None
        h, w = self.shape
        bx0 = max(0, math.floor(pts[:, 0].min() - 0.5))
        by0 = max(0, math.floor(pts[:, 1].min() - 0.5))
        bx1 = min(w, math.ceil(pts[:, 0].max() + 0.5) + 1)
        by1 = min(h, math.ceil(pts[:, 1].max() + 0.5) + 1)
        if bx0 >= bx1 or by0 >= by1:
            return None
        local = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
        # 8 fractional bits keep sub-pixel vertices; pixel centres sit at integers for OpenCV.
        fixed = np.rint((pts - (bx0 + 0.5, by0 + 0.5)) * 256).astype(np.int32)
        cv2.fillPoly(local, [fixed.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=8)
        return self._apply((by0, bx0, by1, bx1), local > 0, int(value))

    def paint(self, box: BBox, pixels: np.ndarray, value: int) -> BBox | None:
        """Set `value` on the True pixels of `pixels` (a bool map of `box`, clipped to the
        mask), as a person's tool: protect honoured, pixels touched, one undo step unless
        inside a stroke. What the assisted tools (segstudio.assist) commit through."""
        _check_value(value)
        y0, x0, y1, x1 = (int(v) for v in box)
        h, w = self.shape
        if pixels.shape != (y1 - y0, x1 - x0):
            raise ValueError(f"pixel map {pixels.shape} differs from the box {box}")
        cy0, cx0, cy1, cx1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
        if cy0 >= cy1 or cx0 >= cx1:
            return None
        local = np.asarray(pixels, bool)[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        return self._apply((cy0, cx0, cy1, cx1), local, int(value))

    def replace(self, mask: np.ndarray) -> BBox:
        """Replace the whole mask (e.g. accept a prediction), undoable like any edit. Returns
        the box of the pixels that changed, (0, 0, 0, 0) when none did. Protect is not
        applied: this is a whole-mask decision, not painting."""
        if mask.shape != self.mask.shape:
            raise ValueError(f"replacement mask {mask.shape} differs from {self.mask.shape}")
        new = np.asarray(mask, np.uint8)
        changed = self.mask != new
        tight = _tight(changed)
        if tight is None:
            return (0, 0, 0, 0)
        y0, x0, y1, x1 = tight
        self._keep_saved()
        self.history.record(Patch.capture(self.mask, tight, changed[y0:y1, x0:x1]))
        # Unchanged pixels are equal in both, so a plain copy of the box is exact (and fast).
        np.copyto(self.mask[y0:y1, x0:x1], new[y0:y1, x0:x1])
        self._emit(tight)
        return tight

    # ----- history -------------------------------------------------------------------------
    def _layers(self) -> dict[int, np.ndarray]:
        return {MASK: self.mask} if self.touched is None else {MASK: self.mask,
                                                               TOUCHED: self.touched}

    def undo(self) -> BBox | None:
        if self.history.can_undo:
            self._keep_saved()
        return self._emit(self.history.undo(self._layers()))

    def redo(self) -> BBox | None:
        if self.history.can_redo:
            self._keep_saved()
        return self._emit(self.history.redo(self._layers()))

    @property
    def history_nbytes(self) -> int:
        """Bytes the undo/redo history holds (what the memory cap is compared with)."""
        return self.history.nbytes
