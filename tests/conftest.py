"""Shared test set-up: Qt offscreen before anything imports it, and the CamVid location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GOMP_SPINCOUNT", "1000")  # see segstudio/__init__.py
# Keep tests from reaching for a network or a user's hub cache.
os.environ.setdefault("TORCH_HOME", str(Path(__file__).parent / ".no-torch-home"))

CAMVID = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "camvid"


@pytest.fixture(scope="session")
def camvid_root() -> Path:
    """../shared/datasets/camvid beside the checkout; skips the test when it is absent."""
    root = Path(os.environ.get("SEGSTUDIO_CAMVID", CAMVID))
    if not (root / "classes.json").is_file():
        pytest.skip(f"CamVid not found at {root} (set SEGSTUDIO_CAMVID to its folder)")
    return root
