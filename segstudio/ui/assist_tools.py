"""The assisted tools' gestures (segstudio.assist) for the ToolController: box (GrabCut,
then clicks that refine it), scissors (edge-following polygon) and the region brush.

Each returns the box it changed (for the canvas) and the outline to preview; the document
calls are MaskDocument.paint / polygon, so protect, touched pixels and undo work as with
the brush and the polygon.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from segstudio.assist.commit import ObjectEdit
from segstudio.assist.grabcut import SEED_RADIUS, BoxSegmenter
from segstudio.assist.object_fill import object_fill
from segstudio.assist.regions import RegionMap
from segstudio.assist.scissors import Scissors
from segstudio.core.editing import MaskDocument

Point = tuple[float, float]
BBox = tuple[int, int, int, int]
PREFETCH_PIXELS = 4_000_000


class AssistTools:
    def __init__(self) -> None:
        self.image: np.ndarray | None = None
        self._regions: RegionMap | None = None
        self._box: BoxSegmenter | None = None
        self._edit: ObjectEdit | None = None
        self._job: tuple[Future, Callable[[object], BBox | None]] | None = None
        self._anchors: list[Point] = []
        # GrabCut, the scissors' edge maps (one per anchor) and the regions run on one worker
        # thread: each costs 50 ms to over a second on the busy 2-core CPU, and OpenCV
        # releases the GIL meanwhile, so a click never stalls the window. Until a map is
        # ready the scissors preview a straight edge.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assist")
        self._prefetch: Future | None = None
        self._maps: list[Future[Scissors]] = []
        self._paths: dict[int, np.ndarray] = {}     # edge i: anchor i to anchor i + 1
        self.last_object_fill: str | None = None     # "sam" or "colour": what decided

    def set_image(self, image: np.ndarray | None) -> None:
        self.image = image
        self._regions = None
        if self._prefetch is not None:
            self._prefetch.cancel()         # the previous image's, if it has not started
            self._prefetch = None
        if image is not None:
            self._regions = RegionMap(image)
            if image.shape[0] * image.shape[1] <= PREFETCH_PIXELS:
                # The regions of a usual image are ready before the first stroke (their first
                # tile cost 76 ms idle, 0.6 s on the busy CPU, on the GUI thread); a larger
                # one's tiles are made where the brush goes.
                self._prefetch = self._pool.submit(self._regions.labels,
                                                   (0, 0, *image.shape[:2]))
        self.end_box()
        self.cancel_scissors()

    # -- box -----------------------------------------------------------------------------
    @property
    def box_active(self) -> bool:
        return self._edit is not None or self._job is not None

    def box_outline(self) -> list[Point]:
        if self._box is None:
            return []
        y0, x0, y1, x1 = self._box.box
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]

    def box(self, doc: MaskDocument, value: int, p0: Point, p1: Point) -> bool:
        """Start a new object from the box p0-p1 on the worker (GrabCut takes 10-300 ms on a
        busy CPU); `poll` commits it (one undo step). False: no box to segment."""
        self.end_box()
        if self.image is None or abs(p1[0] - p0[0]) < 2 or abs(p1[1] - p0[1]) < 2:
            return False

        def commit(seg: BoxSegmenter) -> BBox | None:
            self._box = seg
            self._edit = ObjectEdit(doc, value, seg.window)
            return self._edit.show(seg.mask)

        self._job = (self._pool.submit(BoxSegmenter, self.image, p0, p1), commit)
        return True

    def refine(self, p: Point, radius: float = SEED_RADIUS) -> bool:
        """A click on the last box's object: a click on the object says "not object", one
        off it says "object" (the person clicks where the mask is wrong), for the disk of
        `radius` around it (the brush size: a large wrong part is fixed by one large seed).
        Ignored while the previous one is being computed, or outside the box's window."""
        if self._box is None or self._edit is None or self._job is not None:
            return False
        seg, edit = self._box, self._edit
        y0, x0, y1, x1 = seg.window
        x, y = int(p[0]), int(p[1])
        if not (x0 <= x < x1 and y0 <= y < y1):
            return False
        positive = not bool(seg.mask[y - y0, x - x0])
        self._job = (self._pool.submit(seg.click, p[0], p[1], positive, radius), edit.show)
        return True

    @property
    def busy(self) -> bool:
        return self._job is not None

    def poll(self, wait: bool = False) -> BBox | None:
        """Commit the box or click computed on the worker, once it is done (or `wait` for
        it): the changed box; None while busy or when nothing changed."""
        if self._job is None or not (wait or self._job[0].done()):
            return None
        future, commit = self._job
        self._job = None
        return commit(future.result())

    def end_box(self) -> None:
        # A box or click still being computed is dropped: its result is never committed.
        if self._job is not None:
            self._job[0].cancel()
        self._job: tuple[Future, Callable[[object], BBox | None]] | None = None
        self._box = None
        self._edit = None

    # -- object fill (the prediction as a prompt) ----------------------------------------
    def object_fill(self, doc: MaskDocument, value: int, p: Point,
                    sam_mask: Callable[[Point], np.ndarray | None] | None = None) -> bool:
        """Re-label the object under `p` within its predicted region, on the worker (the
        colour flood of a large region, or SAM's decoder, costs up to a second on the busy
        CPU); `poll` commits it (one undo step). `sam_mask(p)`: SAM's mask for a click, when SAM has
        encoded the image. False: nothing to do (off the image, or busy)."""
        if self.image is None or self._job is not None:
            return False
        self.end_box()
        image, mask = self.image, doc.mask.copy()

        def compute():
            sam = sam_mask(p) if sam_mask is not None else None
            return object_fill(image, mask, p[0], p[1], sam_mask=sam)

        def commit(hit) -> BBox | None:
            self.last_object_fill = None if hit is None else hit[2]
            return None if hit is None else doc.paint(hit[0], hit[1], value)

        self._job = (self._pool.submit(compute), commit)
        return True

    # -- region brush --------------------------------------------------------------------
    def regions(self, doc: MaskDocument, value: int, p0: Point, p1: Point,
                radius: float) -> BBox | None:
        if self.image is None:
            return None
        if self._regions is None:
            self._regions = RegionMap(self.image)
        hit = self._regions.brush(p0, p1, radius)
        return None if hit is None else doc.paint(hit[0], hit[1], value)

    # -- scissors ------------------------------------------------------------------------
    @property
    def scissors_active(self) -> bool:
        return bool(self._anchors)

    def anchor(self, p: Point) -> list[Point]:
        """Fix a point; the edge path from the previous one joins the outline. Returns the
        outline so far."""
        image = self.image
        if image is None:
            return []

        def build() -> Scissors:
            scissors = Scissors(image)
            scissors.anchor(p)
            return scissors

        self._anchors.append(p)
        self._maps.append(self._pool.submit(build))
        return self.outline()

    def _edge(self, i: int, q: Point, wait: bool = False) -> np.ndarray:
        """From anchor i to q: the traced path once anchor i's map is ready (or `wait`),
        else a straight edge."""
        future = self._maps[i]
        if wait or future.done():
            return future.result().path(q)
        return np.array([self._anchors[i], q], np.float64)

    def outline(self, cursor: Point | None = None, wait: bool = False) -> list[Point]:
        parts = []
        for i in range(len(self._anchors) - 1):
            path = self._paths.get(i)
            if path is None:
                path = self._edge(i, self._anchors[i + 1], wait)
                if wait or self._maps[i].done():
                    self._paths[i] = path
            parts.append(path)
        if cursor is not None and self._anchors:
            parts.append(self._edge(len(self._anchors) - 1, cursor))
        if not parts:
            return list(self._anchors)
        return [(float(x), float(y)) for x, y in np.concatenate(parts)]

    def finish_scissors(self, doc: MaskDocument, value: int) -> BBox | None:
        """Close the outline (the last edge also follows the image) and fill it; waits for
        maps still being built (they were started at the clicks)."""
        points = self.outline(wait=True)
        if len(self._anchors) >= 2:
            points += [(float(x), float(y)) for x, y in
                       self._edge(len(self._anchors) - 1, self._anchors[0], wait=True)]
        self.cancel_scissors()
        return doc.polygon(points, value) if len(points) >= 3 else None

    def cancel_scissors(self) -> None:
        for future in self._maps:
            future.cancel()
        self._anchors = []
        self._maps = []
        self._paths = {}
