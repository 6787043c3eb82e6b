"""The simulated person of `segstudio bench assist`: clicks each assisted tool on one object
until its mask reaches an IoU target, and counts the vertices a polygon needs for the same.

Region tools follow the RITM protocol (Sofiiuk et al. 2022): the next click goes to the
centre of the largest error region, the point farthest from its border (a distance
transform), positive on a missed part, negative on a spilled one. Contour tools (the
polygon baseline and the intelligent scissors) get the object's outline simplified with
cv2.approxPolyDP at decreasing tolerance; their count is the vertices (anchors) of the first
simplification that reaches the target. Void pixels of the truth count for neither side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from segstudio.assist.grabcut import BoxSegmenter
from segstudio.assist.regions import RegionMap
from segstudio.assist.scissors import Scissors

TARGETS = (0.85, 0.90)
# The largest seed a box click marks: on 76 CamVid val objects a 5 px seed gave NoC@85 8.09,
# a seed fitted to the error up to 10 px 6.96, 20 px 6.63, 60 px 6.59.
SEED_MAX = 20.0


@dataclass
class Trial:
    """One tool on one object: the IoU after each click (clicks[i] = i + 1 actions, or the
    box's two corners for the first entry) and the seconds each click's computation took."""
    ious: list[tuple[int, float]] = field(default_factory=list)   # (clicks, IoU)
    latencies: list[float] = field(default_factory=list)

    def noc(self, target: float, cap: int) -> tuple[int, bool]:
        """Clicks to reach `target` (and True), or `cap` and False (RITM's convention)."""
        for clicks, value in self.ious:
            if value >= target:
                return clicks, True
        return cap, False

    def vertices(self, target: float) -> tuple[int, bool]:
        """A contour tool's count: the vertices of the first simplification that reaches
        `target`, or (an object with holes, which no outline reaches) those of its last try."""
        count, ok = self.noc(target, 0)
        return (count, True) if ok else (self.ious[-1][0], False)


def iou(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    p, g = pred & valid, gt & valid
    union = np.count_nonzero(p | g)
    return np.count_nonzero(p & g) / union if union else 1.0


def next_click(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray
               ) -> tuple[float, float, bool, float] | None:
    """RITM's next click: (x, y, positive, distance to the error's border) at the centre of
    the largest error region; None when nothing is wrong."""
    best = None
    for positive, err in ((True, gt & ~pred & valid), (False, pred & ~gt & valid)):
        if not err.any():
            continue
        # Padded with non-error so the image border counts as the error region's border too.
        dt = cv2.distanceTransform(np.pad(err, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(dt)), dt.shape)
        if best is None or dt[y, x] > best[3]:
            best = (x + 0.5, y + 0.5, positive, float(dt[y, x]))
    return best


def box_trial(image: np.ndarray, gt: np.ndarray, valid: np.ndarray, max_clicks: int,
              stop: float = TARGETS[-1]) -> Trial:
    """GrabCut: a box around the object (two corners, counted as two clicks), then RITM
    clicks as foreground / background seeds, until the IoU reaches `stop`."""
    trial = Trial()
    ys, xs = np.nonzero(gt)
    h, w = gt.shape
    p0 = (max(0.0, xs.min() - 2.0), max(0.0, ys.min() - 2.0))
    p1 = (min(float(w), xs.max() + 3.0), min(float(h), ys.max() + 3.0))
    t0 = time.perf_counter()
    seg = BoxSegmenter(image, p0, p1)
    trial.latencies.append(time.perf_counter() - t0)
    pred = np.zeros_like(gt)
    wy0, wx0, wy1, wx1 = seg.window

    def place(mask: np.ndarray) -> np.ndarray:
        pred[:] = False
        pred[wy0:wy1, wx0:wx1] = mask
        return pred

    place(seg.mask)
    clicks = 2
    trial.ious.append((clicks, iou(pred, gt, valid)))
    while clicks < max_clicks and trial.ious[-1][1] < stop:
        click = next_click(pred, gt, valid)
        if click is None:
            break
        x, y, positive, dist = click
        t0 = time.perf_counter()
        # The seed has the brush's size, which the person fits to the error (as for the
        # region brush; the size keys are not counted), up to SEED_MAX.
        mask = seg.click(x, y, positive, min(max(dist, 1.0), SEED_MAX))
        trial.latencies.append(time.perf_counter() - t0)
        place(mask)
        clicks += 1
        trial.ious.append((clicks, iou(pred, gt, valid)))
    return trial


def regions_trial(regions: RegionMap, gt: np.ndarray, valid: np.ndarray,
                  max_clicks: int) -> Trial:
    """The region brush: each click paints (or, negative, takes away) the regions a brush
    as large as the error region's inscribed circle covers (a person sizes the brush to
    the error, with [ and ]; the size changes are not counted)."""
    trial = Trial()
    pred = np.zeros_like(gt)
    for clicks in range(1, max_clicks + 1):
        click = next_click(pred, gt, valid)
        if click is None:
            break
        x, y, positive, dist = click
        radius = min(max(dist, 1.0), 60.0)
        t0 = time.perf_counter()
        hit = regions.brush((x, y), (x, y), radius)
        trial.latencies.append(time.perf_counter() - t0)
        if hit is not None:
            (y0, x0, y1, x1), m = hit
            pred[y0:y1, x0:x1] = pred[y0:y1, x0:x1] | m if positive else \
                pred[y0:y1, x0:x1] & ~m
        trial.ious.append((clicks, iou(pred, gt, valid)))
        if trial.ious[-1][1] >= TARGETS[-1]:
            break
    return trial


def outline(gt: np.ndarray) -> np.ndarray:
    """The object's outer contour, (N, 2) int (x, y) pixel indices."""
    contours, _ = cv2.findContours(gt.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return max(contours, key=len).reshape(-1, 2)


def simplifications(contour: np.ndarray) -> list[np.ndarray]:
    """approxPolyDP of the contour at decreasing tolerance: each a distinct vertex list."""
    span = float(np.ptp(contour, axis=0).max()) + 1.0
    out: list[np.ndarray] = []
    eps = span / 4
    while eps >= 0.3:
        approx = cv2.approxPolyDP(contour.reshape(-1, 1, 2), eps, True).reshape(-1, 2)
        if len(approx) >= 3 and (not out or len(approx) > len(out[-1])):
            out.append(approx)
        eps *= 0.8
    if not out or len(out[-1]) < len(contour):
        out.append(contour)
    return out


def _fill(shape: tuple[int, int], path: np.ndarray) -> np.ndarray:
    # Integer pixel indices as cv2.fillPoly reads them: what MaskDocument.polygon paints for
    # the same points given as pixel centres (index + 0.5).
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.rint(path).astype(np.int32).reshape(-1, 1, 2)], 1)
    return out > 0


def contour_trial(gt: np.ndarray, valid: np.ndarray, join: ScissorsJoin | None = None,
                  stop: float = TARGETS[-1]) -> Trial:
    """Vertices (anchors) per simplification of the outline, and the IoU of what they fill:
    straight edges (the polygon) or the edges the scissors trace (`join`, which adds the
    anchors a person adds where the live wire strays from the object)."""
    trial = Trial()
    contour = outline(gt)
    if join is not None:
        join.set_outline(contour, gt.shape)
    for vertices in simplifications(contour):
        path, count = (vertices, len(vertices)) if join is None else join(vertices)
        trial.ious.append((count, iou(_fill(gt.shape, path), gt, valid)))
        if trial.ious[-1][1] >= stop:
            break
    return trial


class ScissorsJoin:
    """Joins anchors with intelligent-scissors paths. Where a path strays more than `stray`
    pixels from the object's outline, the simulated person (who sees the live wire before
    clicking) adds an anchor on the outline half-way, as often as needed. Paths are kept per
    pair of anchors: simplifications at smaller tolerance mostly keep the earlier vertices."""

    def __init__(self, image: np.ndarray, latencies: list[float], stray: float = 2.0) -> None:
        self.scissors = Scissors(image)
        self.latencies = latencies
        self.stray = stray
        self._paths: dict[tuple[int, int], np.ndarray] = {}
        self._source: int | None = None
        self._contour = np.empty((0, 2), np.int32)
        self._dist = np.zeros((1, 1), np.float32)

    def set_outline(self, contour: np.ndarray, shape: tuple[int, int]) -> None:
        self._contour = contour
        self._index = {(int(x), int(y)): i for i, (x, y) in enumerate(contour)}
        line = np.full(shape, 255, np.uint8)
        line[contour[:, 1], contour[:, 0]] = 0
        self._dist = cv2.distanceTransform(line, cv2.DIST_L2, 3)
        self._paths.clear()
        self._source = None

    def _path(self, a: int, b: int) -> np.ndarray:
        path = self._paths.get((a, b))
        if path is None:
            t0 = time.perf_counter()
            if self._source != a:
                self.scissors.anchor(tuple(self._contour[a] + 0.5))
                self._source = a
            path = self.scissors.path(tuple(self._contour[b] + 0.5)) - 0.5
            self.latencies.append(time.perf_counter() - t0)
            self._paths[(a, b)] = path
        return path

    def _span(self, a: int, b: int, depth: int = 0) -> tuple[list[np.ndarray], int]:
        """Path from anchor a to anchor b (contour indices) and the anchors it took past a."""
        path = self._path(a, b)
        ij = np.clip(np.rint(path).astype(np.int64), 0, np.array(self._dist.shape[::-1]) - 1)
        n = len(self._contour)
        gap = (b - a) % n
        if depth < 8 and gap > 1 and float(self._dist[ij[:, 1], ij[:, 0]].max()) > self.stray:
            mid = (a + gap // 2) % n
            first, k1 = self._span(a, mid, depth + 1)
            second, k2 = self._span(mid, b, depth + 1)
            return first + second, k1 + k2
        return [path], 1

    def __call__(self, vertices: np.ndarray) -> tuple[np.ndarray, int]:
        idx = [self._index[(int(x), int(y))] for x, y in vertices]
        parts: list[np.ndarray] = []
        anchors = 0
        for a, b in zip(idx, idx[1:] + idx[:1], strict=True):
            spans, k = self._span(a, b)
            parts += spans
            anchors += k
        return np.concatenate(parts), anchors
