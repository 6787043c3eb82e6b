"""Generators of hostile files (made in the test, never committed) and a bounded-cost probe.

`zero_png(20000, 20000, bad_text_crc=True)` is the issue's decompression bomb: a valid 395 KB
PNG of 400 million zero pixels whose damaged `tEXt` chunk makes Pillow give up while OpenCV
would decode it. It is built in milliseconds: a zlib stream of zeros repeats itself after
every Z_FULL_FLUSH, so one compressed megabyte is copied instead of compressing 400 MB.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
_CHUNK = 1 << 20


def _zeros_zlib(n: int) -> bytes:
    """A valid zlib stream of `n` zero bytes (n > 1 MB), made without compressing them all."""
    c = zlib.compressobj(9)
    first = c.compress(bytes(_CHUNK)) + c.flush(zlib.Z_FULL_FLUSH)
    middle = c.compress(bytes(_CHUNK)) + c.flush(zlib.Z_FULL_FLUSH)
    k, rest = divmod(n, _CHUNK)
    tail = c.compress(bytes(rest)) + c.flush()
    adler = ((n % 65521) << 16) | 1     # adler32 of n zero bytes: a = 1, b = n mod 65521
    return first + middle * (k - 1) + tail[:-4] + struct.pack(">I", adler)


def png_chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc & 0xFFFFFFFF)


def zero_png(width: int, height: int, *, bad_text_crc: bool = False,
             idat: bytes | None = None) -> bytes:
    """An 8-bit greyscale PNG of zeros (or with the given IDAT payload, e.g. b"" for none);
    with `bad_text_crc` a tEXt chunk before the data has a wrong CRC."""
    if idat is None:
        raw = height * (width + 1)
        idat = _zeros_zlib(raw) if raw > 2 * _CHUNK else zlib.compress(bytes(raw))
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + png_chunk(b"tEXt", b"Comment\x00hostile", 1 if bad_text_crc else None)
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A complete little JPEG whose frame header claims `width` x `height`: a few hundred
    bytes of data (with an end marker) for what would decode to width x height pixels."""
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16), 128, np.uint8)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def small_png(path: Path, size: tuple[int, int] = (48, 64), value: int = 90) -> Path:
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path)
    return path


def probe(call: str, *, setup: str = "", env: dict[str, str] | None = None) -> dict:
    """Run `call` (an expression) in a fresh interpreter; returns {"error": "Type: message" or
    None, "seconds", "extra_mb": peak resident memory above the state after `setup`}.

    A child process gives a clean memory peak: in the test process an earlier test may
    already have pushed the peak above what a bomb would add.
    """
    code = "\n".join([
        "import json, resource, sys, time",
        f"sys.path.insert(0, {str(ROOT)!r})",
        textwrap.dedent(setup),
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss",
        "t0 = time.perf_counter()",
        "try:",
        f"    {call}",
        "    error = None",
        "except BaseException as e:",
        "    error = f'{type(e).__name__}: {e}'",
        "seconds = time.perf_counter() - t0",
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss",
        "print(json.dumps({'error': error, 'seconds': seconds, 'extra_mb': (peak - base) / 1024}))",
    ])
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=child_env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def one_line(text: str) -> str:
    """The single non-empty line of `text` (asserting there is exactly one, no traceback)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]
