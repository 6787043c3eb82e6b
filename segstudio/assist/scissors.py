"""A polygon whose edges snap to image edges: OpenCV's intelligent scissors (Mortensen and
Barrett's live wire, `cv2.segmentation.IntelligentScissorsMB`).

Each anchor builds a map of the cheapest paths from it (a Dijkstra over the pixels). On an
image of up to `max_pixels` the edge features are computed once; on a larger one each anchor
works in a window around itself, so an anchor costs the same on a 48-Mpx image as on a
small one. A point outside the window joins with a straight edge.
"""

from __future__ import annotations

import cv2
import numpy as np

Point = tuple[float, float]


def _tool() -> cv2.segmentation.IntelligentScissorsMB:
    tool = cv2.segmentation.IntelligentScissorsMB()
    # OpenCV's documented settings for photographs: Canny edges as a feature, gradient
    # magnitudes capped so strong edges do not drown the rest.
    tool.setEdgeFeatureCannyParameters(32, 100)
    tool.setGradientMagnitudeMaxLimit(200)
    return tool


class Scissors:
    """`anchor(p)` fixes a point; `path(q)` is the edge-following path from the last anchor to
    q, as (N, 2) float (x, y) pixel centres (mask coordinates: pixel j's centre is j + 0.5)."""

    def __init__(self, image: np.ndarray, *, max_pixels: int = 400_000, window: int = 512) -> None:
        self.image = np.ascontiguousarray(image[..., :3])
        self.window = window
        h, w = self.image.shape[:2]
        self._whole = h * w <= max_pixels
        self._tool: cv2.segmentation.IntelligentScissorsMB | None = None
        if self._whole:
            self._tool = _tool()
            self._tool.applyImage(self.image)
        self._offset = (0, 0)
        self._limits = (0, 0, w, h)        # x0, y0, x1, y1 of the map's window
        self._anchor: tuple[int, int] | None = None

    def _pixel(self, p: Point) -> tuple[int, int]:
        h, w = self.image.shape[:2]
        return min(max(int(p[0]), 0), w - 1), min(max(int(p[1]), 0), h - 1)

    def anchor(self, p: Point) -> None:
        x, y = self._pixel(p)
        if not self._whole:
            h, w = self.image.shape[:2]
            half = self.window // 2
            x0, y0 = max(0, x - half), max(0, y - half)
            x1, y1 = min(w, x + half), min(h, y + half)
            self._tool = _tool()
            self._tool.applyImage(np.ascontiguousarray(self.image[y0:y1, x0:x1]))
            self._offset, self._limits = (x0, y0), (x0, y0, x1, y1)
        assert self._tool is not None
        ox, oy = self._offset
        self._tool.buildMap((x - ox, y - oy))
        self._anchor = (x, y)

    def path(self, q: Point) -> np.ndarray:
        """From the last anchor to q (both included); a straight edge outside the window."""
        if self._anchor is None or self._tool is None:
            return np.empty((0, 2))
        x, y = self._pixel(q)
        x0, y0, x1, y1 = self._limits
        if not (x0 <= x < x1 and y0 <= y < y1):
            pts = np.array([self._anchor, (x, y)], np.float64)
        else:
            ox, oy = self._offset
            pts = self._tool.getContour((x - ox, y - oy)).reshape(-1, 2).astype(np.float64)
            pts += (ox, oy)
        return pts + 0.5
