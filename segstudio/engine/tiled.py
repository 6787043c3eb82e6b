"""Tiled prediction of images larger than one tile, with memory bounded by one row of tiles.

Tiles overlap by at least `overlap` pixels and are blended with a separable linear window
(engine.tiling), so tile edges, whose context was cut off, barely count where a neighbour
covers them. The accumulator holds one band (classes x tile height x image width); when a row
of tiles is done, the rows no later tile touches are handed to a sink (engine.logit_rows) and
the overlap is moved to the top of the band.

What keeps this close to the network's own cost (`segstudio bench tiles`): the fewest tiles
that fit (`fit_tiles`, sizes a multiple of the network's stride), blending in place
(`addcmul_`), the window's weight sum computed from its two 1-D ramps instead of accumulated,
and reductions in place on finished rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from segstudio.engine.logit_rows import Weights, check
from segstudio.engine.tiling import fit_tiles, ramp


class RowSink(Protocol):
    def put(self, y0: int, logits: torch.Tensor, weights: Weights | None = None) -> None:
        ...


@dataclass(frozen=True)
class TileGrid:
    ys: list[int]
    xs: list[int]
    height: int     # of every tile
    width: int

    @property
    def count(self) -> int:
        return len(self.ys) * len(self.xs)


def tile_grid(height: int, width: int, tile: int, overlap: int, multiple: int = 8) -> TileGrid:
    ys, th = fit_tiles(height, tile, overlap, multiple)
    xs, tw = fit_tiles(width, tile, overlap, multiple)
    return TileGrid(ys, xs, th, tw)


def _coverage(starts: list[int], size: int, length: int, overlap: int) -> torch.Tensor:
    """Sum of the 1-D ramps of all tiles over [0, length): the blended weight's normaliser
    along one axis (the 2-D weight sum is the outer product of the two axes' sums)."""
    total = torch.zeros(length)
    r = ramp(size, overlap)
    for s in starts:
        total[s:s + size] += r
    return total


@torch.inference_mode()
def predict_tiles(forward: Callable[[np.ndarray], torch.Tensor], image: np.ndarray,
                  num_classes: int, grid: TileGrid, overlap: int, sink: RowSink, *,
                  device: torch.device, batch: int = 1,
                  on_tile: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> None:
    """Blend `forward`'s logits of every tile of `image` and feed finished rows to `sink`.

    `forward`: (B, th, tw, 3) uint8 -> (B, classes, th, tw) float32 logits on `device`.
    `batch` tiles of a row go through one forward; `cancel` is checked before each forward
    (raising PredictCancelled) and `on_tile(done, total)` called after each.
    """
    h, w = image.shape[:2]
    th, tw = grid.height, grid.width
    acc = torch.zeros(num_classes, th, w, device=device)
    rows = _coverage(grid.ys, th, h, overlap).to(device)
    cols = _coverage(grid.xs, tw, w, overlap).to(device)
    win = (ramp(th, overlap)[:, None] * ramp(tw, overlap)[None, :]).to(device)
    done_tiles = 0
    for i, y in enumerate(grid.ys):
        for j in range(0, len(grid.xs), max(1, batch)):
            check(cancel)
            xs = grid.xs[j:j + max(1, batch)]
            crops = np.stack([image[y:y + th, x:x + tw] for x in xs])
            logits = forward(crops)
            for k, x in enumerate(xs):
                acc[:, :, x:x + tw].addcmul_(logits[k], win)
            del logits
            done_tiles += len(xs)
            if on_tile is not None:
                on_tile(done_tiles, grid.count)
        # Rows above the next tile row's start receive no more tiles: finished.
        finished = grid.ys[i + 1] - y if i + 1 < len(grid.ys) else th
        sink.put(y, acc[:, :finished], (rows[y:y + finished], cols))
        keep = th - finished
        if keep:
            # The overlap moves to the top of the band (clone: the ranges may overlap).
            acc[:, :keep] = acc[:, finished:].clone() if keep > finished \
                else acc[:, finished:]
        acc[:, keep:].zero_()
