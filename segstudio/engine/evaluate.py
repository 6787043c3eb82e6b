"""Evaluation of a checkpoint on labelled images at native resolution (as the GUI predicts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from segstudio.engine.checkpoint import CheckpointError, classes_mismatch
from segstudio.engine.data import load_source
from segstudio.engine.metrics import ConfusionMatrix
from segstudio.engine.predict import Predictor, PredictProgress, predict_paths


def evaluate(predictor: Predictor, data: Any, *,
             progress: Callable[[PredictProgress], None] | None = None,
             cancel: Callable[[], bool] | None = None,
             checkpoint: Any = None) -> dict | None:
    """{"miou", "iou": {name: value}, "pixel_accuracy", "images"} over the reviewed/labelled
    images of `data`; None when cancelled. Unreadable images or labels raise (metrics over
    a silently smaller set would mislead)."""
    from segstudio.core.labels import read_label

    meta = predictor.meta
    source = load_source(data, None)
    problem = classes_mismatch(source.classes, meta.classes)
    if problem is not None:
        raise CheckpointError(checkpoint or meta.arch, f"does not fit {source.root}: {problem}")
    labels_of = {s.image: s.label for s in source.samples}
    cm = ConfusionMatrix(meta.classes.num_classes, meta.classes.ignore_index)
    done = 0
    for result in predict_paths(predictor, list(labels_of), progress=progress, cancel=cancel):
        if result.error is not None:
            raise result.error
        target = read_label(labels_of[result.path], source.classes,
                            expected_shape=result.labels.shape)
        cm.update(torch.from_numpy(result.labels), torch.from_numpy(target))
        done += 1
    if done < len(labels_of):
        return None
    return cm.summary(meta.classes.names) | {"images": done}
