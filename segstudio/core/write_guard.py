"""Where segstudio may write in a project: only inside it.

Image folders that lead out of the project through a link are not followed (`core.listing`).
The folders segstudio writes into need the same rule, or a `labels/` (a labels subfolder,
`.segstudio/`) that is a link to `/usr` or to another project would receive label files,
touched maps, the journal and the lock there. A folder whose real location is outside the
project's real location is refused for writing, with one line naming the link and its target;
reading through it stays possible (a dataset's labels may live elsewhere and still be viewed).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def _real(path: Path) -> Path:
    # realpath, not resolve(): it resolves the existing part and keeps a missing tail, so a
    # folder still to be made under a link is judged by where it would be made.
    return Path(os.path.realpath(path))


def leads_out(folder: Path, root: Path) -> Path | None:
    """The real location of `folder` when links take it outside `root`, else None."""
    real, real_root = _real(folder), _real(root)
    if real == real_root or real_root in real.parents:
        return None
    return real


def problem(folder: Path, root: Path) -> str | None:
    """One line when segstudio must not write in `folder` (it leads out of the project)."""
    real = leads_out(folder, root)
    if real is None:
        return None
    return (f"{folder}: folder link leads outside the project (to {real}); segstudio does not "
            "write there (make it a real folder inside the project, or open the folder it "
            "leads to as its own project)")


def first_problem(folders: Iterable[Path], root: Path) -> str | None:
    """The first folder of `folders` that leads out of `root`, in words; None when none does."""
    seen: set[Path] = set()
    for folder in folders:
        if folder in seen:
            continue
        seen.add(folder)
        line = problem(folder, root)
        if line is not None:
            return line
    return None
