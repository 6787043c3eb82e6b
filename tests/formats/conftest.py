"""Fixtures of the format tests (the data itself is built in formats_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from formats_data import make_tricky_project


@pytest.fixture
def tricky(tmp_path) -> Path:
    return make_tricky_project(tmp_path / "project")


@pytest.fixture
def tricky_void4(tmp_path) -> Path:
    """Same, but void is index 4 coloured black (CamVid's convention: void right after the
    classes), so formats that store void as 255 must map it back."""
    return make_tricky_project(tmp_path / "project4", ignore_index=4)
