"""Verified transfers of weight files: download from a URL or copy from a local file.

The bytes go to a hidden temporary file beside the target (`.<name>.<random>.part`), are
hashed on the way, and the file is renamed into place only when the transfer is complete and
its SHA-256 starts with the expected prefix (torchvision's convention: `resnet34-b627a593.pth`
carries the first 8 hex digits of its SHA-256). Every failure (HTTP error, refused or closed
connection, short body, hash mismatch, cancel, Ctrl+C, full disk) removes the temporary file,
so an interrupted transfer is never taken for a valid file.

stdlib urllib only: one GET with a progress callback does not earn a dependency. No torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from segstudio import __version__
from segstudio.core.errors import PathError, SegstudioError
from segstudio.engine.weights_deadline import Deadline

CHUNK = 256 * 1024
TIMEOUT_S = 30.0          # per socket operation: a stalled server fails instead of hanging
# A server may dribble a byte every few seconds (in its headers too) and never trip TIMEOUT_S:
# the whole download, from connecting on, has a deadline too (weights_deadline), generous
# for a slow line: DEADLINE_BASE_S plus the expected size at MIN_RATE bytes/s (resnet34's
# 87 MB: 19 minutes; vgg16's 553 MB: 1.6 hours).
DEADLINE_ENV = "SEGSTUDIO_DOWNLOAD_DEADLINE_S"
DEADLINE_BASE_S = 300.0
MIN_RATE = 100_000
# When neither the registry nor the server gives a size, no body is read past this (the
# largest known file, vgg16_bn, is 554 MB): a server with no Content-Length, or a mirror file
# linked to /dev/zero, otherwise fills the disk.
MAX_UNKNOWN_BYTES = 2 << 30
PART_SUFFIX = ".part"
STALE_PART_S = 3600.0     # a .part untouched this long belongs to a process that was killed
SCHEMES = ("http", "https", "file")

# (bytes done, bytes expected or None): called at most every PROGRESS_S, and once at the end.
RawProgress = Callable[[int, "int | None"], None]
PROGRESS_S = 0.1


class WeightsError(SegstudioError):
    """Anything a user can get wrong with weights: an unknown name, a bad mirror."""


class WeightsFileError(PathError, WeightsError):
    """A weights file that could not be fetched, copied or verified; `.path` names it."""


class WeightsUnreachable(WeightsFileError):
    """The server could not be reached at all (no route, no name, a firewall): the CLI and
    the app add their own way round it (a mirror, importing a copy of the file)."""


class FetchCancelled(WeightsError):
    """The transfer was cancelled; nothing was kept."""


def check_url(url: str) -> str:
    """`url` when its scheme is one segstudio fetches from, else WeightsError (one line)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - parsing it raises ValueError for a bad one ("http://h:x/")
    except ValueError as exc:   # "http://[::1": Invalid IPv6 URL
        raise WeightsError(f"{url!r} is not a usable URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES or not parts.path:
        raise WeightsError(f"{url!r} is not an http://, https:// or file:// URL")
    return url


def deadline_for(size: int | None) -> float:
    """Seconds a download of `size` bytes may take in all: $SEGSTUDIO_DOWNLOAD_DEADLINE_S, else
    DEADLINE_BASE_S + size / MIN_RATE. WeightsError for a malformed variable."""
    text = os.environ.get(DEADLINE_ENV, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > 0 and value != float("inf")):
            raise WeightsError(f"{DEADLINE_ENV}={text!r} is not a number of seconds above 0")
        return value
    return DEADLINE_BASE_S + (size if size is not None else MAX_UNKNOWN_BYTES) / MIN_RATE


def _open(url: str, method: str, timeout: float, target: Path,
          deadline: Deadline) -> http.client.HTTPResponse:
    """The response once its status line and headers came, all within `deadline`."""
    request = urllib.request.Request(
        check_url(url), method=method, headers={"User-Agent": f"segstudio/{__version__}"}
    )
    try:
        return deadline.opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise WeightsFileError(target, f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if deadline.passed():
            raise _too_slow(target, url, deadline.limit, None, None) from None
        reason = exc.reason
        text = getattr(reason, "strerror", None) or str(reason)
        raise WeightsUnreachable(target, f"cannot reach {url} ({text})") from None
    except (TimeoutError, OSError, ValueError, http.client.HTTPException) as exc:
        if deadline.passed():   # the timer cut a server that dribbled its headers
            raise _too_slow(target, url, deadline.limit, None, None) from None
        raise WeightsUnreachable(target, f"cannot reach {url} ({_describe(exc)})") from None


def _too_slow(target: Path, url: str, limit: float, done: int | None, total: int | None
              ) -> WeightsFileError:
    if done is None:   # still in the status line or the headers
        came = "the server's headers did not all come"
    else:
        came = f"{done:,} of {'?' if total is None else f'{total:,}'} bytes came"
    return WeightsFileError(
        target, f"download from {url} did not finish in {limit:g} s ({came}); "
        f"nothing was kept (a slow server? raise the limit with {DEADLINE_ENV})")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def content_length(url: str, target: Path, timeout: float = 10.0) -> int | None:
    """Size the server announces for `url` (HTTP HEAD), None when it does not say."""
    # the whole HEAD, headers included, within `timeout`: a dribbling server cannot stall it
    with Deadline(timeout) as deadline, _open(url, "HEAD", timeout, target, deadline) as response:
        if deadline.passed():
            raise _too_slow(target, url, timeout, None, None)
        value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def sha256_of(path: Path, cancel: Callable[[], bool] | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            if cancel is not None and cancel():
                raise FetchCancelled(f"checking {path.name} cancelled")
            digest.update(block)
    return digest.hexdigest()


def mismatch(digest: str, prefix: str) -> str | None:
    """What is wrong with a file of SHA-256 `digest` that should start with `prefix`."""
    if digest.startswith(prefix.lower()):
        return None
    return f"SHA-256 starts with {digest[:len(prefix)]}, expected {prefix}"


def download_verified(
    url: str, dest: Path, sha256_prefix: str, *, progress: RawProgress | None = None,
    cancel: Callable[[], bool] | None = None, timeout: float = TIMEOUT_S,
    size: int | None = None, deadline: float | None = None,
) -> Path:
    """GET `url` into `dest` (renamed into place only when complete and verified).

    `size`: the bytes expected (the registry's); no more is ever read, and a server announcing
    another size is refused before the body. `deadline`: seconds for the whole download
    (default `deadline_for(size)`); past it the download stops, reporting how far it got."""
    limit = deadline_for(size) if deadline is None else deadline
    _prepare(dest)
    # One deadline from before connecting to the last byte: the headers count too (a server
    # dribbling its status line never trips the per-read timeout).
    with Deadline(limit) as watch, _open(url, "GET", min(timeout, limit), dest, watch) \
            as response:
        if watch.passed():   # the cut ended the headers early: http.client took what came
            raise _too_slow(dest, url, limit, None, None)
        announced = _length(response)
        if size is not None and announced not in (None, size):
            raise WeightsFileError(dest, f"{url} announces {announced:,} bytes, expected "
                                   f"{size:,}: not this file; nothing was kept")
        total = size if size is not None else announced
        most = total if total is not None else MAX_UNKNOWN_BYTES
        read1 = getattr(response, "read1", response.read)

        def chunks() -> Iterator[bytes]:
            done = 0
            while True:
                if watch.passed():
                    raise _too_slow(dest, url, limit, done, total)
                try:
                    # read1: what has arrived, so progress is reported while bytes trickle
                    block = read1(min(CHUNK, most + 1 - done))
                except (TimeoutError, OSError, ValueError, http.client.HTTPException) as exc:
                    if watch.passed():
                        raise _too_slow(dest, url, limit, done, total) from None
                    raise WeightsFileError(
                        dest, f"download from {url} failed ({_describe(exc)}); nothing was kept"
                    ) from None
                if not block:
                    if watch.passed():   # the cut ended the body early, not the server
                        raise _too_slow(dest, url, limit, done, total)
                    return
                done += len(block)
                if done > most:
                    raise WeightsFileError(
                        dest, f"download from {url} sent more than the {most:,} bytes expected "
                        "(no size announced, or an endless file); nothing was kept")
                yield block

        return _write_verified(dest, chunks(), total, sha256_prefix, f"download from {url}",
                               progress, cancel)


def copy_verified(
    src: Path, dest: Path, sha256_prefix: str, *, progress: RawProgress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Copy the local file `src` into `dest` when its SHA-256 starts with `sha256_prefix`."""
    src = Path(src).expanduser()
    if not src.is_file():
        raise WeightsFileError(src, "no such file")
    # Verify first, so a wrong file is refused without writing anything beside `dest`.
    try:
        problem = mismatch(sha256_of(src, cancel), sha256_prefix)
    except OSError as exc:
        raise WeightsFileError(src, f"cannot read ({_describe(exc)})") from None
    if problem:
        raise WeightsFileError(src, f"{problem}: not {dest.name}")
    if src.resolve() == dest.resolve():
        return dest
    _prepare(dest)
    try:
        total = src.stat().st_size
        with open(src, "rb") as f:
            return _write_verified(dest, iter(lambda: f.read(CHUNK), b""), total, sha256_prefix,
                                   f"copy of {src}", progress, cancel)
    except OSError as exc:
        raise WeightsFileError(src, f"cannot read ({_describe(exc)})") from None


def _length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _prepare(dest: Path) -> None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = f"cannot create the folder ({_describe(exc)})"
        raise WeightsFileError(dest.parent, problem) from None
    now = time.time()
    for part in dest.parent.glob(f".{dest.name}.*{PART_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()


def _write_verified(
    dest: Path, chunks: Iterator[bytes], total: int | None, prefix: str, what: str,
    progress: RawProgress | None, cancel: Callable[[], bool] | None,
) -> Path:
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}{PART_SUFFIX}")
    digest = hashlib.sha256()
    done, last = 0, 0.0
    try:  # from before the file exists: a Ctrl+C right after creating it still removes it
        try:
            # O_EXCL: a name of our own; 0o666: the kept file gets the mode umask gives any file
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except OSError as exc:
            raise WeightsFileError(dest, f"cannot write ({_describe(exc)})") from None
        with os.fdopen(fd, "wb") as out:
            if progress is not None:
                progress(0, total)
            for block in chunks:
                if cancel is not None and cancel():
                    raise FetchCancelled(f"{what} cancelled; nothing was kept")
                try:
                    out.write(block)
                except OSError as exc:
                    raise WeightsFileError(dest, f"cannot write ({_describe(exc)})") from None
                digest.update(block)
                done += len(block)
                now = time.monotonic()
                if progress is not None and now - last >= PROGRESS_S:
                    progress(done, total)
                    last = now
            if total is not None and done != total:
                # urllib returns a short body without an error when the server hangs up.
                raise WeightsFileError(
                    dest, f"{what} ended after {done} of {total} bytes; nothing was kept"
                )
            problem = mismatch(digest.hexdigest(), prefix)
            if problem:
                raise WeightsFileError(
                    dest, f"{what}: {problem} (a corrupt or different file); nothing was kept"
                )
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise WeightsFileError(dest, f"cannot write ({_describe(exc)})") from None
        if progress is not None:
            progress(done, total)
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            raise WeightsFileError(dest, f"cannot write ({_describe(exc)})") from None
    except BaseException:  # errors, cancel, Ctrl+C: never leave a partial file behind
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return dest
