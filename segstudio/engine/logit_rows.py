"""Logits -> labels and confidence, a band of rows at a time, optionally upsampled first.

Prediction produces logits row band by row band (whole for small images, finished tile rows
for tiled ones); a sink takes each band, so no full-size (classes x H x W) tensor ever exists:
an 8000x6000 image with 11 classes would need 2.1 GB for one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

Weights = tuple[torch.Tensor, torch.Tensor]   # separable blending weights: rows (n,), cols (W,)
REDUCE_ROWS = 64   # output rows per reduction: temporaries of classes x 64 x W floats


class PredictCancelled(Exception):
    """Raised inside Predictor.predict when its `cancel` flag is set (not an error: the user
    asked for it); predict_paths catches it and ends."""


def check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise PredictCancelled


class LabelRows:
    """Reduces bands of logits (classes, n, W) into preallocated labels (H, W) uint8 and
    confidence (H, W) float32 (max softmax), in place: argmax, then 1 / sum(exp(l - max)),
    which is the max softmax without the softmax's (classes, n, W) temporaries."""

    def __init__(self, height: int, width: int, cancel: Callable[[], bool] | None = None) -> None:
        self.labels = np.empty((height, width), np.uint8)
        self.confidence = np.empty((height, width), np.float32)
        self._labels = torch.from_numpy(self.labels)
        self._conf = torch.from_numpy(self.confidence)
        self.cancel = cancel

    @torch.inference_mode()
    def put(self, y0: int, logits: torch.Tensor, weights: Weights | None = None) -> None:
        """Rows [y0, y0 + n) from `logits` (classes, n, W), divided by the blending weights
        `rows[:, None] * cols` when given (tiles). `logits` is overwritten: callers pass
        finished rows only."""
        for r in range(0, logits.shape[1], REDUCE_ROWS):
            check(self.cancel)
            r1 = min(logits.shape[1], r + REDUCE_ROWS)
            band = logits[:, r:r1]
            peak, index = band.max(0)
            band.sub_(peak)
            if weights is not None:
                band.div_(weights[0][r:r1, None] * weights[1])
            total = band.exp_().sum(0)
            self._labels[y0 + r:y0 + r1].copy_(index)
            self._conf[y0 + r:y0 + r1].copy_(total.reciprocal_())


@torch.inference_mode()
def reduce_logits(logits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(N, classes, H, W) logits -> labels (N, H, W) uint8, confidence (N, H, W) float32."""
    n, _, h, w = logits.shape
    labels = np.empty((n, h, w), np.uint8)
    conf = np.empty((n, h, w), np.float32)
    for i in range(n):
        sink = LabelRows(h, w)
        sink.put(0, logits[i])
        labels[i], conf[i] = sink.labels, sink.confidence
    return labels, conf


class UpsampledRows:
    """Bilinear upsampling (as F.interpolate(..., "bilinear", align_corners=False)) of logits
    arriving in bands of source rows, passed on to `sink` in bands of output rows as soon as
    the source rows they blend are in; only those rows are kept. Upsampling logits rather than
    labels keeps class boundaries smooth and sub-pixel, and confidence meaningful."""

    def __init__(self, source_hw: tuple[int, int], out_hw: tuple[int, int], sink: LabelRows,
                 cancel: Callable[[], bool] | None = None) -> None:
        (self.hs, self.ws), (self.ho, self.wo) = source_hw, out_hw
        self.sink, self.cancel = sink, cancel
        pos = ((torch.arange(self.ho, dtype=torch.float64) + 0.5) * (self.hs / self.ho) - 0.5)
        pos = pos.clamp_(min=0)
        self._i0 = pos.floor().long().clamp_(max=self.hs - 1)
        self._i1 = (self._i0 + 1).clamp_(max=self.hs - 1)
        self._frac = (pos - self._i0).float()
        self._rows: torch.Tensor | None = None   # kept source rows [self._top, self._end)
        self._top = self._end = 0
        self._next = 0                           # first output row not yet passed on

    @torch.inference_mode()
    def put(self, y0: int, logits: torch.Tensor, weights: Weights | None = None) -> None:
        if y0 != self._end:
            raise ValueError(f"rows must arrive in order: got {y0}, expected {self._end}")
        band = logits / (weights[0][:, None] * weights[1]) if weights is not None \
            else logits.clone()
        if self._rows is None or self._rows.shape[1] == 0:
            self._rows, self._top = band, y0
        else:
            self._rows = torch.cat([self._rows, band], 1)
        self._end = y0 + band.shape[1]
        # Output rows whose lower source row has arrived (all of them at the last band).
        ready = self.ho if self._end >= self.hs else \
            int(torch.searchsorted(self._i1, self._end - 1, right=True))
        for r in range(self._next, ready, REDUCE_ROWS):
            check(self.cancel)
            r1 = min(ready, r + REDUCE_ROWS)
            self.sink.put(r, self._band(r, r1))
        self._next = max(self._next, ready)
        if self._next < self.ho:
            keep = int(self._i0[self._next])
            self._rows, self._top = self._rows[:, keep - self._top:], keep

    def _band(self, r0: int, r1: int) -> torch.Tensor:
        device = self._rows.device
        a = self._rows.index_select(1, (self._i0[r0:r1] - self._top).to(device))
        b = self._rows.index_select(1, (self._i1[r0:r1] - self._top).to(device))
        mixed = a.lerp_(b, self._frac[r0:r1].to(device)[None, :, None])
        if self.ws == self.wo:
            return mixed
        # Same row count in and out: rows map to themselves, columns are interpolated.
        return F.interpolate(mixed[None], size=(r1 - r0, self.wo), mode="bilinear",
                             align_corners=False)[0]
