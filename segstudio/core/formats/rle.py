"""COCO run-length encoding in numpy, bit-compatible with pycocotools (which the tests use to
check it): runs over the mask in column-major order starting with a run of zeros, and the
compressed `counts` string (LEB128-like, 5 bits per char, offset 48, each count after the
second stored as a difference to the count two before).

Polygons are rasterised the way pycocotools' `rleFrPoly` does (5x upsampled boundary, pixel
(x, y) covering [x, x+1) x [y, y+1)), so a COCO file's polygons import to the masks every
COCO tool sees.

Hostile files (docs/robustness.md, "COCO"): every count is checked to lie in 0..h*w before any
sum (int64 sums of huge counts wrap, and numpy's `repeat` then crashed the process); strings
and boundaries are decoded in chunks of `CHUNK` straight into a toggle array of the mask, so
memory stays at about 3 bytes per pixel plus one chunk whatever the input's length; polygon
vertices far outside the image are clipped first, and a boundary longer than any set of pixel
regions can have is refused before it is sampled.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

CHUNK = 1 << 20          # characters / counts / boundary samples handled per step
MAX_NUMBER_CHARS = 7     # a count (or difference of two uint32 counts) never needs more
SCALE = 5.0              # rleFrPoly's upsampling


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


class _Toggles:
    """A column-major mask built from the positions where it flips (a run boundary, a polygon
    crossing): two flips at one position cancel, as pycocotools merges an empty run."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w, self.n = h, w, h * w
        self.flips = np.zeros(self.n + 1, np.uint8)

    def add(self, positions: np.ndarray) -> None:
        np.bitwise_xor.at(self.flips, positions, 1)

    def mask(self) -> np.ndarray:
        flat = np.bitwise_xor.accumulate(self.flips[: self.n]).view(bool)
        return np.ascontiguousarray(flat.reshape(self.w, self.h).T)


def _check_counts(counts, h: int, w: int) -> np.ndarray:
    """Uncompressed counts as int64, each 0..h*w, no more of them than h*w runs can need."""
    n = h * w
    try:
        arr = np.asarray(counts)
    except (OverflowError, ValueError, TypeError):
        raise RleError("counts must be a list of whole numbers") from None
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise RleError("counts must be a list of whole numbers")
    if arr.size > 2 * n + 2:
        raise RleError(f"{arr.size} runs for a mask of {n} pixels")
    if arr.size and (arr.min() < 0 or arr.max() > n):
        raise RleError(f"a run length outside 0..{n} (the mask's pixels)")
    return arr.astype(np.int64)


def _fill(toggles: _Toggles, chunks: Iterator[np.ndarray]) -> np.ndarray:
    """The mask of run lengths given in chunks (each count already within 0..h*w)."""
    pos = 0
    for counts in chunks:
        ends = np.cumsum(counts, dtype=np.int64) + pos   # each <= h*w: no wrap in 2**63
        if ends.size:
            if ends[-1] > toggles.n:
                raise RleError(f"runs cover more than the mask's {toggles.h}x{toggles.w}="
                               f"{toggles.n} pixels")
            toggles.add(ends)
            pos = int(ends[-1])
    if pos != toggles.n:
        raise RleError(f"runs cover {pos} pixels, the mask has {toggles.h}x{toggles.w}="
                       f"{toggles.n}")
    return toggles.mask()


def decode(counts: Sequence[int] | np.ndarray, h: int, w: int) -> np.ndarray:
    """Run lengths -> (H, W) bool. RleError for counts that are not h*w pixels of runs."""
    arr = _check_counts(counts, h, w)
    return _fill(_Toggles(h, w), (arr[i:i + CHUNK] for i in range(0, arr.size, CHUNK)))


def decode_string(s: str | bytes, h: int, w: int) -> np.ndarray:
    """The compressed counts string of an h x w mask -> (H, W) bool, in bounded memory."""
    data = _ascii(s)
    if len(data) > MAX_NUMBER_CHARS * (2 * h * w + 2):
        raise RleError(f"a counts string of {len(data):,} characters for a mask of "
                       f"{h * w:,} pixels")
    return _fill(_Toggles(h, w), _string_counts(data, h * w))


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


def _ascii(s: str | bytes) -> bytes:
    if isinstance(s, str):
        try:
            return s.encode("ascii")
        except UnicodeEncodeError:
            raise RleError("a counts string holds only characters '0' to 'o'") from None
    return bytes(s)


