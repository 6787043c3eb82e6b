"""Label files: single-channel PNGs of class indices written with a colour palette (the Pascal
VOC convention; Pillow writes palettes, OpenCV cannot). Reading also accepts greyscale index
PNGs (CamVid) and RGB colour-coded masks decoded through the class colours."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from segstudio.core.atomic import atomic_write_bytes
from segstudio.core.classes import ClassSet
from segstudio.core.errors import LabelError
from segstudio.core.imageheader import read_header
from segstudio.core.imageio import check_header, open_pil, owned

_MAX_NAMED = 4  # how many bad colours/values an error message lists


def _decode_rgb(path: Path, rgb: np.ndarray, classes: ClassSet | None) -> np.ndarray:
    if classes is None:
        raise LabelError(path, "colour-coded (RGB) label needs a class set to decode its colours")
    # Pack each pixel into one int and look it up in the sorted class colours: O(n log K).
    packed = (
        (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    )
    colors = [*classes.colors, classes.ignore_color]
    indices = [*range(classes.num_classes), classes.ignore_index]
    keys = np.array([(r << 16) | (g << 8) | b for r, g, b in colors], np.uint32)
    order = np.argsort(keys)
    keys, values = keys[order], np.array(indices, np.uint8)[order]
    pos = np.searchsorted(keys, packed).clip(0, len(keys) - 1)
    known = keys[pos] == packed
    if not known.all():
        grey = rgb[..., 0]
        if (grey == rgb[..., 1]).all() and (grey == rgb[..., 2]).all():
            # An index image saved with three equal channels: the greys are the indices
            # (checked against the classes by the caller).
            return grey.copy()
        bad, counts = np.unique(packed[~known], return_counts=True)
        top = np.argsort(-counts)[:_MAX_NAMED]
        named = ", ".join(
            f"({v >> 16}, {(v >> 8) & 255}, {v & 255}) x{c}"
            for v, c in zip(bad[top].tolist(), counts[top].tolist(), strict=True)
        )
        more = f" and {len(bad) - len(top)} more" if len(bad) > len(top) else ""
        raise LabelError(path, f"{len(bad)} colour(s) not in the class set: {named}{more}")
    return values[pos]


def check_indices(path: Path, mask: np.ndarray, classes: ClassSet) -> None:
    """LabelError naming the values that are neither a class index nor the ignore index."""
    counts = np.bincount(mask.ravel(), minlength=256)
    valid = np.zeros(256, bool)
    valid[: classes.num_classes] = True
    valid[classes.ignore_index] = True
    bad = np.flatnonzero((counts > 0) & ~valid)
    if bad.size:
        named = ", ".join(f"{v} x{counts[v]}" for v in bad[:_MAX_NAMED].tolist())
        more = f" and {bad.size - _MAX_NAMED} more" if bad.size > _MAX_NAMED else ""
        raise LabelError(
            path,
            f"values {named}{more} are not classes 0..{classes.num_classes - 1} "
            f"nor ignore {classes.ignore_index}",
        )


def _indices_from_image(path: Path, img: Image.Image, classes: ClassSet | None) -> np.ndarray:
    mode = img.mode
    if mode == "P":
        return np.asarray(img, np.uint8)  # palette PNG: the stored values are the indices
    if mode in ("L", "LA"):
        return np.asarray(img.getchannel(0), np.uint8)
    if mode == "1":
        return np.asarray(img, np.uint8)
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(img)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise LabelError(path, f"index values up to {int(arr.max())} do not fit 0..255")
        return arr.astype(np.uint8)
    if mode in ("RGB", "RGBA", "PA"):
        rgb = np.asarray(img.convert("RGB"))
        return _decode_rgb(path, rgb, classes)
    raise LabelError(path, f"unsupported label image mode {mode!r}")


def read_label(
    path: str | Path,
    classes: ClassSet | None = None,
    expected_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """(H, W) uint8 class indices. With `classes`, values must be classes or the ignore index;
    with `expected_shape` (H, W), a different size is an error (never a silent resize)."""
    path = Path(path)
    if path.is_dir():
        raise LabelError(path, "is a folder, not a label file")
    try:
        # The header is checked (pixel limit, truncation, size against the image) before
        # anything is decoded: a 13000x13000 label for a 640x480 image costs microseconds.
        with open_pil(path, LabelError) as img:
            if expected_shape is not None and (img.height, img.width) != tuple(
                expected_shape[:2]
            ):
                eh, ew = expected_shape[:2]
                raise LabelError(path, f"label is {img.width}x{img.height} but its image is "
                                 f"{ew}x{eh}")
            img.load()
            mask = owned(_indices_from_image(path, img, classes))
    except LabelError:
        raise
    except UnidentifiedImageError:
        header = read_header(path)
        if header is None:
            raise LabelError(path, "not an image file") from None
        # Our own parse reads it (Pillow gave up on, e.g., a damaged text chunk): say what
        # is wrong with its size if anything, else that it is damaged.
        check_header(path, header, LabelError)
        raise LabelError(path, f"damaged {header.format} file (Pillow cannot read it)") from None
    except FileNotFoundError:
        raise LabelError(path, "no such file") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise LabelError(path, f"damaged or unreadable label ({e})") from None
    if classes is not None:
        check_indices(path, mask, classes)
    return mask


def encode_label(mask: np.ndarray, classes: ClassSet) -> bytes:
    """PNG bytes of `mask` as a palette image coloured with the class palette."""
    img = Image.fromarray(np.ascontiguousarray(mask, np.uint8))
    img.putpalette(classes.palette().tobytes(), rawmode="RGB")
    buf = io.BytesIO()
    # Level 1 is several times faster than the default and label maps still compress well.
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_label(path: str | Path, mask: np.ndarray, classes: ClassSet) -> None:
    """Atomically write `mask` ((H, W) class indices; uint8, or any integer type whose values
    fit 0..255, e.g. an argmax) as a palette PNG."""
    path = Path(path)
    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise LabelError(path, f"mask must be (H, W) integers, got {mask.dtype} {mask.shape}")
    if mask.dtype != np.uint8:
        if mask.size and (mask.min() < 0 or mask.max() > 255):
            raise LabelError(path, f"mask values {mask.min()}..{mask.max()} do not fit 0..255")
        mask = mask.astype(np.uint8)
    check_indices(path, mask, classes)
    atomic_write_bytes(path, encode_label(mask, classes))
