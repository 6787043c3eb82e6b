"""Reading user images robustly to RGB uint8.

Pillow first (it handles EXIF orientation, palettes, 16-bit greyscale and non-ASCII paths);
OpenCV as a fallback for files Pillow cannot open (e.g. a PNG with a damaged text chunk) and
TIFF codecs it lacks, fed from bytes read in Python so non-ASCII paths work there too. Every
failure becomes an ImageReadError naming the file: a user's folder may hold anything.

One pixel limit guards every decode (images here, labels in `labels.py`): the size in the
file's header is checked against `max_pixels()` before a decoder allocates anything, so a
400 KB file claiming 20000x20000 pixels is refused in microseconds instead of becoming 1.6 GB.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segstudio.core.errors import ImageReadError, PathError
from segstudio.core.imageheader import ExcessiveStructure, Header, read_header

# GIF and animated WebP: the first frame is the image.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")

# 100 megapixels: 10000x10000, or 8000x6000 (a 48 MP camera) with room to spare. The decoded
# RGB image is 300 MB, its label 100 MB and a prediction's confidence map 400 MB.
DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_ENV = "SEGSTUDIO_MAX_PIXELS"
_max_pixels_override: int | None = None

# segstudio checks every image's pixel count against its own limit and refuses with its own
# message, so Pillow's warning (between its limit and twice it) is noise; filtered once here:
# `warnings.catch_warnings` around each open is not thread-safe (images decode on worker
# threads), and it leaked the warning.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

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


def set_max_pixels(pixels: int | None) -> None:
    """Set the pixel limit for this process (None: back to $SEGSTUDIO_MAX_PIXELS or the
    default). ValueError for a limit below 1."""
    global _max_pixels_override
    if pixels is not None and (isinstance(pixels, bool) or int(pixels) != pixels or pixels < 1):
        raise ValueError(f"pixel limit must be a whole number >= 1, got {pixels!r}")
    _max_pixels_override = None if pixels is None else int(pixels)


def _limit() -> tuple[int, str | None]:
    """(limit, problem): problem says what is wrong with $SEGSTUDIO_MAX_PIXELS, if anything."""
    if _max_pixels_override is not None:
        return _max_pixels_override, None
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS, None
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        return DEFAULT_MAX_PIXELS, (f"{MAX_PIXELS_ENV}={text!r} is not a whole number of pixels "
                                    f"(e.g. {MAX_PIXELS_ENV}=200000000)")
    return int(value), None


def max_pixels() -> int:
    """The largest width x height segstudio decodes: set_max_pixels(), else
    $SEGSTUDIO_MAX_PIXELS, else DEFAULT_MAX_PIXELS. ValueError when the variable is malformed."""
    limit, problem = _limit()
    if problem:
        raise ValueError(problem)
    return limit


def size_problem(width: int, height: int) -> str | None:
    """Why an image of `width` x `height` pixels is refused, in words; None when admitted."""
    limit, problem = _limit()
    if problem:
        return f"cannot check the image size: {problem}"
    pixels = width * height
    if pixels <= limit:
        return None
    return (f"image is {width}x{height} ({pixels / 1e6:.0f} MP), over segstudio's limit of "
            f"{limit / 1e6:g} MP; if the file is genuine, raise the limit with "
            f"{MAX_PIXELS_ENV}={pixels}")


def check_header(path: Path, header: Header, error: type[PathError], *,
                 complete: bool = True) -> None:
    """`error(path, ...)` when the header's size is over the limit or, with `complete`, when
    the file is too short to hold that many pixels (truncated), so nothing gets decoded."""
    problem = size_problem(header.width, header.height)
    if problem:
        raise error(path, problem)
    if complete and header.min_bytes:
        try:
            size = path.stat().st_size
        except OSError as e:
            raise error(path, f"cannot read: {e.strerror or e}") from None
        if size < header.min_bytes:
            raise error(path, f"truncated: a {header.width}x{header.height} {header.format} "
                        f"needs at least {header.min_bytes} bytes, the file has {size}")


@contextlib.contextmanager
def open_pil(path: Path, error: type[PathError] = ImageReadError, *,
             complete: bool = True) -> Iterator[Image.Image]:
    """The Pillow image of `path` with only its header read, checked by `check_header` (its
    pixel count, and with `complete` that the file can hold them). Decoding is the caller's.
    Pillow's own errors (UnidentifiedImageError, OSError...) pass through."""
    limit, _ = _limit()
    # Pillow refuses images over twice its own MAX_IMAGE_PIXELS at open; keep that bound at or
    # above ours, so our limit (and our message) decides.
    if Image.MAX_IMAGE_PIXELS is not None and limit > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limit
    try:
        # Before Pillow walks the file's chunks / segments in Python: see imageheader.
        parsed = read_header(path, strict=True)
    except ExcessiveStructure as exc:
        raise error(path, f"damaged or hostile file: {exc}") from None
    try:
        img = Image.open(path)
    except Image.DecompressionBombError:
        if parsed is not None:
            check_header(path, parsed, error, complete=False)
        raise error(path, f"image too large to decode safely (limit {limit / 1e6:g} MP; "
                    f"raise it with {MAX_PIXELS_ENV})") from None
    with img:
        w, h = img.size
        header = parsed if complete else None
        if header is None or (header.width, header.height) != (w, h):
            header = Header(img.format or "image", w, h)
        check_header(path, header, error, complete=complete)
        yield img


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


