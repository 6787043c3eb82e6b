"""`segstudio.json`: reading it safely, validating every part, and merging concurrent writers.

Several writers may share one project folder: two windows, or the CLI beside the app. Each
keeps its own view in memory, so a plain rewrite of the file would drop the other's records.
Every write therefore happens under a lock file and merges with what is on disk:

- image records: only the keys this writer changed replace the disk's, and even then a record
  never moves down the states' order (reviewed > edited > predicted) unless the change was an
  explicit user action (un-reviewing), so a stale writer cannot turn a reviewed image back into
  "predicted", which would let a prediction overwrite it;
- settings, checkpoints and classes: a three-way merge against the version this writer last
  read (its changes win, everything else comes from disk);
- top-level keys segstudio does not know are kept as they are (another tool's, a newer
  version's): never dropped on save.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

from segstudio.core import settings_schema
from segstudio.core.classes import ClassSet
from segstudio.core.entries import ImageState
from segstudio.core.errors import ClassSetError, ProjectError

PROJECT_FILE = "segstudio.json"
FORMAT = "segstudio-project"
VERSION = 1
# A 20,000-image project is about 2 MB; 64 MB is far beyond any real one and still opens in
# about a second, while a runaway file (300 MB took 76 s and 3.5 GB) is refused at once.
MAX_BYTES = int(os.environ.get("SEGSTUDIO_MAX_PROJECT_BYTES", 64 * 2**20))
LOCK_TIMEOUT_S = 30.0

RUN_STATUSES = ("finished", "cancelled", "failed", "diverged", "running", "imported")
KNOWN_KEYS = ("format", "version", "classes", "settings", "images", "checkpoints")


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


class _Checker:
    """Raises ProjectError naming the file and the key path of the first bad value."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> None:
        raise ProjectError(f"{self.path}: {where}: {problem}")

    def kind(self, where: str, value: Any, kinds: tuple[type, ...], name: str) -> None:
        # bool is an int in Python but never a valid number here.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.fail(where, f"expected {name}, got {_show(value)}")

    def number(self, where: str, value: Any, lo: float, hi: float, *, integer: bool = False,
               allow_none: bool = False) -> None:
        if value is None and allow_none:
            return
        self.kind(where, value, (int,) if integer else (int, float),
                  "an integer" if integer else "a number")
        if not math.isfinite(value) or not lo <= value <= hi:
            self.fail(where, f"{_show(value)} is outside {lo:g}..{hi:g}")

    def text(self, where: str, value: Any, *, allow_none: bool = False) -> None:
        if value is None and allow_none:
            return
        self.kind(where, value, (str,), "a string")


def clean_finetune(settings: dict[str, Any], path: Path, warnings: list[str] | None) -> None:
    """Drop, in place, the fine-tune values that are out of the schema's range
    (core.settings_schema), with a warning each: a project whose settings cannot be opens
    with its defaults for those, instead of refusing the project (which would make its
    labels unreachable). The next save writes the file without them."""
    if "finetune" not in settings:
        return
    kept, lines = settings_schema.clean_settings(settings["finetune"],
                                                 f"{path}: settings.finetune")
    settings["finetune"] = kept
    if warnings is not None:
        warnings.extend(lines)


