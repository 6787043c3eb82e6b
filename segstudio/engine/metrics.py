"""Segmentation metrics from one confusion matrix (mIoU, per-class IoU, pixel accuracy)."""

from __future__ import annotations

import math

import torch


class ConfusionMatrix:
    """K x K counts, rows = ground truth, columns = prediction; pixels at `ignore_index` skipped.

    Accumulates on the device of the first update (a bincount per batch, no host sync) and
    reduces across processes with `all_reduce` under DDP.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def reset(self) -> None:
        self.matrix.zero_()

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """pred and target: integer tensors of the same shape (any layout, e.g. (N, H, W))."""
        if pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
        k = self.num_classes
        pred = pred.reshape(-1).to(torch.int64)
        target = target.reshape(-1).to(torch.int64)
        # Out-of-range targets other than the ignore index are a data error caught on read;
        # here they are simply not counted, like the ignore index.
        keep = (target != self.ignore_index) & (target >= 0) & (target < k)
        index = target[keep] * k + pred[keep].clamp_(0, k - 1)
        counts = torch.bincount(index, minlength=k * k).reshape(k, k)
        if self.matrix.device != counts.device:
            self.matrix = self.matrix.to(counts.device)
        self.matrix += counts

    def all_reduce(self) -> None:
        """Sum the counts over all DDP processes (no-op when not distributed)."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.matrix)

    def iou(self) -> list[float]:
        """IoU per class; NaN for a class absent from both ground truth and prediction."""
        m = self.matrix.double().cpu()
        tp = m.diag()
        union = m.sum(0) + m.sum(1) - tp
        return [float(t / u) if u > 0 else math.nan for t, u in zip(tp, union, strict=True)]

    def miou(self) -> float:
        """Mean IoU over the classes that occur (ground truth or prediction); NaN if none."""
        values = [v for v in self.iou() if not math.isnan(v)]
        return sum(values) / len(values) if values else math.nan

    def pixel_accuracy(self) -> float:
        m = self.matrix.double().cpu()
        total = m.sum()
        return float(m.diag().sum() / total) if total > 0 else math.nan

    def summary(self, names: list[str]) -> dict:
        """{"miou", "iou": {name: value}, "pixel_accuracy"}; NaN becomes None (valid JSON)."""
        def clean(v: float) -> float | None:
            return None if math.isnan(v) else v

        return {
            "miou": clean(self.miou()),
            "iou": {n: clean(v) for n, v in zip(names, self.iou(), strict=True)},
            "pixel_accuracy": clean(self.pixel_accuracy()),
        }
