"""The pixels a person touched on an image that is not reviewed as a whole (state EDITED).

Kept per image as a 1-bit PNG in the project's own store, `<root>/.segstudio/touched/`, beside
nothing a dataset tool would pick up (the folder is hidden, so no listing takes it for images or
labels). 1 bit per pixel compresses well: a few strokes on an 8000x6000 image are a few KB.
Re-segmentation keeps these pixels; fine-tuning trains on them (and only them) for EDITED images.
"""

from __future__ import annotations

import io
import posixpath
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from segstudio.core.atomic import atomic_write_bytes
from segstudio.core.errors import LabelError

STORE_DIR = ".segstudio"
TOUCHED_DIR = "touched"


def touched_rel(label_rel: str) -> str:
    """Store path of an image's touched map, from its label path relative to labels/."""
    return posixpath.join(STORE_DIR, TOUCHED_DIR, label_rel)


def encode(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(mask, dtype=bool)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def read_touched(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """The bool map at `path`, None when there is none; LabelError when it is unusable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabelError(path, f"cannot read touched pixels ({exc.strerror or exc})") from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.size != (shape[1], shape[0]):
                raise LabelError(path, f"touched map is {img.size[0]}x{img.size[1]}, image is "
                                 f"{shape[1]}x{shape[0]}")
            arr = np.asarray(img.convert("1"), dtype=bool)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise LabelError(path, f"unreadable touched map ({exc})") from None
    return arr if arr.any() else None


def write_touched(path: Path, mask: np.ndarray) -> None:
    """Atomically write the bool map (WriteError when it cannot be written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, encode(mask))
