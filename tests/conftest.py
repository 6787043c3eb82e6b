"""Shared test set-up: Qt offscreen before anything imports it, and the CamVid location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GOMP_SPINCOUNT", "1000")  # see segstudio/__init__.py
# Keep tests from reaching for a network or a user's hub cache.
os.environ.setdefault("TORCH_HOME", str(Path(__file__).parent / ".no-torch-home"))

pytest_plugins = ["tests.weights_fixtures"]

CAMVID = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "camvid"


@pytest.fixture(scope="session")
def camvid_root() -> Path:
    """../shared/datasets/camvid beside the checkout; skips the test when it is absent."""
    root = Path(os.environ.get("SEGSTUDIO_CAMVID", CAMVID))
    if not (root / "classes.json").is_file():
        pytest.skip(f"CamVid not found at {root} (set SEGSTUDIO_CAMVID to its folder)")
    return root


# Engine and CLI tests run tiny tensors: a second thread gains nothing, and on a shared, busy
# 2-core machine OpenMP hand-offs make two threads several times slower than one.
ONE_THREAD_DIRS = {"engine", "cli"}


@pytest.fixture(autouse=True)
def _one_torch_thread(request: pytest.FixtureRequest):
    if Path(request.node.path).parent.name not in ONE_THREAD_DIRS:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
