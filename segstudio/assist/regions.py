"""Edge-aware regions for a brush that paints whole regions up to image edges.

The regions are watershed superpixels: markers on a regular grid grown over the image's
colours (cv2.watershed), so region borders sit on colour edges. OpenCV's SLIC/SEEDS live in
opencv-contrib (cv2.ximgproc), which the headless main package does not ship, and
scikit-image's SLIC/felzenszwalb would add a dependency for what cv2.watershed already does.
They are computed lazily in tiles, the first time a brush comes near: a 48-Mpx image costs
nothing when it opens and ~5 ms a tile where it is painted (region borders also fall on
tile borders).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from segstudio.core.editing import capsule

Box = tuple[int, int, int, int]          # (y0, x0, y1, x1)
Point = tuple[float, float]


def superpixels(image: np.ndarray, step: int) -> np.ndarray:
    """(H, W) int32 region ids 1..N of one image or tile: a grid of markers `step` apart."""
    h, w = image.shape[:2]
    markers = np.zeros((h, w), np.int32)
    ys = np.arange(min(step // 2, h - 1), h, step)
    xs = np.arange(min(step // 2, w - 1), w, step)
    markers[np.ix_(ys, xs)] = np.arange(1, ys.size * xs.size + 1).reshape(ys.size, xs.size)
    lab = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2Lab)
    cv2.watershed(lab, markers)
    # Watershed marks the borders -1: give each the largest neighbouring id (exact in float32
    # below 2**24), so every pixel belongs to a region.
    border = markers < 0
    if border.any():
        grown = cv2.dilate(np.maximum(markers, 0).astype(np.float32), np.ones((3, 3), np.uint8))
        markers[border] = grown[border].astype(np.int32)
        markers[markers <= 0] = 1
    return markers


class RegionMap:
    """Regions of one image, `step` pixels apart on average, computed tile by tile and kept
    per tile (a whole-image id map would be 192 MB on a 48-Mpx image)."""

    def __init__(self, image: np.ndarray, *, step: int = 10, tile: int = 256) -> None:
        self.image = image
        self.step = step
        self.tile = tile
        self.shape = image.shape[:2]
        self._tiles: dict[tuple[int, int], np.ndarray] = {}

    def labels(self, box: Box) -> np.ndarray:
        """Region ids (int32, unique over the image) of `box`, computing missing tiles."""
        y0, x0, y1, x1 = box
        t = self.tile
        cols = math.ceil(self.shape[1] / t)
        out = np.empty((y1 - y0, x1 - x0), np.int32)
        for ty in range(y0 // t, (y1 - 1) // t + 1):
            for tx in range(x0 // t, (x1 - 1) // t + 1):
                ids = self._tiles.get((ty, tx))
                if ids is None:
                    ids = superpixels(self.image[ty * t : (ty + 1) * t, tx * t : (tx + 1) * t],
                                      self.step)
                    ids += (ty * cols + tx) * 65536     # the tile's index in the high bits
                    self._tiles[(ty, tx)] = ids
                ay0, ax0 = max(y0, ty * t), max(x0, tx * t)
                ay1, ax1 = min(y1, ty * t + ids.shape[0]), min(x1, tx * t + ids.shape[1])
                out[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = \
                    ids[ay0 - ty * t : ay1 - ty * t, ax0 - tx * t : ax1 - tx * t]
        return out

    def brush(self, p0: Point, p1: Point, radius: float) -> tuple[Box, np.ndarray] | None:
        """The regions a round brush swept from p0 to p1 paints: each region it covers at
        least half of, and the regions under its centre line, as (box, bool map of box)."""
        h, w = self.shape
        hit = capsule((h, w), p0, p1, radius)
        if hit is None:
            return None
        (cy0, cx0, cy1, cx1), covered = hit
        # Regions reach past the brush: look 3 steps further to see all of each one.
        m = 3 * self.step
        box = (max(0, cy0 - m), max(0, cx0 - m), min(h, cy1 + m), min(w, cx1 + m))
        y0, x0 = box[0], box[1]
        labels = self.labels(box)
        under = labels[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0][covered]
        ids, counts = np.unique(under, return_counts=True)
        all_ids, totals = np.unique(labels, return_counts=True)
        total = dict(zip(all_ids.tolist(), totals.tolist(), strict=True))
        keep = [i for i, c in zip(ids.tolist(), counts.tolist(), strict=True)
                if 2 * c >= total[i]]
        line = capsule((h, w), p0, p1, 0.0)
        if line is not None:
            (ly0, lx0, ly1, lx1), lmask = line
            keep += np.unique(labels[ly0 - y0 : ly1 - y0, lx0 - x0 : lx1 - x0][lmask]).tolist()
        return box, np.isin(labels, np.asarray(keep, np.int32))