def validate(data: Any, path: Path, warnings: list[str] | None = None) -> dict[str, Any]:
    """The file's content checked against the schema; raises ProjectError naming the key.
    Fine-tune settings out of range are dropped instead, with a line each in `warnings`."""
    check = _Checker(path)
    if not isinstance(data, dict):
        raise ProjectError(f"{path}: not a segstudio project file (expected a JSON object)")
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise ProjectError(f"{path}: 'format' is {_show(fmt)}, not a segstudio project file; "
                           "segstudio leaves it alone (move it away to use this folder)")
    version = data.get("version", VERSION)
    check.kind("'version'", version, (int,), "an integer")
    if version > VERSION:
        raise ProjectError(f"{path}: written by a newer segstudio (format {version}); "
                           f"this one reads format {VERSION}")
    if version < 1:
        check.fail("'version'", f"{version} is not a format number")
    if "classes" in data:
        try:
            ClassSet.from_dict(data["classes"])
        except (ClassSetError, TypeError, ValueError, KeyError, AttributeError) as exc:
            check.fail("'classes'", str(exc) or type(exc).__name__)
    settings = data.get("settings", {})
    check.kind("'settings'", settings, (dict,), "an object")
    for key in ("arch", "checkpoint", "active", "predict_scale"):
        if key in settings:
            check.text(f"'settings'.{key}", settings[key], allow_none=True)
    clean_finetune(settings, path, warnings)
    images = data.get("images", {})
    check.kind("'images'", images, (dict,), "an object")
    valid_states = [s.value for s in ImageState]
    for key, rec in images.items():
        where = f"'images'[{_show(key)}]"
        check.kind(where, rec, (dict,), "an object")
        state = rec.get("state", ImageState.UNLABELED.value)
        if not isinstance(state, str) or state not in valid_states:
            check.fail(f"{where}.state", f"expected one of {', '.join(valid_states)}, "
                       f"got {_show(state)}")
        check.number(f"{where}.confidence", rec.get("confidence"), 0.0, 1.0, allow_none=True)
    checkpoints = data.get("checkpoints", [])
    check.kind("'checkpoints'", checkpoints, (list,), "a list")
    for i, rec in enumerate(checkpoints):
        where = f"'checkpoints'[{i}]"
        check.kind(where, rec, (dict,), "an object")
        check.text(f"{where}.path", rec.get("path"))
        for key in ("arch", "created", "parent"):
            if key in rec:
                check.text(f"{where}.{key}", rec[key], allow_none=True)
        if "status" in rec and rec["status"] not in RUN_STATUSES:
            check.fail(f"{where}.status", f"expected one of {', '.join(RUN_STATUSES)}, got "
                       f"{_show(rec['status'])}")
        for key in ("miou", "start_miou"):
            if key in rec:
                check.number(f"{where}.{key}", rec[key], 0.0, 1.0, allow_none=True)
        for key in ("metrics", "settings"):
            if key in rec:
                check.kind(f"{where}.{key}", rec[key], (dict,), "an object")
    return data


