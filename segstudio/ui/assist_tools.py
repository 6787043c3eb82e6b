"""The assisted tools' gestures (segstudio.assist) for the ToolController: box (GrabCut,
then clicks that refine it), scissors (edge-following polygon) and the region brush.

Each returns the box it changed (for the canvas) and the outline to preview; the document
calls are MaskDocument.paint / polygon, so protect, touched pixels and undo work as with
the brush and the polygon.
"""

from __future__ import annotations

import numpy as np

from segstudio.assist.commit import ObjectEdit
from segstudio.assist.grabcut import BoxSegmenter
from segstudio.assist.regions import RegionMap
from segstudio.assist.scissors import Scissors
from segstudio.core.editing import MaskDocument

Point = tuple[float, float]
BBox = tuple[int, int, int, int]
SEED_RADIUS = 4.0      # image pixels a refining click marks as object / not object


class AssistTools:
    def __init__(self) -> None:
        self.image: np.ndarray | None = None
        self._regions: RegionMap | None = None
        self._scissors: Scissors | None = None
        self._box: BoxSegmenter | None = None
        self._edit: ObjectEdit | None = None
        self._anchors: list[Point] = []
        self._path: list[np.ndarray] = []

    def set_image(self, image: np.ndarray | None) -> None:
        # The edge maps are built when a tool first needs them: opening an image costs nothing.
        self.image = image
        self._regions = self._scissors = None
        self.end_box()
        self.cancel_scissors()

    # -- box -----------------------------------------------------------------------------
    @property
    def box_active(self) -> bool:
        return self._edit is not None

    def box_outline(self) -> list[Point]:
        if self._box is None:
            return []
        y0, x0, y1, x1 = self._box.box
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]

    def box(self, doc: MaskDocument, value: int, p0: Point, p1: Point) -> BBox | None:
        """A new object from the box p0-p1 (one undo step)."""
        self.end_box()
        if self.image is None or abs(p1[0] - p0[0]) < 2 or abs(p1[1] - p0[1]) < 2:
            return None
        self._box = BoxSegmenter(self.image, p0, p1)
        self._edit = ObjectEdit(doc, value, self._box.window)
        return self._edit.show(self._box.mask)

    def refine(self, p: Point) -> BBox | None:
        """A click on the last box's object: a click on the object says "not object", one
        off it says "object" (the person clicks where the mask is wrong)."""
        if self._box is None or self._edit is None:
            return None
        y0, x0, y1, x1 = self._box.window
        x, y = int(p[0]), int(p[1])
        if not (x0 <= x < x1 and y0 <= y < y1):
            return None
        positive = not bool(self._box.mask[y - y0, x - x0])
        return self._edit.show(self._box.click(p[0], p[1], positive, SEED_RADIUS))

    def end_box(self) -> None:
        self._box = None
        self._edit = None

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
        if self.image is None:
            return []
        if self._scissors is None:
            self._scissors = Scissors(self.image)
        if self._anchors:
            self._path.append(self._scissors.path(p))
        self._anchors.append(p)
        self._scissors.anchor(p)
        return self.outline()

    def outline(self, cursor: Point | None = None) -> list[Point]:
        parts = list(self._path)
        if cursor is not None and self._scissors is not None and self._anchors:
            parts.append(self._scissors.path(cursor))
        if not parts:
            return list(self._anchors)
        return [(float(x), float(y)) for x, y in np.concatenate(parts)]

    def finish_scissors(self, doc: MaskDocument, value: int) -> BBox | None:
        """Close the outline (the last edge also follows the image) and fill it."""
        if len(self._anchors) >= 2 and self._scissors is not None:
            self._path.append(self._scissors.path(self._anchors[0]))
        points = self.outline()
        self.cancel_scissors()
        return doc.polygon(points, value) if len(points) >= 3 else None

    def cancel_scissors(self) -> None:
        self._anchors = []
        self._path = []
