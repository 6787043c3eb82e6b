import math

import numpy as np
import pytest
import torch

from segstudio.engine.losses import ClassStats, SegmentationLoss, class_weights, dice_loss


def _stats():
    a = np.array([[0, 0, 0, 1]], np.uint8)
    b = np.array([[0, 2, 2, 9]], np.uint8)  # 9 = void
    return ClassStats.from_labels([a, b], num_classes=4, ignore_index=9)


def test_stats_and_median_frequency():
    stats = _stats()
    assert stats.pixels.tolist() == [4, 1, 2, 0]
    # labelled pixels of the images holding each class: 0 in both (4 + 3), 1 in a, 2 in b
    assert stats.present_pixels.tolist() == [7, 4, 3, 0]
    w = class_weights(stats, "median").numpy()
    freq = np.array([4 / 7, 1 / 4, 2 / 3])
    assert np.allclose(w[:3], np.median(freq) / freq)
    assert w[3] == 0


def test_enet_weighting():
    stats = _stats()
    w = class_weights(stats, "enet").numpy()
    share = np.array([4, 1, 2]) / 7
    assert np.allclose(w[:3], 1 / np.log(1.02 + share))
    assert class_weights(stats, "none") is None
    with pytest.raises(ValueError):
        class_weights(stats, "bogus")


def test_loss_ignores_void_and_all_void_is_zero():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    target = torch.full((1, 4, 4), 255)
    loss = SegmentationLoss(255)(logits, target)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    target[0, 0, 0] = 1
    expected = torch.nn.functional.cross_entropy(logits, target, ignore_index=255)
    assert torch.isclose(SegmentationLoss(255)(logits, target), expected)


def test_weighted_loss_matches_torch_and_dice_adds():
    logits = torch.randn(2, 3, 5, 5)
    target = torch.randint(0, 3, (2, 5, 5))
    target[0, 0] = 255
    w = torch.tensor([0.5, 2.0, 1.0])
    expected = torch.nn.functional.cross_entropy(logits, target, weight=w, ignore_index=255)
    assert torch.isclose(SegmentationLoss(255, w)(logits, target), expected, atol=1e-6)
    dice = dice_loss(logits, target, 255)
    assert 0 < dice.item() < 1
    both = SegmentationLoss(255, w, dice=True)(logits, target)
    assert math.isclose(both.item(), expected.item() + dice.item(), rel_tol=1e-5)


def test_perfect_prediction_has_zero_dice():
    target = torch.randint(0, 3, (1, 6, 6))
    logits = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float() * 100
    assert dice_loss(logits, target, 255).item() < 1e-4
