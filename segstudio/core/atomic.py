"""Atomic file writes: a reader, a crash or a kill at any moment sees the old file or the new one,
never a truncated one. The temporary file lives in the target's folder (so `os.replace` is a
rename on one file system) and is named `.<name>.<random>.tmp`: hidden, and with a suffix that
no image or label listing picks up, so a temp file orphaned by a kill is ignored."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from segstudio.core.errors import WriteError

TMP_SUFFIX = ".tmp"


def _mode_for(path: Path) -> int:
    # mkstemp creates 0600; keep the replaced file's mode, or what a plain open() would give.
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform (e.g. Windows).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically: temp file in the same folder, flush + fsync, os.replace.

    Raises WriteError naming `path` when it cannot be written; the old file is then untouched
    and no temp file is left behind.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise WriteError(path, "cannot write: a folder of that name exists")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=folder)
    except OSError as e:
        raise WriteError(path, f"cannot write: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise WriteError(path, f"cannot write: {e.strerror or e}") from None
        raise
    _fsync_dir(folder)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Atomically write `obj` as indented UTF-8 JSON."""
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def is_writable(folder: Path) -> bool:
    """Whether we may write in `folder` (or, when it does not exist yet, where it would be made).

    A folder whose mode has no write bit at all is read-only even for root: that is how a shared
    dataset is marked, and honouring the marking keeps a process running as root from quietly
    writing into it.
    """
    for f in (folder, *folder.parents):
        try:
            mode = os.stat(f).st_mode
        except FileNotFoundError:
            continue
        except OSError:
            return False
        return bool(mode & 0o222) and os.access(f, os.W_OK)
    return False


def is_temp_file(name: str) -> bool:
    """True for a temp file name this module creates (to ignore or clean orphans)."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)
