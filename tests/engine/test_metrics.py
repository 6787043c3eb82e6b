import math

import numpy as np
import torch

from segstudio.engine.metrics import ConfusionMatrix


def test_known_confusion():
    cm = ConfusionMatrix(3, ignore_index=255)
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 255]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 0]])
    cm.update(pred, target)
    # class 0: tp 1, fp 1, fn 1 -> 1/3; class 1: tp 2, fp 1 -> 2/3; class 2: tp 1, fn 1 -> 1/2
    assert np.allclose(cm.iou(), [1 / 3, 2 / 3, 1 / 2])
    assert math.isclose(cm.miou(), (1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert math.isclose(cm.pixel_accuracy(), 4 / 6)


def test_matches_numpy_reference_and_absent_class_is_nan():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, (2, 20, 30))
    target[0, :3] = 9  # void
    pred = rng.integers(0, 4, (2, 20, 30))
    cm = ConfusionMatrix(5, ignore_index=9)
    cm.update(torch.from_numpy(pred), torch.from_numpy(target))
    keep = target != 9
    for c in range(4):
        inter = ((pred == c) & (target == c) & keep).sum()
        union = (((pred == c) | (target == c)) & keep).sum()
        assert math.isclose(cm.iou()[c], inter / union)
    assert math.isnan(cm.iou()[4])
    summary = cm.summary(list("abcde"))
    assert summary["iou"]["e"] is None
    assert math.isclose(summary["miou"], float(np.mean(cm.iou()[:4])))
