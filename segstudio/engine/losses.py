"""Training loss: cross-entropy (ignore index, optional class weights) plus optional Dice."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.settings_schema import WEIGHTINGS  # defined once, there


class ClassStats:
    """Per-class pixel counts gathered from label maps (ignore index and out-of-range skipped).

    `pixels[c]`: pixels of class c. `present_pixels[c]`: labelled pixels of the images that
    contain c (the denominator of median-frequency balancing).
    """

    def __init__(self, num_classes: int, ignore_index: int) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.pixels = np.zeros(num_classes, np.int64)
        self.present_pixels = np.zeros(num_classes, np.int64)

    def add(self, label: np.ndarray) -> None:
        counts = np.bincount(label.reshape(-1), minlength=256)[: self.num_classes]
        self.pixels += counts
        self.present_pixels[counts > 0] += counts.sum()

    @classmethod
    def from_labels(cls, labels: Iterable[np.ndarray], num_classes: int, ignore_index: int):
        stats = cls(num_classes, ignore_index)
        for label in labels:
            stats.add(label)
        return stats


def class_weights(stats: ClassStats, method: str) -> torch.Tensor | None:
    """Weights for cross-entropy, or None for "none".

    "median": median frequency balancing (Eigen & Fergus 2015, as in SegNet):
        freq_c = pixels_c / present_pixels_c, w_c = median(freq) / freq_c.
    "enet": w_c = 1 / ln(1.02 + p_c) with p_c the class's share of all labelled pixels (ENet
        paper), which bounds weights to [~1.4, ~50] unlike 1/p.
    Classes that never occur get weight 0 so their logits are not pushed around by the weighting.
    """
    if method == "none":
        return None
    if method not in WEIGHTINGS:
        raise ValueError(f"unknown class weighting {method!r} (use one of {', '.join(WEIGHTINGS)})")
    present = stats.pixels > 0
    weights = np.zeros(stats.num_classes, np.float64)
    if not present.any():
        return torch.ones(stats.num_classes)
    if method == "median":
        freq = stats.pixels[present] / stats.present_pixels[present]
        weights[present] = np.median(freq) / freq
    else:
        share = stats.pixels[present] / stats.pixels.sum()
        weights[present] = 1.0 / np.log(1.02 + share)
    return torch.tensor(weights, dtype=torch.float32)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int,
              eps: float = 1.0) -> torch.Tensor:
    """Soft Dice: 1 - mean Dice over the classes present in the batch; void pixels masked."""
    num_classes = logits.shape[1]
    valid = (target != ignore_index) & (target < num_classes)
    probs = logits.float().softmax(1) * valid.unsqueeze(1)
    onehot = F.one_hot(torch.where(valid, target, 0).long(), num_classes)
    onehot = onehot.permute(0, 3, 1, 2).to(probs.dtype) * valid.unsqueeze(1)
    dims = (0, 2, 3)
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + eps) / (denom + eps)
    present = onehot.sum(dims) > 0
    if not present.any():
        return logits.sum() * 0.0
    return 1.0 - dice[present].mean()


class SegmentationLoss(nn.Module):
    """CE(ignore_index, weights) + dice_weight * Dice."""

    def __init__(self, ignore_index: int, weights: torch.Tensor | None = None,
                 dice: bool = False, dice_weight: float = 1.0) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.dice = dice
        self.dice_weight = dice_weight
        self.register_buffer("weights", weights if weights is not None else None)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.long()
        # Sum then divide, so a crop that is all void gives 0 (not NaN from a 0/0 mean).
        total = F.cross_entropy(logits.float(), target, weight=self.weights,
                                ignore_index=self.ignore_index, reduction="sum")
        valid = target != self.ignore_index
        if self.weights is None:
            denom = valid.sum()
        else:
            safe = torch.where(valid, target, 0)
            denom = (self.weights[safe] * valid).sum()
        loss = total / denom.clamp_min(1e-6)
        if self.dice:
            loss = loss + self.dice_weight * dice_loss(logits, target, self.ignore_index)
        return loss
