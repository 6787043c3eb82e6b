"""User-facing errors. Each `str()` is one line naming the file and the problem, so the CLI can
print it and exit 2 and the GUI can show it in the status bar, never as a traceback."""

from __future__ import annotations

from pathlib import Path


class SegstudioError(Exception):
    """Base of every error a user can cause (bad file, bad checkpoint, bad settings)."""


class PathError(SegstudioError):
    """An error about one file: `path` is kept so views can point at it."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ImageReadError(PathError):
    """An image that is truncated, empty, not an image, or unreadable."""


class LabelError(PathError):
    """A label file that is unreadable, has unknown colours or indices, or the wrong size."""


class ClassSetError(SegstudioError):
    """A class set that is malformed (duplicate names, bad colours, bad ignore index)."""


class ProjectError(SegstudioError):
    """A project folder or its segstudio.json that cannot be used."""


class WriteError(PathError):
    """A file that could not be written (read-only folder, disk full); the old file is untouched."""
