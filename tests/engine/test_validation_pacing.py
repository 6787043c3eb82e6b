"""Validation is paced by its cost: with a large validation set it runs every few epochs, not
after each one, and never takes much more than a third of the run."""

from __future__ import annotations

import pytest

from segstudio.engine.train import VAL_TIME_RATIO, validation_due


def _simulate(epochs: int, epoch_s: float, val_s: float) -> list[int]:
    """Epochs (1-based) that validate when each trains `epoch_s` and validates `val_s`."""
    done, trained, measured = [], 0.0, None
    for epoch in range(epochs):
        trained += epoch_s
        if validation_due(epoch, epochs, trained, measured):
            done.append(epoch + 1)
            trained, measured = 0.0, val_s
    return done


def test_101_full_size_images_validate_every_other_epoch() -> None:
    # Measured: 200 steps in 10 epochs of about 17 s; 101 CamVid val images in about 13 s.
    assert _simulate(10, 17.0, 13.0) == [1, 3, 5, 7, 9, 10]


def test_cheap_validation_runs_after_every_epoch() -> None:
    assert _simulate(10, 17.0, 0.5) == list(range(1, 11))


@pytest.mark.parametrize("val_s", [5.0, 30.0, 120.0, 1000.0])
def test_validation_share_of_a_long_run_is_bounded(val_s: float) -> None:
    epochs, epoch_s = 200, 10.0
    n = len(_simulate(epochs, epoch_s, val_s))
    assert n >= 2                                 # first and last, whatever they cost
    paced = n - 2                                 # the ones in between are paced
    share = paced * val_s / (paced * val_s + epochs * epoch_s)
    assert share <= 1 / (1 + VAL_TIME_RATIO)


def test_first_and_last_epochs_always_validate() -> None:
    assert validation_due(0, 5, 0.0, 100.0)
    assert validation_due(4, 5, 0.0, 100.0)
    assert not validation_due(2, 5, 10.0, 100.0)
    assert validation_due(2, 5, 10.0, None)      # cost unknown yet
