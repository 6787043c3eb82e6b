"""Fixtures for tests of the weights manager (registered as a plugin in tests/conftest.py):
a local HTTP server on 127.0.0.1 and an empty torch hub cache per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.weights_server import WeightsServer


@pytest.fixture(scope="module")
def server():
    with WeightsServer() as s:
        yield s


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    """An empty hub cache for this test; no mirror from the environment."""
    from segstudio.engine import weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(weights.MIRROR_ENV, raising=False)
    return tmp_path / "torch-home"


def cache_files() -> list[str]:
    from segstudio.engine import weights

    folder = weights.cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
