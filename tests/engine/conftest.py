"""Small synthetic data for engine tests (CamVid-free, a few KB, made in tmp dirs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from segstudio.core.sample import make_sample_project


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory) -> Path:
    """6 reviewed 48x64 scenes with 4 classes (sky, ground, disc, box)."""
    return make_sample_project(tmp_path_factory.mktemp("sample"), count=6, reviewed=6,
                               size=(48, 64), seed=1)


@pytest.fixture
def tiny_config():
    """Factory of a fast TrainConfig: ENet, 32x48 crops, batch 3, CPU, every step reported."""
    from segstudio.engine.train import TrainConfig

    def make(data, out, **kw):
        base = {"arch": "enet", "data": data, "out_dir": out, "epochs": 1, "size": (32, 48),
                "batch": 3, "event_interval": 0.0, "val_fraction": 0.2, "device": "cpu"}
        base.update(kw)
        return TrainConfig(**base)
    return make
