"""How a project's records reach `segstudio.json`, safely beside other writers.

`RecordStore` holds what the file holds (the image records, settings, registered checkpoints,
the class set) and the machinery: the folder lock, the journal image records go to before
their labels are written, the merge with what another writer saved, and batching during a
folder's predictions. `core.project.Project` adds the folder itself (images, labels, states).
The rules of the file (schema, merge, journal format) are `core.project_file`'s.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from segstudio.core import project_file as pf
from segstudio.core import write_guard
from segstudio.core.atomic import atomic_write_json, is_writable
from segstudio.core.classes import ClassSet, default_classes
from segstudio.core.errors import ClassSetError, ProjectError, WriteError
from segstudio.core.touched import STORE_DIR

# Inside `batch()`, segstudio.json is rewritten at most this often (and once at the end).
_BATCH_FLUSH_S = 2.0


class RecordStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.classes: ClassSet = default_classes()
        # Classes taken in memory only (a model's, when a bare folder opens): written before
        # the first label that uses them, so opening a folder writes nothing into it.
        self.classes_unsaved = False
        self.settings: dict[str, Any] = {}
        self.checkpoints: list[dict] = []
        self._records: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._file_lock = pf.FileLock(root / STORE_DIR / "lock")
        # What segstudio.json held when this writer last read or wrote it (the merge base),
        # its file signature, and the image keys changed since (explicit: by a user action).
        self._base: dict[str, Any] = {}
        self._sig: tuple | None = None
        self._dirty: set[str] = set()
        self._explicit: set[str] = set()
        self._batch_depth = 0
        self._last_flush = 0.0
        self.settings_warnings: list[str] = []   # from the last read of segstudio.json

    @property
    def project_file(self) -> Path:
        return self.root / pf.PROJECT_FILE

    @property
    def store_dir(self) -> Path:
        """segstudio's own hidden folder in the project (touched pixels, journal, lock)."""
        return self.root / STORE_DIR

    def _adopt(self, doc: dict[str, Any]) -> None:
        """Make the in-memory view `doc` (validated); keeps object identities callers hold."""
        if "classes" in doc and doc["classes"] != self.classes.to_dict():
            try:
                self.classes = ClassSet.from_dict(doc["classes"])
            except ClassSetError as e:
                raise ProjectError(f"{self.project_file}: {e}") from None
        self.settings.clear()
        self.settings.update(doc.get("settings", {}))
        self.checkpoints[:] = list(doc.get("checkpoints", []))
        self._records = {k: dict(v) for k, v in doc.get("images", {}).items()}

    # ----- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "format": pf.FORMAT,
                "version": pf.VERSION,
                "classes": self.classes.to_dict(),
                # Shallow copies are atomic under the GIL: the GUI may edit settings meanwhile.
                "settings": dict(self.settings),
                "images": {k: dict(v) for k, v in sorted(self._records.items())},
                "checkpoints": [dict(c) for c in self.checkpoints],
            }

    def _mine(self) -> dict[str, Any]:
        return {"classes": self.classes.to_dict(), "settings": dict(self.settings),
                "images": self._records, "checkpoints": [dict(c) for c in self.checkpoints]}

    @property
    def _journal_path(self) -> Path:
        return self.store_dir / pf.JOURNAL

    def _disk_signature(self) -> tuple:
        return pf.signature(self.project_file), pf.signature(self._journal_path)

    def _read_disk(self) -> dict[str, Any]:
        """segstudio.json with the journal's records applied: what the disk says now."""
        # Settings out of range are dropped as the file is read, with a line each (shown by
        # the app and the CLI): settings never keep a project from opening.
        warnings: list[str] = []
        doc = pf.read(self.project_file, warnings) or {}
        self.settings_warnings = warnings
        return pf.apply_journal(doc, pf.read_journal(self._journal_path))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The folder lock, with this view brought up to date with the disk inside it. Only
        for writing: a read-only folder (a shared dataset) is refused before anything, even
        the lock file, is created there."""
        with self._lock:
            self._check_writable(self.root)
            self.check_inside(self.store_dir)   # the lock file and the journal live there
            with self._file_lock:
                self._sync()
                yield

    def _sync(self) -> None:
        """Merge what another writer saved into this view (keeping this one's changes)."""
        sig = self._disk_signature()
        if sig == self._sig:
            return
        disk = self._read_disk()
        self._adopt(pf.merge(disk, self._base, self._mine(), self._dirty, self._explicit))
        self._base, self._sig = disk, sig

    def sync(self) -> bool:
        """Pick up changes other writers made (another window, the CLI); writes nothing.
        True when there were any (records, settings, classes or label files may differ)."""
        with self._lock:
            before = self._sig
            self._sync()
            if self._sig != before:
                self._labels = None   # label files may have come or gone too
                return True
            return False

    def record(self, key: str) -> dict[str, Any] | None:
        """The image's record as this view knows it (None: none yet); not a copy."""
        return self._records.get(key)

    def journal(self, key: str, record: dict[str, Any], *, explicit: bool = False) -> int:
        """Make one image record durable now (the folder lock is held); returns the journal's
        size before, to cut it back if the label write that follows fails."""
        self._mkdir(self.store_dir)
        try:
            before = pf.append_journal(self._journal_path, key, record, explicit)
        except WriteError as e:
            raise ProjectError(f"cannot record the state of {key}: {e}") from None
        images = dict(self._base.get("images", {}))
        images[key] = pf.merge_record(images.get(key), record, explicit)
        self._base = {**self._base, "images": images}
        self._records[key] = pf.merge_record(self._records.get(key), record, explicit) or {}
        self._sig = self._disk_signature()
        return before

    def unjournal(self, key: str, size: int, before: dict[str, Any] | None) -> None:
        """Take back the last `journal` (its label could not be written)."""
        pf.truncate_journal(self._journal_path, size)
        images = dict(self._base.get("images", {}))
        if before is None:
            images.pop(key, None)
            self._records.pop(key, None)
        else:
            images[key] = dict(before)
            self._records[key] = dict(before)
        self._base = {**self._base, "images": images}
        self._sig = self._disk_signature()

    def save(self) -> None:
        """Merge with the file on disk and write it atomically; ProjectError when the folder
        is not writable (memory then still holds the changes, to be written next time)."""
        with self.locked():
            self._flush()

    def _flush(self) -> None:
        """Write the merged document and empty the journal (the folder lock is held)."""
        self._check_writable(self.root)
        doc = pf.merge(self._base, self._base, self._mine(), self._dirty, self._explicit)
        try:
            atomic_write_json(self.project_file, doc)
        except WriteError as e:
            raise ProjectError(f"{self.root}: cannot save the project ({e.problem})") from None
        # Everything the journal held is in the file now (a crash before this line only
        # means the same records are applied once more).
        pf.truncate_journal(self._journal_path, 0)
        self._adopt(doc)
        self._base, self._sig = doc, self._disk_signature()
        self._dirty.clear()
        self._explicit.clear()
        self.classes_unsaved = False
        self._last_flush = time.monotonic()

    @property
    def has_unflushed(self) -> bool:
        """Changes not yet folded into segstudio.json (in memory, or in the journal)."""
        try:
            return bool(self._dirty) or self._journal_path.stat().st_size > 0
        except OSError:
            return bool(self._dirty)

    @contextlib.contextmanager
    def batch(self) -> Iterator[RecordStore]:
        """Defer segstudio.json writes during many save_label calls (prediction of a folder):
        written at most every 2 s and once at the end, instead of once per image."""
        with self._lock:
            self._batch_depth += 1
            if self._batch_depth == 1:
                self._last_flush = time.monotonic()
        try:
            yield self
        finally:
            with self._lock:
                self._batch_depth -= 1
                if self._batch_depth == 0 and self.has_unflushed:
                    self.save()

    def flush_soon(self) -> None:
        """A record changed: write segstudio.json now, or (inside `batch`) within a few
        seconds; the journal already holds the record durably."""
        if self._batch_depth == 0 or time.monotonic() - self._last_flush > _BATCH_FLUSH_S:
            self.save()

    def _check_writable(self, folder: Path) -> None:
        if not is_writable(folder):
            raise ProjectError(f"{folder}: read-only folder; segstudio cannot save here")

    def check_inside(self, folder: Path) -> None:
        """ProjectError when a link takes `folder` out of the project (nothing is written)."""
        line = write_guard.problem(folder, self.root)
        if line is not None:
            raise ProjectError(line)

    def _mkdir(self, folder: Path) -> None:
        # Every folder segstudio writes a file into comes through here: refuse one that a link
        # takes out of the project before anything is made or written there.
        self.check_inside(folder)
        self._check_writable(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProjectError(f"{folder}: cannot create folder ({e.strerror or e})") from None

