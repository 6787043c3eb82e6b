"""The undo of the last class delete or merge: the label files it rewrote, as they were.

A delete or merge (core.class_remap) rewrites label files across the whole project, beyond any
one image's undo history. So while it stages the rewritten files it also keeps each original
in `.segstudio/class_undo/<token>/` (out of the labels folder, where other tools would see
them), and once the change is complete it records in `.segstudio/class_undo.json` the classes
before and after, the copies, and the SHA-256 of every label file as the change left it.
`class_remap.undo_last_remap` (the app's Ctrl+Z right after the change, and `segstudio classes
--undo`) puts them back through the same crash-safe steps as the change.

It is refused, naming the reason, when undoing would misread work done since: the classes
changed again, or a label file was written, added or removed after the change (its values
follow the new classes). Only the last change can be undone: a new one replaces the record
and its copies. The copies cost the size of the rewritten label files (PNGs of a few KB).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from segstudio.core.atomic import atomic_write_bytes, atomic_write_json
from segstudio.core.classes import ClassSet
from segstudio.core.errors import ProjectError, WriteError
from segstudio.core.listing import scan_tree

RECORD = "class_undo.json"
BACKUPS = "class_undo"          # under .segstudio/: one folder per change, named by its token


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_token() -> str:
    """One change's folder of copies, so a new change never overwrites the copies of the
    change it replaces before it is complete."""
    return secrets.token_hex(4)


def backup_path(project, label: Path, token: str) -> Path:
    rel = label.relative_to(project.labels_dir).as_posix()
    digest = hashlib.sha1(rel.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return project.store_dir / BACKUPS / token / digest


def write_backup(project, label: Path, original: bytes, token: str) -> Path:
    path = backup_path(project, label, token)
    try:
        project.check_inside(path.parent)   # never through a .segstudio link out of it
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, original)
    except (OSError, WriteError) as e:
        raise ProjectError(f"cannot keep the undo copy of {label}: {e}") from None
    return path


def discard(project, token: str) -> None:
    """Remove one change's copies (the change did not happen)."""
    shutil.rmtree(project.store_dir / BACKUPS / token, ignore_errors=True)


def drop_backups(project, keep: str | None = None) -> None:
    """Remove the copies of every change but `keep` (a crash may have left some)."""
    folder = project.store_dir / BACKUPS
    if not folder.is_dir() or folder.is_symlink():
        return
    for sub in folder.iterdir():
        if sub.name != keep and sub.is_dir() and not sub.is_symlink():
            shutil.rmtree(sub, ignore_errors=True)


@dataclass
class UndoRecord:
    """What `class_undo.json` holds, paths absolute."""

    what: str                               # "merge 'van' into 'car'"
    before: ClassSet
    after: ClassSet
    backups: list[tuple[Path, Path]]        # (copy, label) of each rewritten file
    hashes: dict[str, str]                  # label path relative to labels/ -> SHA-256 after


def record_path(project) -> Path:
    return project.store_dir / RECORD


def write_record(project, record: UndoRecord, token: str) -> None:
    """Replace the previous change's record (and drop its copies): only the last change can
    be undone."""
    store = project.store_dir
    try:
        atomic_write_json(record_path(project), {
            "what": record.what, "before": record.before.to_dict(),
            "after": record.after.to_dict(),
            "backups": [[b.relative_to(store).as_posix(),
                         t.relative_to(project.labels_dir).as_posix()]
                        for b, t in record.backups],
            "hashes": record.hashes})
    except (OSError, WriteError) as e:
        # the change itself is complete; only its undo is lost
        drop_backups(project)
        raise ProjectError(f"{record.what} is done, but its undo could not be recorded "
                           f"({e})") from None
    drop_backups(project, keep=token)


def read_record(project, *, missing_ok: bool = False) -> UndoRecord | None:
    path = record_path(project)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        root, store = project.labels_dir, project.store_dir
        return UndoRecord(
            str(data["what"]), ClassSet.from_dict(data["before"]),
            ClassSet.from_dict(data["after"]),
            [(store / b, root / t) for b, t in data["backups"]],
            {str(k): str(v) for k, v in data["hashes"].items()})
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ProjectError(f"{project.root}: no class change to undo (only the last delete "
                           "or merge can be undone, until the labels change)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        if missing_ok:
            return None
        raise ProjectError(f"{path}: cannot read the class change's undo ({e})") from None


def drop_record(project) -> None:
    with contextlib.suppress(OSError):
        record_path(project).unlink(missing_ok=True)


def undo_problem(project, record: UndoRecord) -> str | None:
    """Why undoing `record` now would misread or lose work, in one line; None when it may."""
    if project.classes.to_dict() != record.after.to_dict():
        return (f"cannot undo {record.what}: the classes changed since "
                f"(now {', '.join(project.classes.names)})")
    root = project.labels_dir
    now = set(scan_tree(root, (".png",), within=(project.root, root)).files) \
        if root.is_dir() else set()
    for rel in sorted(now | set(record.hashes)):
        path = root / rel
        if rel not in record.hashes:
            return (f"cannot undo {record.what}: {path} was written after it (its values "
                    "follow the new classes)")
        if rel not in now:
            return f"cannot undo {record.what}: {path} was removed after it"
        try:
            digest = sha256(path.read_bytes())
        except OSError as e:
            return f"cannot undo {record.what}: {path}: cannot read ({e.strerror or e})"
        if digest != record.hashes[rel]:
            return (f"cannot undo {record.what}: {path} changed after it (undoing would "
                    "lose that change)")
    for backup, label in record.backups:
        if not backup.is_file():
            return f"cannot undo {record.what}: the undo copy of {label} is missing"
    return None
