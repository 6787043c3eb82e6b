"""Moving void (the ignore index) out of the way of a new class.

CamVid-style class sets keep void right after the last class (11 for CamVid's 11 classes), so
a 12th class would need the value that every label file uses for void. Adding a class there
means moving void to 255 in the label files: a rewrite of the user's files, which the app does
only with the user's consent (it explains and asks first), and in an order that never leaves a
file whose values mean something other than what they say:

1. read and check every label file; nothing changes when one cannot be read or the labels
   folder is read-only (the error names the file, or the folder and the way out);
2. record the move in segstudio.json: the same classes with void at 255, and
   `settings["void_move"] = {"from": 11, "to": 255}` while it is under way;
3. rewrite, each atomically, the files that hold void pixels (11 -> 255), keeping their kind
   (a greyscale PNG stays greyscale; a palette PNG gets the new palette); colour-coded (RGB)
   files store void as a colour and need no change;
4. drop the record.

Between 2 and 4 a file still holding 11 is *invalid* under the recorded classes (11 is neither
a class nor void until the new class is added, after 4), so reading it fails loudly instead of
showing void as the new class; running `move_void` again finishes the move (it remaps whatever
11s remain). The dataset's own classes.json is never touched: segstudio.json records the
project's classes from then on.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.core.atomic import atomic_write_bytes, is_writable
from segstudio.core.classes import ClassSet
from segstudio.core.errors import LabelError, ProjectError, WriteError
from segstudio.core.imageio import open_pil
from segstudio.core.labels import encode_label, read_label
from segstudio.core.listing import scan_tree

PENDING_KEY = "void_move"
NEW_VOID = 255


@dataclass
class VoidMoveProgress:
    """What `progress` receives: `done` of `total` files in `stage` ("check" or "rewrite")."""

    stage: str
    done: int
    total: int


@dataclass
class VoidMovePlan:
    """What moving void would do, for the question to the user."""

    old: int
    new: int
    labels_dir: Path
    files: list[Path] = field(default_factory=list)   # every label file (to check)
    blocked: str = ""                                   # why it cannot be done ("" when it can)
    resuming: bool = False                              # a move was interrupted


def needs_void_move(classes: ClassSet) -> bool:
    """True when a class cannot be added because void sits right after the last class."""
    return classes.ignore_index == classes.num_classes and classes.ignore_index != NEW_VOID


def pending_void_move(project) -> dict | None:
    """The record of a move that was started and not finished (None when there is none)."""
    rec = project.settings.get(PENDING_KEY)
    return rec if isinstance(rec, dict) and "from" in rec and "to" in rec else None


def plan_void_move(project, new: int = NEW_VOID) -> VoidMovePlan | None:
    """The move that adding a class needs, or None when a class can be added as it is."""
    pending = pending_void_move(project)
    if pending is not None:
        old, new = int(pending["from"]), int(pending["to"])
    elif needs_void_move(project.classes):
        old = project.classes.ignore_index
    else:
        return None
    labels_dir = project.labels_dir
    files = [labels_dir / rel for rel in
             scan_tree(labels_dir, (".png",), within=(project.root, labels_dir)).files] \
        if labels_dir.is_dir() else []
    plan = VoidMovePlan(old, new, labels_dir, files, resuming=pending is not None)
    for folder in (project.root, labels_dir):
        if not is_writable(folder):
            plan.blocked = (
                f"{folder} is read-only, so void ({old}) cannot move to {new} to make room "
                f"for class {old + 1}: copy the project folder somewhere writable and open "
                "the copy (segstudio keeps everything it needs inside the folder)")
            break
    return plan


def move_void(project, plan: VoidMovePlan, *,
              progress: Callable[[VoidMoveProgress], None] | None = None,
              cancel: Callable[[], bool] | None = None) -> int:
    """Carry out `plan` (see the module's steps); returns how many files were rewritten.

    ProjectError when it is blocked, LabelError naming the first file that cannot be read (in
    both cases nothing has changed); `cancel` is honoured while checking, before any change.
    """
    if plan.blocked:
        raise ProjectError(plan.blocked)
    old, new = plan.old, plan.new
    before = project.classes
    # While resuming, the recorded classes already have void at `new`: files hold either.
    allowed = _allowed(before, old, new)
    # 1. Check every file before anything changes; remember which ones hold void.
    todo: list[Path] = []
    for i, path in enumerate(plan.files):
        if cancel is not None and cancel():
            return 0
        if _is_indexed(path):
            mask = read_label(path, None)
            _check_allowed(path, mask, allowed, old, new)
            if (mask == old).any():
                todo.append(path)
        else:
            read_label(path, before)   # colours: void is a colour, nothing to rewrite
        if progress is not None:
            progress(VoidMoveProgress("check", i + 1, len(plan.files)))
    # 2. Record the move: from here on a file still holding `old` reads as an error.
    if not plan.resuming:
        moved = ClassSet.from_dict({**before.to_dict(), "ignore_index": new,
                                    "void": {"index": new, "name": before.ignore_name,
                                             "color": list(before.ignore_color)}})
        project.classes = moved
        project.settings[PENDING_KEY] = {"from": old, "to": new}
        project.save()
    # 3. Rewrite the files that hold void, each atomically.
    for i, path in enumerate(todo):
        mask = read_label(path, None)
        mask[mask == old] = new
        _write_like(path, mask, project.classes)
        if progress is not None:
            progress(VoidMoveProgress("rewrite", i + 1, len(todo)))
    # 4. Done.
    project.settings.pop(PENDING_KEY, None)
    project.save()
    return len(todo)


def _allowed(classes: ClassSet, old: int, new: int) -> np.ndarray:
    ok = np.zeros(256, bool)
    ok[: classes.num_classes] = True
    ok[[old, new]] = True
    return ok


def _check_allowed(path: Path, mask: np.ndarray, allowed: np.ndarray, old: int,
                   new: int) -> None:
    bad = np.flatnonzero((np.bincount(mask.ravel(), minlength=256) > 0) & ~allowed)
    if bad.size:
        raise LabelError(path, f"values {', '.join(map(str, bad[:4].tolist()))} are neither "
                         f"classes nor void ({old} or {new})")


def _is_indexed(path: Path) -> bool:
    """Index-coded (palette, greyscale, integer) files hold the void value; RGB ones a colour."""
    with open_pil(path, LabelError) as img:
        return img.mode not in ("RGB", "RGBA")


def _write_like(path: Path, mask: np.ndarray, classes: ClassSet) -> None:
    """Write `mask` as the file was: greyscale stays greyscale, anything else a palette PNG."""
    with open_pil(path, LabelError) as img:
        mode = img.mode
    if mode in ("L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N"):
        buf = io.BytesIO()
        Image.fromarray(mask, mode="L").save(buf, format="PNG", compress_level=1)
        data = buf.getvalue()
    else:
        data = encode_label(mask, classes)
    try:
        atomic_write_bytes(path, data)
    except WriteError as e:
        raise ProjectError(f"cannot move void in {path}: {e.problem}; the move is recorded "
                           "and adding the class again finishes it") from None
