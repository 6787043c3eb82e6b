"""Overlapping-tile geometry and blending windows for predicting images of any size."""

from __future__ import annotations

import math

import torch


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering [0, length) with tiles of `tile` overlapping by >= `overlap`.

    The last tile is aligned to the far edge rather than padded, so every tile is full-size
    real image (no padding artefacts) and overlaps its neighbour by at least `overlap`.
    """
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def ramp(length: int, overlap: int) -> torch.Tensor:
    """1-D blending weights: rising linearly from ~0 over `overlap` pixels at each end, 1 in
    the middle, so a tile's edge pixels (whose context was cut off) barely count where a
    neighbour covers them.

    Never exactly zero, so pixels at the image border (covered by one tile only) keep a valid
    weight once the blended sum is divided by the weight sum.
    """
    i = torch.arange(length, dtype=torch.float32)
    edge = torch.minimum(i, length - 1 - i)
    return (edge / max(overlap, 1)).clamp_(min=1e-3, max=1.0)


def window(height: int, width: int, overlap: int) -> torch.Tensor:
    """(H, W) separable linear window."""
    return ramp(height, overlap)[:, None] * ramp(width, overlap)[None, :]


def fit_tiles(length: int, tile: int, overlap: int, multiple: int = 1) -> tuple[list[int], int]:
    """(starts, size): the fewest tiles of at most `tile` covering [0, length) with neighbours
    overlapping by at least `overlap`, each shrunk to just fit, evenly spaced.

    `tile_starts` keeps the full tile size and pushes the last tile back to the far edge,
    which for 8000 px in 1024 tiles computes 15% more pixels than the image has; here the
    excess is the overlap alone. `multiple` rounds the size up (to the network's stride, so
    it pads nothing) as long as that stays within `tile`.
    """
    if length <= tile:
        return [0], length
    step = max(1, tile - overlap)
    n = math.ceil((length - overlap) / step)
    size = math.ceil((length + (n - 1) * overlap) / n)
    size = min(tile, length, -(-size // multiple) * multiple)
    # Evenly spaced, first at 0 and last flush with the far edge; flooring keeps every gap
    # (size - stride) at least the overlap the size was computed for.
    starts = [(i * (length - size)) // (n - 1) for i in range(n)]
    return starts, size
