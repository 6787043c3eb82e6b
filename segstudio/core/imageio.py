"""Reading user images robustly to RGB uint8.

Pillow first (it handles EXIF orientation, palettes, 16-bit greyscale and non-ASCII paths);
OpenCV as a fallback for what Pillow cannot decode (e.g. 16-bit colour TIFF), fed from bytes
read in Python so non-ASCII paths work there too. Every failure becomes an ImageReadError
naming the file: a user's folder may hold anything.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segstudio.core.errors import ImageReadError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# EXIF orientations 5..8 transpose the image, so height and width swap.
_TRANSPOSING = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise ImageReadError(path, "is a folder, not an image")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ImageReadError(path, f"cannot read: {e.strerror or e}") from None
    if size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")


def owned(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous, writable array: Pillow's arrays are read-only views of its buffer, and
    callers paint on masks and hand images to torch."""
    if arr.flags.writeable and arr.flags.c_contiguous:
        return arr
    return np.array(arr, order="C")


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale a high-bit-depth array to 0..255."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        a = np.nan_to_num(arr.astype(np.float32))
        # Float images are 0..1 by convention; fall back to clipping when they are not.
        if a.size and a.max() <= 1.0:
            a = a * 255.0
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)
    # Integer wider than 8 bits: 16-bit data (PNG/TIFF) is the common case.
    a = np.clip(arr.astype(np.int64), 0, 65535)
    return ((a * 255 + 32767) // 65535).astype(np.uint8)


def _pil_to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return np.repeat(_to_uint8(np.asarray(img))[:, :, None], 3, axis=2)
    if img.mode in ("L", "1", "LA", "La"):
        grey = np.asarray(img.convert("L"))
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode != "RGB":
        # Palette, RGBA, CMYK, YCbCr...: alpha is dropped (labels are drawn over the colour).
        img = img.convert("RGB")
    return np.asarray(img)


def _read_pil(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        # Large images warn about decompression bombs; big aerial tiles are legitimate input.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            return owned(_pil_to_rgb(img))


def _read_cv2(path: Path) -> np.ndarray | None:
    import cv2  # only for the rare files Pillow cannot decode; keeps imports light

    data = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if arr is None or arr.size == 0:
        return None
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB))
    if arr.shape[2] == 3:
        return np.ascontiguousarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB))
    return np.repeat(arr[:, :, :1], 3, axis=2)


def read_image(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB, EXIF orientation applied; ImageReadError naming the file otherwise."""
    path = Path(path)
    _check_file(path)
    try:
        return _read_pil(path)
    except Image.DecompressionBombError:
        raise ImageReadError(path, "image too large to decode safely") from None
    except UnidentifiedImageError:
        reason = "not an image (or a format segstudio cannot read)"
    except (OSError, ValueError, SyntaxError, TypeError, EOFError) as e:
        # Pillow raises OSError("image file is truncated ...") and others for damaged files.
        reason = f"damaged or unsupported image ({e})"
    try:
        arr = _read_cv2(path)
    except Exception:  # OSError, cv2.error: whatever OpenCV says, the message is `reason`
        arr = None
    if arr is None:
        raise ImageReadError(path, reason)
    return arr


def image_size(path: str | Path) -> tuple[int, int]:
    """(H, W) as read_image would return it, from the header only (no pixel decode)."""
    path = Path(path)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                try:
                    orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
                except Exception:  # a broken EXIF block must not hide the size
                    orientation = 1
        return (w, h) if orientation in _TRANSPOSING else (h, w)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        pass
    except Image.DecompressionBombError:
        raise ImageReadError(path, "image too large to decode safely") from None
    # Formats only OpenCV reads: decode once, it is the rare path.
    h, w = read_image(path).shape[:2]
    return h, w


def is_image_name(name: str) -> bool:
    """True for a file name with one of IMAGE_SUFFIXES (case-insensitive), hidden files excluded."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)
