"""Image sizes from the file header alone, for the formats segstudio lists.

Pillow reads most headers, but a damaged ancillary chunk (a PNG `tEXt` with a bad CRC) makes it
give up on the whole file while OpenCV would still decode it, with no pixel limit. To check a
file's size before *any* decoder allocates its pixels, this module parses the few bytes that
hold it: PNG IHDR, JPEG SOFn, GIF screen, BMP DIB, WebP VP8/VP8L/VP8X, TIFF IFD0. Reads are
bounded (a few KB, at most `_MAX_SCAN` bytes skipped through JPEG segments), so a hostile file
cannot make this slow.

`Header.min_bytes` is the smallest file that can hold that many pixels in that encoding, from
hard limits of the codec (deflate compresses at most 1032:1; Huffman-coded JPEG spends at least
one bit per 8x8 block). A file shorter than that cannot be complete: a 12000x12000 JPEG header
followed by a few hundred bytes is refused as truncated instead of decoded into 144 MB of grey.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_MAX_SIDE = 1 << 30          # no format here stores more; larger values are corrupt headers
_MAX_SCAN = 16 * 2**20       # JPEG: how far to walk segments looking for the frame header
_DEFLATE_MAX_RATIO = 1032    # zlib's best case (runs of 258 bytes coded in 2 bits)

# JPEG start-of-frame markers; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_SOF_HUFFMAN = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True)
class Header:
    format: str          # "PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"
    width: int
    height: int
    min_bytes: int = 0   # a complete file of this size has at least this many bytes (0: no bound)


def read_header(path: str | Path) -> Header | None:
    """The header of `path`, or None when it is not one of the formats above or is damaged."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            header = _parse(f, head)
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
    return Header("PNG", w, h, raw // _DEFLATE_MAX_RATIO)


def _jpeg(f: BinaryIO) -> Header | None:
    f.seek(2)
    scanned = 0
    while scanned < _MAX_SCAN:
        byte = f.read(1)
        if byte != b"\xff":
            return None              # every segment starts with 0xFF: not a JPEG (or damaged)
        marker = f.read(1)
        while marker == b"\xff":    # fill bytes
            marker = f.read(1)
        if not marker:
            return None
        m = marker[0]
        if m == 0x01 or 0xD0 <= m <= 0xD7:
            continue                 # standalone markers carry no length
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
            return Header("JPEG", w, h, blocks // 8 if m in _SOF_HUFFMAN else 0)
        f.seek(length - 2, 1)
        scanned += length + 2
    return None


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
