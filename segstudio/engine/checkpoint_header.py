"""A checkpoint's metadata without its weights and without importing torch.

The window needs a checkpoint's classes before it starts a run (to take them for a project
that has no labels yet, on the GUI thread, where nothing may stall); reading only the
safetensors header (or the JSON sidecar) costs microseconds, even for FCN's 530 MB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from segstudio.core.classes import ClassSet
from segstudio.core.errors import ClassSetError, PathError

_META_KEY = "segstudio"
_MAX_HEADER = 100 * 2**20


class CheckpointHeaderError(PathError):
    """A checkpoint whose metadata cannot be read."""


def read_meta_dict(path: str | Path) -> dict[str, Any]:
    """The metadata dict (embedded in the header, else the sidecar); not validated beyond
    being a JSON object."""
    weights = Path(path)
    if weights.suffix != ".safetensors":
        weights = weights.with_name(weights.name.removesuffix(".json") + ".safetensors")
    sidecar = weights.with_suffix(".json")
    try:
        with open(weights, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n <= _MAX_HEADER:
                raise CheckpointHeaderError(weights, "not a readable .safetensors file")
            header = json.loads(f.read(n))
        text = (header.get("__metadata__") or {}).get(_META_KEY)
        meta = json.loads(text if text else sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointHeaderError(exc.filename or weights, "checkpoint not found") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise CheckpointHeaderError(weights, f"unreadable checkpoint metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise CheckpointHeaderError(weights, "checkpoint metadata is not a JSON object")
    return meta


def read_classes(path: str | Path) -> tuple[str, ClassSet]:
    """(architecture, classes) of a checkpoint, from its header."""
    meta = read_meta_dict(path)
    try:
        return str(meta["arch"]), ClassSet.from_dict(meta["classes"])
    except (KeyError, TypeError, ValueError, ClassSetError) as exc:
        raise CheckpointHeaderError(Path(path), f"checkpoint metadata incomplete ({exc})") \
            from None
