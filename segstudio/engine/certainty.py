"""How sure a verdict is: a paired bootstrap of the mIoU difference of two models.

A fine-tune's verdict compares the run with the model it would replace on the same few
held-out images. The mIoU difference on five images says little by itself: this module
resamples the images (with replacement, the same draw for both models: a paired bootstrap)
and reports the difference with an interval and the share of draws in which the run is
better. mIoU is not a mean over images (it is computed from the summed confusion matrix), so
each draw sums the drawn images' matrices and computes mIoU from the sums, as the metric does.

With fewer than MIN_IMAGES images, resampling images is meaningless (one image gives one
draw); the draw is then over blocks of the images (a BLOCKS x BLOCKS grid each), which
captures the variation within an image but not between images: the result says so, and
the interval is narrower than the truth.

numpy only: matrices come from the engine's validation as arrays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BLOCKS = 4          # grid per side of an image, for the block bootstrap
MIN_IMAGES = 3      # below this, blocks are resampled instead of images
DRAWS = 2000
LEVEL = 0.9         # the interval's coverage


@dataclass(frozen=True)
class Certainty:
    delta: float            # mIoU(new) - mIoU(old), in [−1, 1]
    low: float              # interval of the difference at LEVEL
    high: float
    p_better: float         # share of draws in which new > old (ties count half)
    images: int
    unit: str               # "images" or "blocks" (what was resampled)

    def to_dict(self) -> dict:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> Certainty:
        return cls(float(d["delta"]), float(d["low"]), float(d["high"]),
                   float(d["p_better"]), int(d["images"]), str(d["unit"]))

    def short(self) -> str:
        """e.g. '+2.3 points, 90% interval -0.4..+4.9 on 7 images' (the panel's line)."""
        return (f"{100 * self.delta:+.1f} points, 90% interval {100 * self.low:+.1f}.."
                f"{100 * self.high:+.1f} on {self.images} image{'s' if self.images != 1 else ''}"
                + (" (blocks)" if self.unit == "blocks" else ""))

    def describe(self) -> str:
        """e.g. '+2.3 points, 90% interval -0.4..+4.9 over 7 images, better in 93% of
        resamples'."""
        n = f"{self.images} image{'s' if self.images != 1 else ''}"
        over = f"over {n}" if self.unit == "images" else \
            f"over blocks of {n} (too few images to say how it varies between them)"
        return (f"{100 * self.delta:+.1f} points, 90% interval {100 * self.low:+.1f}.."
                f"{100 * self.high:+.1f} {over}, better in {100 * self.p_better:.0f}% of "
                "resamples")


def miou_of(matrix: np.ndarray) -> float:
    """mIoU of a K x K (or ... x K x K) confusion matrix, as ConfusionMatrix.miou: over the
    classes present in ground truth or prediction; NaN where none is."""
    m = np.asarray(matrix, dtype=np.float64)
    tp = np.diagonal(m, axis1=-2, axis2=-1)
    union = m.sum(-2) + m.sum(-1) - tp
    present = union > 0
    iou = np.where(present, tp / np.where(present, union, 1), 0.0)
    count = present.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, iou.sum(-1) / np.maximum(count, 1), np.nan)


def paired_bootstrap(new: np.ndarray, old: np.ndarray, *, draws: int = DRAWS,
                     seed: int = 0) -> Certainty | None:
    """Certainty of mIoU(new) - mIoU(old) from per-image block matrices of both models,
    each shaped (images, blocks, K, K) over the same images. None without images."""
    new, old = np.asarray(new, np.int64), np.asarray(old, np.int64)
    if new.shape != old.shape or new.ndim != 4 or new.shape[0] == 0:
        return None
    n_images = new.shape[0]
    delta = float(miou_of(new.sum((0, 1))) - miou_of(old.sum((0, 1))))
    if n_images >= MIN_IMAGES:
        units_new, units_old, unit = new.sum(1), old.sum(1), "images"
    else:
        k = new.shape[-1]
        units_new, units_old, unit = new.reshape(-1, k, k), old.reshape(-1, k, k), "blocks"
    rng = np.random.default_rng(seed)
    n = units_new.shape[0]
    picks = rng.integers(0, n, size=(draws, n))
    # Counts of each unit per draw, then the drawn sums as one matrix product: draws x K*K.
    weights = np.zeros((draws, n), np.int64)
    np.add.at(weights, (np.arange(draws)[:, None], picks), 1)
    k2 = units_new.shape[-1] ** 2
    sums_new = (weights @ units_new.reshape(n, k2)).reshape(draws, *units_new.shape[1:])
    sums_old = (weights @ units_old.reshape(n, k2)).reshape(draws, *units_old.shape[1:])
    diffs = miou_of(sums_new) - miou_of(sums_old)
    diffs = diffs[np.isfinite(diffs)]
    if diffs.size == 0:
        return None
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    p_better = float(((diffs > 0).sum() + 0.5 * (diffs == 0).sum()) / diffs.size)
    return Certainty(delta, float(low), float(high), p_better, n_images, unit)


def block_matrices(pred: np.ndarray, target: np.ndarray, num_classes: int,
                   ignore_index: int, blocks: int = BLOCKS) -> np.ndarray:
    """(blocks*blocks, K, K) confusion matrices of one image's grid cells."""
    k = num_classes
    h, w = target.shape
    ys = np.minimum(np.arange(h) * blocks // max(h, 1), blocks - 1)
    xs = np.minimum(np.arange(w) * blocks // max(w, 1), blocks - 1)
    cell = (ys[:, None] * blocks + xs[None, :]).reshape(-1)
    t = target.reshape(-1).astype(np.int64)
    p = np.clip(pred.reshape(-1).astype(np.int64), 0, k - 1)
    keep = (t != ignore_index) & (t >= 0) & (t < k)
    index = cell[keep] * k * k + t[keep] * k + p[keep]
    counts = np.bincount(index, minlength=blocks * blocks * k * k)
    return counts.reshape(blocks * blocks, k, k)
