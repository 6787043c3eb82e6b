"""Atomic file writes: a reader, a crash or a kill at any moment sees the old file or the new one,
never a truncated one. The temporary file lives in the target's folder (so `os.replace` is a
rename on one file system) and is named `.<name>.<random>.tmp`: hidden, and with a suffix that
no image or label listing picks up, so a temp file orphaned by a kill is ignored. A long name is
cut in that pattern (`_temp_prefix`), so any name that is legal for the target is writable."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from segstudio.core.errors import WriteError

TMP_SUFFIX = ".tmp"
# Exactly what `tempfile.mkstemp(prefix=f".{name}.", suffix=TMP_SUFFIX)` creates: its random part
# is 8 characters of [a-z0-9_]. Cleaning matches this and nothing looser.
_OWN_TEMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
# Bytes `mkstemp` adds around the prefix's name: the dots, 8 random characters and ".tmp".
_TEMP_EXTRA = len("..") + 8 + len(TMP_SUFFIX)
# A save takes well under a second; a temp file this old belongs to a killed process.
ORPHAN_AGE_S = 15 * 60


def _mode_for(path: Path) -> int:
    # mkstemp creates 0600; keep the replaced file's mode, or what a plain open() would give.
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _name_max(folder: Path) -> int:
    # The longest file name the folder's file system takes, in bytes (255 on ext4, XFS, NTFS,
    # APFS; 143 on eCryptfs); 255 where the system cannot say.
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def _temp_prefix(name: str, folder: Path) -> str:
    """`.<name>.` for mkstemp, with `name` cut (whole characters, in the file system's bytes)
    so that the temp name is no longer than the longest legal name: a 243-character label
    would otherwise get a 257-byte temp name and could never be written."""
    room = max(1, _name_max(folder) - _TEMP_EXTRA)
    cut = name[:room]   # a character is at least one byte
    while len(cut) > 1 and len(os.fsencode(cut)) > room:
        cut = cut[:-1]
    return f".{cut}."


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
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name, folder), suffix=TMP_SUFFIX,
                                    dir=folder)
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


def remove_orphan_temps(*folders: Path, trees: tuple[Path, ...] = (),
                        older_than_s: float = ORPHAN_AGE_S) -> int:
    """Delete temp files left by killed saves (`.<name>.<8 random>.tmp`, regular files only,
    unchanged for `older_than_s`) in `folders`, and in `trees` with their subfolders; returns
    how many.

    Nothing else is ever deleted: not other hidden files, not links, not fresh temp files (a
    save in progress in another process), and nothing in a read-only folder. Errors are
    ignored: cleaning is a courtesy, never a reason to refuse opening a project.
    """
    cutoff = time.time() - older_than_s
    removed = 0
    seen: set[tuple[int, int]] = set()
    stack = [(Path(f), False) for f in folders] + [(Path(t), True) for t in trees]
    while stack:
        folder, recurse = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen or not is_writable(folder):
                continue
            seen.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            with contextlib.suppress(OSError):
                if not e.name.startswith("."):   # ours are hidden; hidden folders are not ours
                    if recurse and e.is_dir(follow_symlinks=False):
                        stack.append((Path(e.path), True))
                elif (_OWN_TEMP.fullmatch(e.name) and e.is_file(follow_symlinks=False)
                      and e.stat(follow_symlinks=False).st_mtime < cutoff):
                    os.unlink(e.path)
                    removed += 1
    return removed
