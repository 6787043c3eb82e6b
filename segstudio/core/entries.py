"""The identity and state of one image of a project (re-exported by `core.project`)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from enum import StrEnum
from pathlib import Path
from typing import Any


class ImageState(StrEnum):
    """How much of an image's label a person stands behind, from nothing to everything.

    UNLABELED: no label file. PREDICTED: a network's label nobody has touched. EDITED: a
    person changed some pixels (recorded as the image's *touched* pixels) but has not reviewed
    the whole. REVIEWED: a person accepted the whole label.
    """

    UNLABELED = "unlabeled"
    PREDICTED = "predicted"
    EDITED = "edited"
    REVIEWED = "reviewed"

    @property
    def rank(self) -> int:
        """Order by human involvement: a record never moves down this order by itself."""
        return _RANK[self]


_RANK = {ImageState.UNLABELED: 0, ImageState.PREDICTED: 1, ImageState.EDITED: 2,
         ImageState.REVIEWED: 3}


class ImageEntry:
    """One image: `key` (posix path relative to the images folder, its identity) and `path`
    (absolute). Immutable and hashable like a frozen dataclass; `path` is built on first use,
    because creating 20,000 Path objects up front would cost most of a listing's time."""

    __slots__ = ("_base", "_path", "key")
    key: str

    def __init__(self, key: str, path: str | Path | None = None, *, base: str = "") -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "_path", None if path is None else Path(path))
        object.__setattr__(self, "_base", base)

    @property
    def path(self) -> Path:
        if self._path is None:
            object.__setattr__(self, "_path", Path(self._base, self.key))
        return self._path  # type: ignore[return-value]

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageEntry):
            return NotImplemented
        return self.key == other.key and self.path == other.path

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"ImageEntry(key={self.key!r}, path={self.path!r})"

    def __reduce__(self) -> tuple:
        return (ImageEntry, (self.key, self.path))
