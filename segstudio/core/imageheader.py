"""Image sizes from the file header alone, for the formats segstudio lists.

Pillow reads most headers, but a damaged ancillary chunk (a PNG `tEXt` with a bad CRC) makes it
give up on the whole file while OpenCV would still decode it, with no pixel limit. To check a
file's size before *any* decoder allocates its pixels, this module parses the few bytes that
hold it: PNG IHDR, JPEG SOFn, GIF screen, BMP DIB, WebP VP8/VP8L/VP8X, TIFF IFD0.

Structure walks are bounded. Pillow walks PNG chunks, JPEG segments and GIF blocks in Python, one
at a time: a 16 MB PNG of a million empty chunks takes it 9 s, a JPEG of empty segments 17 s.
With `strict=True` this module walks the same structure with hard caps (`_MAX_BLOCKS` steps,
`_MAX_SCAN` bytes) and raises `ExcessiveStructure` beyond them, so such a file is refused in
milliseconds before Pillow sees it. Real files have a few dozen blocks (PNG: plus one IDAT chunk
per 8-64 KB of data, counted separately).

`Header.min_bytes` is half the smallest file that can hold that many pixels in that encoding,
from hard limits of the codec (deflate compresses at most 1032:1; Huffman-coded JPEG spends at
least one bit per 8x8 block). A file shorter than that cannot be complete: a 12000x12000 JPEG header
followed by a few hundred bytes is refused as truncated instead of decoded into 144 MB of grey.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_MAX_SIDE = 1 << 30          # no format here stores more; larger values are corrupt headers
_MAX_SCAN = 16 * 2**20       # JPEG: how far to walk segments looking for the frame header
_MAX_BLOCKS = 4096           # PNG chunks (but IDAT), JPEG segments, GIF blocks before the image
_MAX_DATA_CHUNKS = 65536     # PNG IDAT chunks: 512 MB at libpng's 8 KB per chunk
_MAX_SUBBLOCKS = 65536       # GIF extension sub-blocks (255 bytes each: 16 MB)
_MAX_JUNK = 65536            # JPEG: stray bytes between segments, skipped as libjpeg does
_DEFLATE_MAX_RATIO = 1032    # zlib's best case (runs of 258 bytes coded in 2 bits)
_MARGIN = 2                  # min_bytes is half the codec's hard floor: room for our mistakes

# JPEG start-of-frame markers; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_SOF_HUFFMAN = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


class ExcessiveStructure(ValueError):
    """A file whose structure exceeds the walk's caps: damaged or hostile (the message says
    what, e.g. "PNG with over 4096 chunks")."""


@dataclass(frozen=True)
class Header:
    format: str          # "PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"
    width: int
    height: int
    min_bytes: int = 0   # a complete file of this size has at least this many bytes (0: no bound)


def read_header(path: str | Path | bytes, *, strict: bool = False) -> Header | None:
    """The header of `path` (or of a file's bytes: a zip member, embedded image data), or None
    when it is not one of the formats above or is damaged.

    With `strict`, PNG, JPEG and GIF files are walked to the end of what Pillow walks in Python
    (PNG: every chunk; JPEG: segments up to the frame header; GIF: blocks up to the first
    image), and ExcessiveStructure is raised when that walk exceeds its caps."""
    try:
        with io.BytesIO(path) if isinstance(path, bytes | bytearray) else open(path, "rb") as f:
            head = f.read(64)
            header = _parse(f, head)
            if strict and header is not None:
                _walk(f, header.format)
    except ExcessiveStructure:
        if strict:
            raise
        return None
    except (OSError, struct.error, ValueError):
        return None
    if header is None or not (0 < header.width <= _MAX_SIDE and 0 < header.height <= _MAX_SIDE):
        return None
    return header


def _parse(f: BinaryIO, head: bytes) -> Header | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(head)
    if head.startswith(b"\xff\xd8"):
        return _jpeg(f)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        w, h = struct.unpack("<HH", head[6:10])
        return Header("GIF", w, h)
    if head.startswith(b"BM"):
        return _bmp(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(f, head)
    return None


def _png(head: bytes) -> Header | None:
    if head[12:16] != b"IHDR":
        return None
    w, h, depth, color = struct.unpack(">IIBB", head[16:26])
    channels = _PNG_CHANNELS.get(color)
    if channels is None or depth not in (1, 2, 4, 8, 16):
        return None
    raw = h * ((w * channels * depth + 7) // 8)
    return Header("PNG", w, h, raw // (_DEFLATE_MAX_RATIO * _MARGIN))


def _jpeg(f: BinaryIO) -> Header | None:
    f.seek(2)
    scanned = junk = 0
    for _ in range(_MAX_BLOCKS):
        if scanned > _MAX_SCAN:
            raise ExcessiveStructure(f"JPEG with over {_MAX_SCAN} bytes before its frame header")
        byte = f.read(1)
        while byte and byte != b"\xff":   # stray bytes: libjpeg and Pillow skip them
            junk += 1
            if junk > _MAX_JUNK:
                raise ExcessiveStructure(f"JPEG with over {_MAX_JUNK} stray bytes")
            byte = f.read(1)
        marker = f.read(1)
        fill = 0
        while marker == b"\xff":          # fill bytes
            fill += 1
            if fill > _MAX_JUNK:
                raise ExcessiveStructure(f"JPEG with over {_MAX_JUNK} fill bytes")
            marker = f.read(1)
        if not marker:
            return None
        m = marker[0]
        if m == 0x00 or m == 0x01 or 0xD0 <= m <= 0xD7:
            continue                 # stuffed byte or standalone marker: no length
        if m in (0xD9, 0xDA):
            return None              # end of image, or scan data, before any frame header
        length_bytes = f.read(2)
        if len(length_bytes) < 2:
            return None
        (length,) = struct.unpack(">H", length_bytes)
        if length < 2:
            return None
        if m in _SOF:
            data = f.read(6)
            if len(data) < 6:
                return None
            _precision, h, w, _components = struct.unpack(">BHHB", data)
            # Huffman coding spends at least one bit per 8x8 block of the largest component
            # (progressive DC scans included); arithmetic coding has no such floor.
            blocks = ((w + 7) // 8) * ((h + 7) // 8)
            return Header("JPEG", w, h, blocks // (8 * _MARGIN) if m in _SOF_HUFFMAN else 0)
        f.seek(length - 2, 1)
        scanned += length + 2
    raise ExcessiveStructure(f"JPEG with over {_MAX_BLOCKS} segments before its frame header")


def _walk(f: BinaryIO, fmt: str) -> None:
    """Walk what Pillow walks in Python (after the header was found), within the caps."""
    if fmt == "PNG":
        _walk_png(f)
    elif fmt == "GIF":
        _walk_gif(f)


def _walk_png(f: BinaryIO) -> None:
    f.seek(8)
    other = data = 0
    while True:
        head = f.read(8)
        if len(head) < 8:
            return                   # truncated: the decoder says so
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IEND":
            return
        if kind == b"IDAT":
            data += 1
            if data > _MAX_DATA_CHUNKS:
                raise ExcessiveStructure(f"PNG with over {_MAX_DATA_CHUNKS} data chunks")
        else:
            other += 1
            if other > _MAX_BLOCKS:
                raise ExcessiveStructure(f"PNG with over {_MAX_BLOCKS} chunks besides its data")
        f.seek(length + 4, 1)        # data and CRC


def _walk_gif(f: BinaryIO) -> None:
    f.seek(10)
    flags = f.read(3)
    if len(flags) < 3:
        return
    if flags[0] & 0x80:              # global colour table
        f.seek(3 << ((flags[0] & 7) + 1), 1)
    subblocks = 0
    for _ in range(_MAX_BLOCKS):
        kind = f.read(1)
        if kind != b"\x21":          # an image descriptor, the trailer, or damage: done
            return
        f.read(1)                    # extension label
        while True:
            size = f.read(1)
            if not size or size == b"\x00":
                break
            subblocks += 1
            if subblocks > _MAX_SUBBLOCKS:
                raise ExcessiveStructure(f"GIF with over {_MAX_SUBBLOCKS} extension sub-blocks")
            f.seek(size[0], 1)
        if not size:
            return
    raise ExcessiveStructure(f"GIF with over {_MAX_BLOCKS} extension blocks before its image")


def _bmp(head: bytes) -> Header | None:
    (dib,) = struct.unpack("<I", head[14:18])
    if dib == 12:                    # OS/2 BITMAPCOREHEADER: 16-bit sides
        w, h = struct.unpack("<HH", head[18:22])
    elif dib >= 40:
        w, h = struct.unpack("<ii", head[18:26])
    else:
        return None
    return Header("BMP", w, abs(h))  # a negative height means top-down rows


def _webp(head: bytes) -> Header | None:
    kind = head[12:16]
    if kind == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", head[26:30])
        return Header("WEBP", w & 0x3FFF, h & 0x3FFF)
    if kind == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return Header("WEBP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X":
        w = int.from_bytes(head[24:27], "little") + 1
        h = int.from_bytes(head[27:30], "little") + 1
        return Header("WEBP", w, h)
    return None


def _tiff(f: BinaryIO, head: bytes) -> Header | None:
    order = "<" if head[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", head[4:8])
    f.seek(offset)
    (count,) = struct.unpack(order + "H", f.read(2))
    if count > 4096:                 # real IFDs hold a few dozen tags
        return None
    entries = f.read(12 * count)
    size: dict[int, int] = {}
    for i in range(len(entries) // 12):
        tag, typ, n = struct.unpack(order + "HHI", entries[12 * i:12 * i + 8])
        if tag in (256, 257) and n == 1:
            value = entries[12 * i + 8:12 * i + 12]
            if typ == 3:             # SHORT
                size[tag] = struct.unpack(order + "H", value[:2])[0]
            elif typ == 4:           # LONG
                size[tag] = struct.unpack(order + "I", value)[0]
    if 256 not in size or 257 not in size:
        return None
    return Header("TIFF", size[256], size[257])
