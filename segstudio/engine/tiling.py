"""Overlapping-tile geometry and blending windows for predicting images of any size."""

from __future__ import annotations

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
