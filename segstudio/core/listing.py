"""Fast folder listing for projects: os.scandir only (no decoding, no per-file stat beyond what
scandir returns), natural sort key computed once per name."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from segstudio.core.imageio import IMAGE_SUFFIXES

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key putting "img2" before "img10"; case-insensitive, ties broken by the raw text.

    re.split with a capturing group alternates text and digit runs, so tuples compare
    str-with-str and int-with-int at every position.
    """
    parts = _DIGITS.split(text.lower())
    return (tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), text)


def scan_files(
    root: Path,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
    *,
    skip_dirs: Iterable[Path] = (),
    recursive: bool = True,
) -> list[str]:
    """Posix paths relative to `root` of files whose name ends with one of `suffixes`
    (case-insensitive), naturally sorted. Hidden files and folders (leading '.') and the
    folders in `skip_dirs` are left out; unreadable subfolders are skipped, not fatal."""
    skip = {os.path.normcase(os.path.abspath(p)) for p in skip_dirs}
    out: list[str] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    seen: set[tuple[int, int]] = set()  # (device, inode): a symlink loop is listed once
    while stack:
        folder, prefix = stack.pop()
        try:
            st = os.stat(folder)
            it = os.scandir(folder)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            it.close()
            continue
        seen.add((st.st_dev, st.st_ino))
        with it:
            for e in it:
                name = e.name
                if name.startswith("."):
                    continue
                try:
                    is_dir = e.is_dir()
                except OSError:
                    continue
                if is_dir:
                    if recursive and os.path.normcase(os.path.abspath(e.path)) not in skip:
                        stack.append((e.path, f"{prefix}{name}/"))
                elif name.lower().endswith(suffixes):
                    out.append(prefix + name)
    out.sort(key=natural_key)
    return out
