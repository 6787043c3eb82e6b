"""The loop's own prediction as a prompt: one click on a wrongly predicted region re-labels
the object under the click, not the whole connected region that fill takes.

The region under the click (4-connected, as `MaskDocument.fill` takes it) is where the
network put one label. Inside it, the object is either SAM's mask for the click (when SAM
has encoded the image) or, with no weights, the pixels of similar colour connected to the
click: a car the network merged into the road is the part of the road region that
looks like the car. Either way nothing outside the predicted region changes.

numpy + OpenCV only: SAM's mask is given by the caller.
"""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]          # (y0, x0, y1, x1)
TOLERANCE = 14.0    # per Lab channel (OpenCV's 8-bit scale), from the clicked colour


def component(mask: np.ndarray, x: int, y: int) -> tuple[Box, np.ndarray] | None:
    """The 4-connected region of mask's value at (x, y): (box, bool map of the box)."""
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h):
        return None
    region = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(np.ascontiguousarray(mask), region, (x, y), 0,
                                              0, 0, flags)
    return (ry, rx, ry + rh, rx + rw), region[1 + ry : 1 + ry + rh, 1 + rx : 1 + rx + rw] > 0


def grow(image: np.ndarray, box: Box, inside: np.ndarray, x: int, y: int,
         tolerance: float = TOLERANCE) -> np.ndarray:
    """The pixels of `inside` (a bool map of `box`) connected to (x, y) through colours
    within `tolerance` of the clicked one (Lab, after a 5x5 median that takes JPEG noise
    away); its small holes closed. Watershed superpixels were tried first: on flat colours
    their leftover pixels form one region spread over the image, which joined everything."""
    y0, x0, y1, x1 = box
    crop = cv2.medianBlur(np.ascontiguousarray(image[y0:y1, x0:x1, :3]), 5)
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2Lab)
    h, w = inside.shape
    barrier = np.ones((h + 2, w + 2), np.uint8)           # floodFill fills where this is 0
    barrier[1:-1, 1:-1] = ~inside
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (2 << 8)
    t = (tolerance,) * 3
    cv2.floodFill(lab, barrier, (x - x0, y - y0), 0, t, t, flags)
    got = barrier[1:-1, 1:-1] == 2
    closed = cv2.morphologyEx(got.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return (closed > 0) & inside


def object_fill(image: np.ndarray, mask: np.ndarray, x: float, y: float, *,
                sam_mask: np.ndarray | None = None,
                tolerance: float = TOLERANCE) -> tuple[Box, np.ndarray, str] | None:
    """The object under (x, y) within its predicted region: (box, bool map of box, "sam" or
    "colour"). SAM's mask (H, W) is used when given and it holds the clicked pixel."""
    xi, yi = int(x), int(y)
    hit = component(mask, xi, yi)
    if hit is None:
        return None
    box, inside = hit
    y0, x0, y1, x1 = box
    if sam_mask is not None and sam_mask[yi, xi]:
        return box, sam_mask[y0:y1, x0:x1] & inside, "sam"
    return box, grow(image, box, inside, xi, yi, tolerance), "colour"
