"""COCO run-length encoding in numpy, bit-compatible with pycocotools (which the tests use to
check it): runs over the mask in column-major order starting with a run of zeros, and the
compressed `counts` string (LEB128-like, 5 bits per char, offset 48, each count after the
second stored as a difference to the count two before).

Polygons are rasterised the way pycocotools' `rleFrPoly` does (5x upsampled boundary, pixel
(x, y) covering [x, x+1) x [y, y+1)), so a COCO file's polygons import to the masks every
COCO tool sees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class RleError(ValueError):
    """Counts that do not describe an h x w mask."""


def encode(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> run lengths (uint32), column-major, first run of zeros."""
    flat = np.asarray(mask, bool).T.ravel()
    n = flat.size
    if n == 0:
        return np.zeros(1, np.uint32)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate(([0], change, [n])))
    if flat[0]:
        counts = np.concatenate(([0], counts))
    return counts.astype(np.uint32)


def decode(counts: Sequence[int] | np.ndarray, h: int, w: int) -> np.ndarray:
    """Run lengths -> (H, W) bool."""
    counts = np.asarray(counts, np.int64)
    if counts.size and counts.min() < 0:
        raise RleError("negative run length")
    if int(counts.sum()) != h * w:
        raise RleError(f"runs cover {int(counts.sum())} pixels, the mask has {h}x{w}={h * w}")
    values = (np.arange(counts.size) % 2).astype(bool)
    return np.repeat(values, counts).reshape(w, h).T.copy()


def to_string(counts: Sequence[int] | np.ndarray) -> str:
    """Run lengths -> the compressed counts string pycocotools writes."""
    cnts = np.asarray(counts, np.int64)
    x = cnts.copy()
    x[3:] -= cnts[1:-2]  # each count after the third stored relative to the one two before
    out: list[str] = []
    for v in x.tolist():
        more = True
        while more:
            c = v & 0x1F
            v >>= 5  # arithmetic shift, as in C for negative differences
            more = v != -1 if c & 0x10 else v != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def from_string(s: str | bytes) -> np.ndarray:
    """The compressed counts string -> run lengths (uint32)."""
    if isinstance(s, bytes):
        s = s.decode("ascii")
    cnts: list[int] = []
    p, n = 0, len(s)
    while p < n:
        x = k = 0
        more = True
        while more:
            if p >= n:
                raise RleError("counts string ends inside a number")
            c = ord(s[p]) - 48
            if not 0 <= c < 64:
                raise RleError(f"character {s[p]!r} is not part of a counts string")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(cnts) > 2:
            x += cnts[-2]
        cnts.append(x & 0xFFFFFFFF)  # C stores it in a uint
    return np.asarray(cnts, np.uint32)


def area(counts: Sequence[int] | np.ndarray) -> int:
    return int(np.asarray(counts, np.int64)[1::2].sum())


def bbox(mask: np.ndarray) -> list[float]:
    """[x, y, width, height] of the foreground, as pycocotools' toBbox (zeros when empty)."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs[0]), float(ys[0]), float(xs[-1] - xs[0] + 1), float(ys[-1] - ys[0] + 1)]


def _trunc(values: np.ndarray) -> np.ndarray:
    return np.trunc(values).astype(np.int64)  # C's (int) cast rounds toward zero


def poly_counts(xy: Sequence[float], h: int, w: int) -> np.ndarray:
    """Run lengths of one polygon [x0, y0, x1, y1, ...] as pycocotools' rleFrPoly computes
    them: the boundary is sampled densely at 5x, and each crossing of a pixel column centre
    toggles the mask from there down."""
    scale = 5.0
    pts = np.asarray(xy, np.float64).reshape(-1, 2)
    k = len(pts)
    if k == 0:
        return np.asarray([h * w], np.uint32)
    x = _trunc(scale * pts[:, 0] + 0.5)
    y = _trunc(scale * pts[:, 1] + 0.5)
    x = np.append(x, x[0])
    y = np.append(y, y[0])
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    for j in range(k):
        xs, xe, ys, ye = int(x[j]), int(x[j + 1]), int(y[j]), int(y[j + 1])
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx == 0 and dy == 0:
            # A repeated vertex: one sample whose column equals its neighbours', so it never
            # makes a crossing (C computes 0/0 here and the value is never used).
            us.append(np.asarray([xs]))
            vs.append(np.asarray([ys]))
            continue
        if dx >= dy:
            s = (ye - ys) / dx
            d = np.arange(dx + 1)
            t = dx - d if flip else d
            us.append(t + xs)
            vs.append(_trunc(ys + s * t + 0.5))
        else:
            s = (xe - xs) / dy
            d = np.arange(dy + 1)
            t = dy - d if flip else d
            vs.append(t + ys)
            us.append(_trunc(xs + s * t + 0.5))
    u = np.concatenate(us)
    v = np.concatenate(vs)
    # Points where the sampled boundary crosses a pixel column centre, downsampled.
    j = np.flatnonzero(u[1:] != u[:-1]) + 1
    uj, up = u[j], u[j - 1]
    xd = np.where(uj < up, uj, uj - 1).astype(np.float64)
    xd = (xd + 0.5) / scale - 0.5
    keep = (np.floor(xd) == xd) & (xd >= 0) & (xd <= w - 1)
    yd = np.minimum(v[j], v[j - 1]).astype(np.float64)
    yd = (yd + 0.5) / scale - 0.5
    yd = np.ceil(np.clip(yd, 0, h))
    xs_, ys_ = xd[keep].astype(np.int64), yd[keep].astype(np.int64)
    a = np.sort(np.concatenate((xs_ * h + ys_, [h * w])))
    a = np.diff(a, prepend=0)
    # Two crossings at the same pixel cancel: drop the empty run, join its neighbours.
    b: list[int] = [int(a[0])]
    i, n = 1, len(a)
    while i < n:
        if a[i] > 0:
            b.append(int(a[i]))
            i += 1
        else:
            i += 1
            if i < n:
                b[-1] += int(a[i])
                i += 1
    return np.asarray(b, np.uint32)


def polygons_to_mask(polygons: Sequence[Sequence[float]], h: int, w: int) -> np.ndarray:
    """Union of COCO polygons, as pycocotools' annToMask gives it. A first polygon of exactly
    four numbers is a box [x, y, w, h], as pycocotools reads it."""
    mask = np.zeros((h, w), bool)
    if polygons and len(polygons[0]) == 4:
        for bx, by, bw, bh in (tuple(p) for p in polygons):
            box = [bx, by, bx, by + bh, bx + bw, by + bh, bx + bw, by]
            mask |= decode(poly_counts(box, h, w), h, w)
        return mask
    for poly in polygons:
        if len(poly) % 2 or not all(math.isfinite(float(v)) for v in poly):
            raise RleError("a polygon needs an even number of finite coordinates")
        mask |= decode(poly_counts(poly, h, w), h, w)
    return mask