def _read_cv2(path: Path, width: int, height: int) -> np.ndarray:
    """Decode with OpenCV a file whose header size (`width` x `height`) was already checked."""
    import cv2  # only for the rare files Pillow cannot decode; keeps imports light

    data = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if arr is None or arr.size == 0:
        raise ValueError("OpenCV cannot decode it either")
    if arr.shape[:2] != (height, width):
        raise ValueError(f"decoded {arr.shape[1]}x{arr.shape[0]}, header says {width}x{height}")
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB))
    if arr.shape[2] == 3:
        return np.ascontiguousarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB))
    return np.repeat(arr[:, :, :1], 3, axis=2)


def _header_or_refuse(path: Path, reason: str) -> Header:
    """The header of a file Pillow could not open, parsed here, or ImageReadError(reason)."""
    header = read_header(path)
    if header is None:
        raise ImageReadError(path, reason)
    return header


def _fallback(path: Path, reason: str) -> np.ndarray:
    """OpenCV for a file Pillow cannot open (e.g. a PNG whose text chunk has a bad CRC): only
    after our own header parse has checked its size, never blind."""
    header = _header_or_refuse(path, reason)
    check_header(path, header, ImageReadError)
    try:
        return _read_cv2(path, header.width, header.height)
    except Exception:  # OSError, cv2.error, ValueError: whatever OpenCV says, it is `reason`
        raise ImageReadError(path, reason) from None


def read_image(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB, EXIF orientation applied; ImageReadError naming the file otherwise.

    The size in the header is checked against `max_pixels()` before any decoder runs, on
    every path (Pillow, and the OpenCV fallback for files Pillow cannot open)."""
    path = Path(path)
    _check_file(path)
    try:
        with open_pil(path, ImageReadError) as img:
            fmt, (width, height) = img.format, img.size
            try:
                img.load()
                img = ImageOps.exif_transpose(img)
                return owned(_pil_to_rgb(img))
            except (OSError, ValueError, SyntaxError, TypeError, EOFError) as e:
                # Pillow raises OSError("image file is truncated ...") and others for damaged
                # files. OpenCV only gets another try at TIFF (codecs Pillow lacks): for other
                # formats it would paint the missing rows grey and call that the image.
                reason = f"damaged or unsupported image ({e})"
                if fmt != "TIFF":
                    raise ImageReadError(path, reason) from None
    except UnidentifiedImageError:
        return _fallback(path, "not an image (or a format segstudio cannot read)")
    except (OSError, ValueError, SyntaxError, TypeError, EOFError) as e:
        return _fallback(path, f"damaged or unsupported image ({e})")
    try:
        return _read_cv2(path, width, height)
    except Exception:
        raise ImageReadError(path, reason) from None


def image_size(path: str | Path) -> tuple[int, int]:
    """(H, W) as read_image would return it, from the header only: never decodes pixels.

    An image over `max_pixels()` is refused here too (ImageReadError), as read_image would."""
    path = Path(path)
    _check_file(path)
    try:
        with open_pil(path, ImageReadError, complete=False) as img:
            w, h = img.size
            try:
                orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
            except Exception:  # a broken EXIF block must not hide the size
                orientation = 1
        return (w, h) if orientation in _TRANSPOSING else (h, w)
    except UnidentifiedImageError:
        reason = "not an image (or a format segstudio cannot read)"
    except (OSError, ValueError, SyntaxError, TypeError, EOFError) as e:
        reason = f"damaged or unsupported image ({e})"
    # What read_image's OpenCV fallback would decode: our own header parse, or a refusal.
    header = _header_or_refuse(path, reason)
    check_header(path, header, ImageReadError, complete=False)
    return header.height, header.width


def is_image_name(name: str) -> bool:
    """True for a file name with one of IMAGE_SUFFIXES (case-insensitive), hidden files excluded."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)
