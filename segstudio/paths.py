"""Where shipped resources (class sets, icons, the default checkpoint) live."""

from pathlib import Path

# resources/ sits beside the package in a checkout (and in an editable install).
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    """Path of a shipped resource; raises FileNotFoundError naming it when missing."""
    path = RESOURCES.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"segstudio resource missing: {path}")
    return path
