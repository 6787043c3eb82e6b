"""Fast folder listing for projects: os.scandir only (no decoding, no per-file stat beyond what
scandir returns), natural sort key computed once per name. Folders that cannot be listed, and
folder links that lead out of the project, are reported as warnings, never silently dropped."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
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


@dataclass
class Listing:
    files: list[str]                                     # posix paths relative to the root
    warnings: list[str] = field(default_factory=list)    # one line per folder not listed


def scan_files(
    root: Path,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
    *,
    skip_dirs: Iterable[Path] = (),
    recursive: bool = True,
) -> list[str]:
    """The files of `scan_tree` (its warnings dropped)."""
    return scan_tree(root, suffixes, skip_dirs=skip_dirs, recursive=recursive).files


def scan_tree(
    root: Path,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
    *,
    skip_dirs: Iterable[Path] = (),
    recursive: bool = True,
    within: Iterable[Path] | None = None,
) -> Listing:
    """Posix paths relative to `root` of files whose name ends with one of `suffixes`
    (case-insensitive), naturally sorted, and a warning line for every folder left out.

    Hidden files and folders (leading '.') and the folders in `skip_dirs` are left out
    silently. A folder link whose target lies outside `within` (default: `root`) is not
    followed: a link to /usr inside a project must not list the system's images. Links inside
    are followed, each real folder once (so link loops end). Unreadable folders are skipped
    and named in `warnings`, once each.
    """
    skip = {os.path.normcase(os.path.abspath(p)) for p in skip_dirs}
    bounds = [_real(p) for p in (within if within is not None else (root,))]
    out: list[str] = []
    warnings: list[str] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    seen: set[tuple[int, int]] = set()  # (device, inode): a symlink loop is listed once
    while stack:
        folder, prefix = stack.pop()
        try:
            st = os.stat(folder)
            it = os.scandir(folder)
        except FileNotFoundError:
            continue  # no labels/ yet, or removed while listing: nothing to list, nothing lost
        except OSError as e:
            warnings.append(f"{folder}: cannot read folder ({e.strerror or e}); "
                            "its images are not listed")
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
                except OSError as err:
                    warnings.append(f"{e.path}: cannot read ({err.strerror or err}); skipped")
                    continue
                if is_dir:
                    if not recursive or os.path.normcase(os.path.abspath(e.path)) in skip:
                        continue
                    if e.is_symlink():
                        target = _real(e.path)
                        if not any(_inside(target, b) for b in bounds):
                            warnings.append(f"{e.path}: folder link leads outside the project "
                                            f"(to {target}); not followed")
                            continue
                    stack.append((e.path, f"{prefix}{name}/"))
                elif name.lower().endswith(suffixes):
                    out.append(prefix + name)
    out.sort(key=natural_key)
    return Listing(out, warnings)


def _real(path: str | Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
