"""Bounds on what an import reads from a file it did not make (docs/robustness.md, "Imports").

Every import reads files someone else wrote: a JSON nested ten thousand deep, a zip member
that inflates to gigabytes, a mask whose header claims 12000x12000 pixels, an "image" that is
a gigabyte of zeros behind a valid header, a value of the wrong JSON type. These helpers turn
each into a FormatError naming the file (and the item), before anything large is allocated:

- JSON: at most MAX_JSON_BYTES, nesting too deep for the parser is one line;
- zip members: encrypted or unsupported compression refused by name, declared and actually
  read sizes bounded;
- images and masks from bytes or files: the header is parsed first and its size checked
  against segstudio's pixel limit (and the label's image) before any decoder runs; the
  file may be at most MAX_BYTES_PER_PIXEL per pixel of its header, plus MAX_METADATA_BYTES.
"""

from __future__ import annotations

import io
import json
import re
import reprlib
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from segstudio.core.errors import SegstudioError
from segstudio.core.formats.common import FormatError
from segstudio.core.imageheader import ExcessiveStructure, read_header
from segstudio.core.imageio import max_pixels, size_problem

# COCO's largest official file (instances_train2017.json) is 448 MB; Python holds a parsed
# JSON in about 8x its size, so this bounds the parse at a few GB instead of the disk's size.
MAX_JSON_BYTES = 1 << 30
# A 16-bit RGBA pixel stored raw (TIFF, PNG without compression) is 8 bytes; more than that
# per pixel of the header cannot be image data. Plus room for EXIF / ICC / XMP blocks.
MAX_BYTES_PER_PIXEL = 8
MAX_METADATA_BYTES = 16 << 20
MAX_TEXT_BYTES = 64 << 20   # labelmap.txt, ImageSets lists: text, one line per image
# zipfile can read these; anything else (e.g. Deflate64, PPMd) raises NotImplementedError.
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
               zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60
_repr.maxlist = _repr.maxdict = 4
_repr.maxlevel = 2


def short(value: Any) -> str:
    """A repr of bounded length and depth for messages (a hostile value may be a megabyte
    string or a list nested a thousand deep, whose plain repr recurses or floods the line)."""
    return _repr.repr(value)


def is_int(value: Any) -> bool:
    """A JSON whole number (True / False are not ids or coordinates)."""
    return isinstance(value, int) and not isinstance(value, bool)


def read_json(path: Path, what: str = "JSON") -> Any:
    """The parsed file; FormatError naming it when unreadable, too large or too deeply nested."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise FormatError(path, f"{what} of {size:,} bytes: over segstudio's limit of "
                              f"{MAX_JSON_BYTES:,} for one file")
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise FormatError(path, f"cannot read {what}: nested too deeply") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(path, f"cannot read {what} ({e})") from None


def member_limit() -> int:
    """The largest image or mask member read from a zip: the largest image segstudio decodes,
    stored raw."""
    try:
        pixels = max_pixels()
    except ValueError:   # a malformed variable: the image reads say so; bound by the default
        from segstudio.core.imageio import DEFAULT_MAX_PIXELS as pixels
    return MAX_BYTES_PER_PIXEL * pixels + MAX_METADATA_BYTES


def member_problem(info: zipfile.ZipInfo, limit: int) -> str | None:
    """Why a zip member is not read, in words; None when it may be."""
    if info.flag_bits & 0x1:
        return "encrypted zip member (segstudio reads unencrypted zips only)"
    if info.compress_type not in ZIP_METHODS:
        return (f"zip member compressed with method {info.compress_type}, which segstudio "
                f"cannot read (it reads {', '.join(ZIP_METHODS.values())})")
    if info.file_size > limit:
        return f"zip member of {info.file_size:,} bytes: over the limit of {limit:,}"
    return None


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: Path, limit: int,
                amount: int | None = None) -> bytes:
    """The member's bytes (or its first `amount`), never more than `limit` whatever its header
    says; FormatError naming `where` otherwise."""
    problem = member_problem(info, limit)
    if problem:
        raise FormatError(where, problem)
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1 if amount is None else min(amount, limit + 1))
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError, zlib.error,
            zipfile.BadZipFile) as e:
        raise FormatError(where, f"cannot read zip member ({e})") from None
    if len(data) > limit:
        raise FormatError(where, f"zip member inflates past the limit of {limit:,} bytes")
    return data


def image_problem(data: bytes | Path, size: int) -> str | None:
    """Why these image bytes (or file, `size` bytes long) are not put into a project."""
    try:
        header = read_header(data, strict=True)
    except ExcessiveStructure as e:
        return f"damaged or hostile file: {e}"
    if header is None:
        return "not an image (or a format segstudio cannot read)"
    problem = size_problem(header.width, header.height)
    if problem:
        return problem
    most = MAX_BYTES_PER_PIXEL * header.width * header.height + MAX_METADATA_BYTES
    if size > most:
        return (f"{size:,} bytes for a {header.width}x{header.height} image: more than any "
                f"encoding of it needs ({most:,}); not an image")
    return None


def check_image(data: bytes | Path, where: Path) -> None:
    """FormatError naming `where` unless `data` is an image segstudio may copy and read."""
    try:
        size = len(data) if isinstance(data, bytes) else Path(data).stat().st_size
    except OSError as e:
        raise FormatError(where, f"cannot read ({e.strerror or e})") from None
    problem = image_problem(data, size)
    if problem:
        raise FormatError(where, problem)


def open_png(data: bytes | Path, where: Path,
             expected: Sequence[tuple[int, int]] | None = None) -> Image.Image:
    """A decoded label image; FormatError naming `where` when it is not readable, over the
    pixel limit, or (with `expected`, the (H, W) its image may have) another size, before
    decoding."""
    try:
        header = read_header(data, strict=True)
    except ExcessiveStructure as e:
        raise FormatError(where, f"damaged or hostile file: {e}") from None
    if header is not None:
        _check_size(header.width, header.height, where, expected)
    try:
        img = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        _check_size(*img.size, where, expected)   # a format our header parser does not know
        img.load()
        return img
    except SegstudioError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        # Pillow names an in-memory file "<_io.BytesIO object at 0x...>": noise in the line
        text = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-f]+>", "", str(e)) or type(e).__name__
        raise FormatError(where, f"not a readable PNG ({text})") from None


def _check_size(width: int, height: int, where: Path,
                expected: Sequence[tuple[int, int]] | None) -> None:
    problem = size_problem(width, height)
    if problem:
        raise FormatError(where, problem)
    if expected and (height, width) not in expected:
        h, w = expected[0]
        raise FormatError(where, f"mask is {width}x{height}, its image {w}x{h}; not imported")