def _string_counts(data: bytes, limit: int | None = None) -> Iterator[np.ndarray]:
    """Counts (uint32, as C stores them) of a compressed string, CHUNK characters at a time.
    With `limit`, a count above it is refused (it cannot be a run of the mask)."""
    start, index = 0, 0
    prev = np.zeros(2, np.uint64)          # the last count of each parity (the delta's base)
    while start < len(data):
        end = min(start + CHUNK, len(data))
        c = np.frombuffer(data, np.uint8, end - start, start).astype(np.int64) - 48
        if c.size and (c.min() < 0 or c.max() >= 64):
            raise RleError("a counts string holds only characters '0' to 'o'")
        stops = np.flatnonzero((c & 0x20) == 0)
        if stops.size == 0:
            raise RleError("counts string ends inside a number" if end == len(data)
                           else "a number in the counts string is too long")
        c = c[: stops[-1] + 1]                  # whole numbers only; the rest is next chunk's
        firsts = np.concatenate(([0], stops[:-1] + 1))
        lengths = stops - firsts + 1
        if lengths.max() > MAX_NUMBER_CHARS:
            raise RleError("a number in the counts string is too long")
        k = np.arange(c.size) - np.repeat(firsts, lengths)
        x = np.add.reduceat((c & 0x1F) << (5 * k), firsts)
        negative = (c[stops] & 0x10) != 0
        x[negative] -= np.int64(1) << (5 * lengths[negative])   # C's sign extension
        counts = x.astype(np.uint64) & 0xFFFFFFFF
        g = index + np.arange(x.size)
        for parity, first in ((0, 2), (1, 1)):
            # count m (m > 2) = its number + count m-2, modulo 2**32 as C's uint does.
            sel = np.flatnonzero((g % 2 == parity) & (g >= first))
            if sel.size:
                counts[sel] = (np.cumsum(counts[sel]) + prev[parity]) & 0xFFFFFFFF
                prev[parity] = counts[sel[-1]]
        if limit is not None and counts.size and int(counts.max()) > limit:
            raise RleError(f"a run length over the mask's {limit} pixels")
        index += x.size
        start += c.size
        yield counts.astype(np.int64)


def from_string(s: str | bytes) -> np.ndarray:
    """The compressed counts string -> run lengths (uint32)."""
    parts = list(_string_counts(_ascii(s)))
    return np.concatenate(parts).astype(np.uint32) if parts else np.zeros(0, np.uint32)


def area(counts: Sequence[int] | np.ndarray) -> int:
    return int(np.asarray(counts, np.int64)[1::2].sum())


def bbox(mask: np.ndarray) -> list[float]:
    """[x, y, width, height] of the foreground, as pycocotools' toBbox (zeros when empty)."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs[0]), float(ys[0]), float(xs[-1] - xs[0] + 1), float(ys[-1] - ys[0] + 1)]


# ----- polygons -------------------------------------------------------------------------------
MAX_COORD = 1e15         # beyond it float64 cannot tell pixels apart: not a position


def _margin(h: int, w: int) -> int:
    """Vertices further than this outside the image are clipped: far enough that no real
    annotation (a few pixels over the border) is touched, so those keep pycocotools' exact
    rasterisation."""
    return max(h, w) + 64


def max_boundary(h: int, w: int) -> int:
    """The longest polygon boundary (pixels, summed over its edges) accepted on an h x w
    image: more than the edges of every pixel plus the clip rectangle's perimeter, which no
    real region set exceeds. It bounds the boundary samples (5 per pixel of length)."""
    m = _margin(h, w)
    return 4 * h * w + 8 * (h + w + 4 * m)


def clip_polygon(pts: np.ndarray, lo: tuple[float, float], hi: tuple[float, float]) -> np.ndarray:
    """Sutherland-Hodgman: the polygon cut to the rectangle lo..hi (a convex window, so the
    result is the intersection; inside the image its edges are the original lines)."""
    out = [tuple(p) for p in pts.tolist()]
    for axis in (0, 1):
        for bound, keep_below in ((lo[axis], False), (hi[axis], True)):
            src, out = out, []
            if not src:
                break
            prev = src[-1]
            for cur in src:
                cur_in = cur[axis] <= bound if keep_below else cur[axis] >= bound
                prev_in = prev[axis] <= bound if keep_below else prev[axis] >= bound
                if cur_in != prev_in:
                    t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                    cross = [prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])]
                    cross[axis] = bound
                    out.append(tuple(cross))
                if cur_in:
                    out.append(cur)
                prev = cur
    return np.asarray(out, np.float64).reshape(-1, 2)


def clip_segment(a: tuple[float, float], b: tuple[float, float], lo: tuple[float, float],
                 hi: tuple[float, float]) -> list[tuple[float, float]] | None:
    """Liang-Barsky: the part of segment a-b inside the rectangle lo..hi, or None."""
    t0, t1 = 0.0, 1.0
    d = (b[0] - a[0], b[1] - a[1])
    for axis in (0, 1):
        for p, q in ((-d[axis], a[axis] - lo[axis]), (d[axis], hi[axis] - a[axis])):
            if p == 0:
                if q < 0:
                    return None
                continue
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    if t0 > t1:
        return None
    return [(a[0] + t0 * d[0], a[1] + t0 * d[1]), (a[0] + t1 * d[0], a[1] + t1 * d[1])]


def _trunc(values: np.ndarray) -> np.ndarray:
    return np.trunc(values).astype(np.int64)  # C's (int) cast rounds toward zero


def _vertices(xy: Sequence[float], h: int, w: int) -> np.ndarray:
    """Checked, clipped (K, 2) vertices of a flat [x0, y0, x1, y1, ...] list."""
    pts = np.asarray(xy, np.float64)
    if pts.ndim != 1 or pts.size % 2:
        raise RleError("a polygon needs an even number of coordinates")
    if not np.isfinite(pts).all():
        raise RleError("a polygon coordinate is not a finite number")
    if pts.size and np.abs(pts).max() > MAX_COORD:
        raise RleError(f"a polygon coordinate beyond ±{MAX_COORD:g} (the image is {w}x{h})")
    pts = pts.reshape(-1, 2)
    m = _margin(h, w)
    lo, hi = (-m, -m), (w + m, h + m)
    if pts.size and ((pts < lo).any() or (pts > hi).any()):
        pts = clip_polygon(pts, lo, hi)
    return pts


def _edges(x: np.ndarray, y: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """rleFrPoly's samples of each edge of the closed, upsampled polygon."""
    for j in range(len(x) - 1):
        xs, xe, ys, ye = int(x[j]), int(x[j + 1]), int(y[j]), int(y[j + 1])
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx == 0 and dy == 0:
            # A repeated vertex: one sample whose column equals its neighbours', so it never
            # makes a crossing (C computes 0/0 here and the value is never used).
            yield np.asarray([xs]), np.asarray([ys])
        elif dx >= dy:
            s = (ye - ys) / dx
            d = np.arange(dx + 1)
            t = dx - d if flip else d
            yield t + xs, _trunc(ys + s * t + 0.5)
        else:
            s = (xe - xs) / dy
            d = np.arange(dy + 1)
            t = dy - d if flip else d
            yield _trunc(xs + s * t + 0.5), t + ys


