"""The training rules the loop relies on: edited images reach the loss only where a person
touched them, a diverging run stops without writing NaN weights, length in optimiser steps,
and the starting weights measured on the same validation images (epoch 0)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from segstudio.core.project import ImageState, Project
from segstudio.engine.checkpoint import read_checkpoint
from segstudio.engine.data import SegDataset, load_source, split_samples
from segstudio.engine.train import train


@pytest.fixture
def edited_project(sample_project, tmp_path):
    """The sample with two images made EDITED: a prediction of all 'sky' (class 0) except a
    touched box painted 'box' (class 3)."""
    root = shutil.copytree(sample_project, tmp_path / "p")
    p = Project.open(root)
    for e in p.entries[-2:]:
        mask = np.zeros((48, 64), np.uint8)
        mask[10:20, 10:30] = 3
        touched = np.zeros((48, 64), bool)
        touched[10:20, 10:30] = True
        p.save_label(e, np.zeros((48, 64), np.uint8), state=ImageState.PREDICTED,
                     overwrite_reviewed=True)
        p.save_label(e, mask, state=ImageState.EDITED, touched=touched)
    return root


def test_edited_images_train_on_touched_pixels_only(edited_project) -> None:
    p = Project.open(edited_project)
    assert p.counts()[ImageState.EDITED] == 2
    assert len(load_source(edited_project).samples) == 4          # reviewed only
    source = load_source(edited_project, include_edited=True)
    assert len(source.samples) == 6
    train_s, val_s = split_samples(source.samples, 0.5)
    assert all(s.touched is None for s in val_s)                  # partial labels never validate
    assert sum(s.touched is not None for s in train_s) == 2
    ds = SegDataset([s for s in source.samples if s.touched is not None], source.classes, None)
    for i in range(len(ds)):
        _, label = ds[i]
        inside = label[10:20, 10:30]
        assert (inside == 3).all()
        outside = label.clone()
        outside[10:20, 10:30] = source.classes.ignore_index
        assert (outside == source.classes.ignore_index).all()     # the prediction is ignored


def test_training_uses_edited_pixels_and_says_so(edited_project, tmp_path, tiny_config) -> None:
    logs = []
    result = train(tiny_config(edited_project, tmp_path / "o", val_fraction=0.3),
                   progress=lambda e: logs.append(e.message) if e.kind == "log" else None)
    # 4 reviewed (2 validate: at least 3 where half still train) + 2 edited, which only train.
    assert result.train_images == 4 and result.status == "finished"
    assert any("2 edited: their touched pixels only" in m for m in logs)
    off = train(tiny_config(edited_project, tmp_path / "o2", val_fraction=0.3,
                            train_edited=False))
    assert off.train_images == 2


def test_diverging_loss_stops_the_run_and_writes_no_nan(sample_project, tmp_path, tiny_config,
                                                       monkeypatch) -> None:
    from segstudio.engine import losses

    real = losses.SegmentationLoss.forward
    calls = {"n": 0}

    def poisoned(self, logits, target):
        calls["n"] += 1
        out = real(self, logits, target)
        return out * float("nan") if calls["n"] >= 4 else out

    monkeypatch.setattr(losses.SegmentationLoss, "forward", poisoned)
    result = train(tiny_config(sample_project, tmp_path, epochs=4, batch=2))
    assert result.status == "diverged" and result.diverged
    assert "diverged in epoch 2" in result.message and "lower learning rate" in result.message
    assert result.epochs_done == 1
    tensors, _ = read_checkpoint(result.best)       # epoch 1 is the last thing written
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert calls["n"] == 4                          # stopped at the bad step, not the epoch end


def test_length_in_steps_cycles_small_sets(sample_project, tmp_path, tiny_config) -> None:
    events = []
    result = train(tiny_config(sample_project, tmp_path, steps=45, batch=2),
                   progress=events.append)
    # 5 training images, batch 2: 3 steps a pass; epochs are 20 steps -> 20 + 20 + 5.
    steps = [e for e in events if e.kind == "step"]
    assert result.epochs_done == 3 and sum(1 for _ in steps) == 45
    assert [e.steps for e in steps if e.step == 1] == [20, 20, 5]
    assert all(e.epochs == 3 for e in events if e.kind in ("step", "epoch"))


def test_starting_weights_are_measured_as_epoch_zero(sample_project, tmp_path, tiny_config):
    first = train(tiny_config(sample_project, tmp_path / "a", epochs=2))
    events = []
    again = train(tiny_config(sample_project, tmp_path / "b", epochs=1, init=first.best,
                              compare_to=first.best), progress=events.append)
    zero = [e for e in events if e.kind == "epoch" and e.epoch == 0]
    assert len(zero) == 1
    assert again.start_metrics["miou"] == pytest.approx(first.metrics["miou"])
    assert again.baseline_metrics == again.start_metrics
    # From scratch there is no starting figure; a checkpoint of other weights still compares.
    scratch = train(tiny_config(sample_project, tmp_path / "c", compare_to=first.best))
    assert scratch.start_metrics is None
    assert scratch.baseline_metrics["miou"] == pytest.approx(first.metrics["miou"])
