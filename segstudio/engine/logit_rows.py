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
REDUCE_ROWS = 16   # rows per reduction step: classes x 16 x W floats stay in cache


class PredictCancelled(Exception):
    """Raised inside Predictor.predict when its `cancel` flag is set (not an error: the user
    asked for it); predict_paths catches it and ends."""


def check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise PredictCancelled


class LabelRows:
    """Reduces bands of logits (classes, n, W) into labels (H, W) uint8 and confidence
    (H, W) float32 (the max softmax), `REDUCE_ROWS` rows at a time so the temporaries stay
    in cache.

    Per band: the max over classes (`amax`: 30x faster on a CPU than `max` with indices),
    then one pass per class adding exp(l - max) to the softmax denominator and counting the
    classes before the first maximum, which is the argmax (the same tie-break as torch.max).
    Confidence = 1 / denominator, the max softmax without the softmax's temporaries.
    """

    def __init__(self, height: int, width: int, cancel: Callable[[], bool] | None = None, *,
                 labels: np.ndarray | None = None, confidence: np.ndarray | None = None) -> None:
        self.labels = np.empty((height, width), np.uint8) if labels is None else labels
        self.confidence = np.empty((height, width), np.float32) if confidence is None \
            else confidence
        self._labels = torch.from_numpy(self.labels)
        self._conf = torch.from_numpy(self.confidence)
        self.cancel = cancel

    @torch.inference_mode()
    def put(self, y0: int, logits: torch.Tensor, weights: Weights | None = None) -> None:
        """Rows [y0, y0 + n) from `logits` (classes, n, W), divided by the blending weights
        `rows[:, None] * cols` when given (tiles). `logits` is overwritten: callers pass
        finished rows only."""
        k, n, w = logits.shape
        on_cpu = logits.device.type == "cpu"
        rows = min(n, REDUCE_ROWS)
        peak = logits.new_empty(rows, w)
        expd = logits.new_empty(rows, w)
        hit = torch.empty(rows, w, dtype=torch.bool, device=logits.device)
        seen = torch.empty_like(hit)
        for r in range(0, n, rows):
            check(self.cancel)
            r1 = min(n, r + rows)
            m = r1 - r
            band = logits[:, r:r1]
            if weights is not None:
                band.div_(weights[0][r:r1, None] * weights[1])
            # Written straight into the numpy outputs on a CPU; copied over from elsewhere.
            labels = self._labels[y0 + r:y0 + r1] if on_cpu else hit.new_empty(
                m, w, dtype=torch.uint8)
            total = self._conf[y0 + r:y0 + r1] if on_cpu else expd.new_empty(m, w)
            pk, ex, ht, sn = peak[:m], expd[:m], hit[:m], seen[:m]
            torch.amax(band, 0, out=pk)
            # Class 0 starts the sums; each later class adds its exp and, until the first
            # maximum has been seen, one to the label.
            torch.sub(band[0], pk, out=total).exp_()
            torch.ne(band[0], pk, out=labels)
            torch.logical_not(labels, out=sn)
            for c in range(1, k):
                plane = band[c]
                sn.logical_or_(torch.eq(plane, pk, out=ht))
                labels.add_(torch.logical_not(sn, out=ht))
                total.add_(torch.sub(plane, pk, out=ex).exp_())
            labels.clamp_(max=k - 1)   # NaN logits match no maximum: keep indices valid
            total.reciprocal_()
            if not on_cpu:
                self._labels[y0 + r:y0 + r1].copy_(labels)
                self._conf[y0 + r:y0 + r1].copy_(total)


@torch.inference_mode()
def reduce_logits(logits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(N, classes, H, W) logits -> labels (N, H, W) uint8, confidence (N, H, W) float32.
    `logits` is overwritten."""
    n, _, h, w = logits.shape
    labels = np.empty((n, h, w), np.uint8)
    conf = np.empty((n, h, w), np.float32)
    for i in range(n):
        LabelRows(h, w, labels=labels[i], confidence=conf[i]).put(0, logits[i])
    return labels, conf


class UpsampledRows:
    """Bilinear resizing (as F.interpolate(..., "bilinear", align_corners=False)) of logits
    arriving in bands of source rows, passed on to `sink` in bands of output rows as soon as
    the source rows they blend are in; only those rows are kept. Resizing logits rather than
    labels keeps class boundaries smooth and sub-pixel, and confidence meaningful.

    Bilinear is separable: when rows are upsampled, each source row is widened once (and
    kept while output rows still blend it) and output rows are a lerp of two widened rows,
    instead of widening every output row (16x more work for 480 -> 8000 px).
    """

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
        self._wide: torch.Tensor | None = None   # widened source rows from self._wide_top
        self._wide_top = 0
        self._widen_first = self.ho >= self.hs and self.wo != self.ws

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
        if self._widen_first:
            rows, top = self._widened(int(self._i0[r0]), int(self._i1[r1 - 1]) + 1)
        else:
            rows, top = self._rows, self._top
        out = rows.new_empty(rows.shape[0], r1 - r0, rows.shape[2])
        frac = self._frac[r0:r1].to(rows.device)
        i0, i1 = self._i0[r0:r1].tolist(), self._i1[r0:r1].tolist()
        # Output rows blending the same two source rows are one broadcast lerp (upsampled
        # 16x, a band of 16 rows is one or two lerps instead of gathering 32 rows).
        a = 0
        while a < len(i0):
            b = a + 1
            while b < len(i0) and i0[b] == i0[a]:
                b += 1
            lo, hi = rows[:, i0[a] - top, None], rows[:, i1[a] - top, None]
            torch.lerp(lo, hi, frac[a:b, None], out=out[:, a:b])
            a = b
        if self._widen_first or self.ws == self.wo:
            return out
        return _widen(out, self.wo)

    def _widened(self, lo: int, hi: int) -> tuple[torch.Tensor, int]:
        """Source rows [lo, hi) at the output width (cached: rows arrive in order)."""
        wide, top = self._wide, self._wide_top
        if wide is None or top + wide.shape[1] <= lo:
            wide, top = None, lo
        else:
            wide = wide[:, lo - top:]
            top = lo
        have = top + (0 if wide is None else wide.shape[1])
        if have < hi:
            new = _widen(self._rows[:, have - self._top:hi - self._top], self.wo)
            wide = new if wide is None else torch.cat([wide, new], 1)
        self._wide, self._wide_top = wide, top
        return wide, top


def _widen(rows: torch.Tensor, width: int) -> torch.Tensor:
    """(classes, n, w) -> (classes, n, width), bilinear along rows only (same row count in
    and out maps every row to itself)."""
    return F.interpolate(rows[None], size=(rows.shape[1], width), mode="bilinear",
                         align_corners=False)[0]