def _add_crossings(u: np.ndarray, v: np.ndarray, toggles: _Toggles) -> None:
    """Where consecutive samples cross a pixel column centre, downsampled: each flips the
    column from there down."""
    h, w = toggles.h, toggles.w
    j = np.flatnonzero(u[1:] != u[:-1]) + 1
    uj, up = u[j], u[j - 1]
    xd = np.where(uj < up, uj, uj - 1).astype(np.float64)
    xd = (xd + 0.5) / SCALE - 0.5
    keep = (np.floor(xd) == xd) & (xd >= 0) & (xd <= w - 1)
    yd = np.minimum(v[j], v[j - 1]).astype(np.float64)
    yd = (yd + 0.5) / SCALE - 0.5
    yd = np.ceil(np.clip(yd, 0, h))
    toggles.add(xd[keep].astype(np.int64) * h + yd[keep].astype(np.int64))


def polygon_mask(xy: Sequence[float], h: int, w: int) -> np.ndarray:
    """(H, W) bool of one polygon [x0, y0, x1, y1, ...] as pycocotools' rleFrPoly draws it:
    the boundary is sampled at 5x and each crossing of a pixel column centre toggles the mask
    from there down. Sampled CHUNK samples at a time (memory: the mask plus one chunk)."""
    pts = _vertices(xy, h, w)
    toggles = _Toggles(h, w)
    if len(pts) == 0:
        return toggles.mask()
    x = _trunc(SCALE * pts[:, 0] + 0.5)
    y = _trunc(SCALE * pts[:, 1] + 0.5)
    x, y = np.append(x, x[0]), np.append(y, y[0])
    length = int(np.maximum(np.abs(np.diff(x)), np.abs(np.diff(y))).sum()) / SCALE
    if length > max_boundary(h, w):
        raise RleError(f"a polygon boundary of {length:,.0f} px: longer than any regions of a "
                       f"{w}x{h} image can have ({max_boundary(h, w):,} px)")
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    buffered = 0
    for eu, ev in _edges(x, y):
        us.append(eu)
        vs.append(ev)
        buffered += eu.size
        if buffered >= CHUNK:
            _add_crossings(np.concatenate(us), np.concatenate(vs), toggles)
            us, vs, buffered = [us[-1][-1:]], [vs[-1][-1:]], 1   # the next pair starts here
    if buffered > 1:
        _add_crossings(np.concatenate(us), np.concatenate(vs), toggles)
    return toggles.mask()


def polygons_to_mask(polygons: Sequence[Sequence[float]], h: int, w: int) -> np.ndarray:
    """Union of COCO polygons, as pycocotools' annToMask gives it. A first polygon of exactly
    four numbers is a box [x, y, w, h], as pycocotools reads it."""
    mask = np.zeros((h, w), bool)
    if polygons and len(polygons[0]) == 4:
        for box in polygons:
            bx, by, bw, bh = (float(v) for v in box)
            if not all(math.isfinite(v) for v in (bx, by, bw, bh)):
                raise RleError(f"a box with a coordinate that is not a finite number: {box}")
            mask |= polygon_mask([bx, by, bx, by + bh, bx + bw, by + bh, bx + bw, by], h, w)
        return mask
    for poly in polygons:
        mask |= polygon_mask(poly, h, w)
    return mask
