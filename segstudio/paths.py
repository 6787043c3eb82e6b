"""Where shipped resources (class sets, the default checkpoint) live.

The repository keeps them in the top-level `resources/` folder; pyproject.toml maps that folder
into the wheel as the `segstudio.resources` package, so an installed segstudio finds them inside
the package (read through importlib.resources). A checkout, `PYTHONPATH=checkout` or an
editable install has no `segstudio/resources/`, and uses `resources/` beside the package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _locate() -> Path:
    # Inside the package first (a wheel). Not `files("segstudio.resources")`: importing that
    # name could resolve through another checkout's editable-install finder.
    installed = files("segstudio").joinpath("resources")
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "resources"


RESOURCES: Path = _locate()


def resource(*parts: str) -> Path:
    """Path of a shipped resource; raises FileNotFoundError naming it when missing."""
    path = RESOURCES.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"segstudio resource missing: {path}")
    return path
