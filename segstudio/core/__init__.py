"""The annotation core: classes, image IO, label files, atomic writes, project folders, mask
editing and undo history, in numpy + Pillow + OpenCV only (never torch or Qt; a test checks).

The main names are importable from here, loaded on first use so `import segstudio.core` stays
cheap: `from segstudio.core import Project, MaskDocument, ClassSet`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ClassSet": "classes",
    "builtin_classes": "classes",
    "default_classes": "classes",
    "read_image": "imageio",
    "image_size": "imageio",
    "IMAGE_SUFFIXES": "imageio",
    "read_label": "labels",
    "write_label": "labels",
    "atomic_write_bytes": "atomic",
    "atomic_write_json": "atomic",
    "Project": "project",
    "ImageEntry": "entries",
    "ImageState": "entries",
    "MaskDocument": "editing",
    "BBox": "history",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'segstudio.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"segstudio.core.{module}"), name)
    globals()[name] = value
    return value