def read(path: Path, warnings: list[str] | None = None) -> dict[str, Any] | None:
    """The validated content of a project file, None when there is none; `warnings` gets a
    line for each setting dropped as out of range (see `clean_finetune`)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read project file ({exc.strerror or exc})") from None
    if size > MAX_BYTES:
        raise ProjectError(f"{path}: project file is {size / 2**20:.0f} MB, over the "
                           f"{MAX_BYTES / 2**20:.0f} MB limit (set SEGSTUDIO_MAX_PROJECT_BYTES "
                           "to open it anyway)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read project file ({exc})") from None
    except RecursionError:
        raise ProjectError(f"{path}: cannot read project file (nested too deeply)") from None
    return validate(data, path, warnings)


def signature(path: Path) -> tuple[int, int, int] | None:
    """Changes whenever the file is replaced (atomic writes give it a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def merge_record(theirs: dict | None, mine: dict | None, explicit: bool) -> dict | None:
    """One image's record after this writer's change `mine` meets the disk's `theirs`."""
    if mine is None:
        return theirs
    if theirs is None:
        return dict(mine)
    their_state = ImageState(theirs.get("state", ImageState.UNLABELED.value))
    my_state = ImageState(mine.get("state", ImageState.UNLABELED.value))
    if not explicit and their_state.rank > my_state.rank:
        # A person's later (or concurrent) decision wins over this writer's automatic one.
        return {**mine, **theirs}
    return {**theirs, **mine}


def _by_path(records: list[dict]) -> dict[str, dict]:
    return {str(r.get("path")): r for r in records}


def merge(disk: dict | None, base: dict, mine: dict, dirty: set[str],
          explicit: set[str]) -> dict[str, Any]:
    """The document to write: `disk` (now), `base` (what this writer last read or wrote),
    `mine` (this writer's view), `dirty`/`explicit` the image keys it changed."""
    disk = disk or {}
    out: dict[str, Any] = {k: v for k, v in disk.items() if k not in KNOWN_KEYS}
    out["format"], out["version"] = FORMAT, VERSION
    classes = mine.get("classes") if mine.get("classes") != base.get("classes") \
        else disk.get("classes", mine.get("classes"))
    if classes is not None:
        out["classes"] = classes
    # Settings: three-way per key.
    settings = dict(disk.get("settings", {}))
    b, m = base.get("settings", {}), mine.get("settings", {})
    for key in set(b) | set(m):
        if m.get(key, _MISSING) != b.get(key, _MISSING):
            if key in m:
                settings[key] = m[key]
            else:
                settings.pop(key, None)
    out["settings"] = settings
    # Images: only the changed keys.
    images = dict(disk.get("images", {}))
    mine_images = mine.get("images", {})
    for key in dirty:
        merged = merge_record(images.get(key), mine_images.get(key), key in explicit)
        if merged is not None:
            images[key] = merged
    out["images"] = dict(sorted(images.items()))
    # Checkpoints: three-way by path, order of the disk's list, new ones appended.
    theirs = _by_path(disk.get("checkpoints", []))
    b, m = _by_path(base.get("checkpoints", [])), _by_path(mine.get("checkpoints", []))
    for key in set(b) | set(m):
        if m.get(key) != b.get(key):
            if key in m:
                theirs[key] = m[key]
            else:
                theirs.pop(key, None)
    order = [str(r.get("path")) for r in disk.get("checkpoints", [])]
    order += [str(r.get("path")) for r in mine.get("checkpoints", []) if str(r.get("path"))
              not in order]
    out["checkpoints"] = [theirs[p] for p in order if p in theirs]
    return copy.deepcopy(out)


_MISSING = object()


class FileLock:
    """Inter-process lock on `<root>/.segstudio/lock` (flock via the filelock package, which
    also works on Windows); held only for the read-merge-write of one save."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = None

    def __enter__(self) -> FileLock:
        import filelock

        if self._lock is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ProjectError(f"{self.path.parent}: cannot create folder "
                                   f"({exc.strerror or exc})") from None
            self._lock = filelock.FileLock(self.path, timeout=LOCK_TIMEOUT_S,
                                           thread_local=False)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise ProjectError(f"{self.path}: another segstudio has held the project lock for "
                               f"{LOCK_TIMEOUT_S:.0f} s; close it or try again") from None
        except OSError as exc:
            raise ProjectError(f"{self.path}: cannot lock the project "
                               f"({exc.strerror or exc})") from None
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._lock is not None
        self._lock.release()


# ----- the journal ---------------------------------------------------------------------------
# Image records are appended here (one JSON line each, fsync'd) *before* the label they describe
# is written, under the folder lock; segstudio.json folds them in at the next flush and the
# journal is emptied. A crash or a full disk therefore never leaves a label whose record says
# something else, and a folder's predictions cost one short line each instead of a rewrite of
# segstudio.json per image.
JOURNAL = "journal.jsonl"


def read_journal(path: Path) -> list[tuple[str, dict, bool]]:
    """(key, record, explicit) in the order written; a torn or bad line is skipped (only the
    last line can be torn: a crash in the middle of an append)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read ({exc.strerror or exc})") from None
    out = []
    valid = {s.value for s in ImageState}
    for line in data.splitlines():
        try:
            item = json.loads(line)
            key, record, explicit = item["key"], item["record"], bool(item.get("explicit"))
        except (ValueError, KeyError, TypeError, RecursionError):
            continue
        conf = record.get("confidence") if isinstance(record, dict) else None
        if (isinstance(key, str) and isinstance(record, dict)
                and record.get("state", "unlabeled") in valid
                and (conf is None or (isinstance(conf, int | float) and 0 <= conf <= 1))):
            out.append((key, record, explicit))
    return out


def append_journal(path: Path, key: str, record: dict, explicit: bool) -> int:
    """Append one record durably; returns the journal's size before (see truncate_journal)."""
    line = json.dumps({"key": key, "record": record, "explicit": explicit},
                      ensure_ascii=False) + "\n"
    from segstudio.core.errors import WriteError

    try:
        with open(path, "ab") as f:
            before = f.tell()
            try:
                f.write(line.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            except OSError:
                # Never leave a half line behind: cut back to where this append began.
                f.truncate(before)
                raise
    except OSError as exc:
        raise WriteError(path, f"cannot write: {exc.strerror or exc}") from None
    return before


def truncate_journal(path: Path, size: int) -> None:
    """Cut the journal back to `size` bytes (needs no free space, so it works on a full disk)."""
    try:
        with open(path, "r+b") as f:
            f.truncate(size)
            f.flush()
            os.fsync(f.fileno())
    except FileNotFoundError:
        pass


def apply_journal(doc: dict[str, Any], entries: list[tuple[str, dict, bool]]) -> dict[str, Any]:
    if not entries:
        return doc
    images = dict(doc.get("images", {}))
    for key, record, explicit in entries:
        images[key] = merge_record(images.get(key), record, explicit)
    return {**doc, "images": images}
