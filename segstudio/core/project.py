"""Project folders: which images there are, where their labels go, their states, the class set
and the registered checkpoints, persisted in `<folder>/segstudio.json`.

Layout: a folder with `images/` keeps labels in `labels/` beside it (CamVid's layout); any other
folder is a plain folder of images whose labels go to `<folder>/labels/`. Subfolders are listed
recursively; `labels/`, `checkpoints/` and hidden folders are never taken for images. An image's
identity is its posix path relative to the images folder ("sub/0001.jpg"); its label is that
path with a `.png` suffix under the labels folder.

States: an image with no label file is UNLABELED. A label file with no record in segstudio.json
is REVIEWED: label files that exist before segstudio ever saw the folder (CamVid's) were made by
people, and assuming otherwise would let a prediction overwrite them. Everything segstudio writes
is recorded with its state, and the record is written before the label, so a crash can only
leave an image looking *more* reviewed than it is, never less.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.core import imageio
from segstudio.core.atomic import atomic_write_json, is_writable, remove_orphan_temps
from segstudio.core.classes import ClassSet, default_classes
from segstudio.core.entries import ImageEntry, ImageState
from segstudio.core.errors import ClassSetError, LabelError, ProjectError, WriteError
from segstudio.core.labels import read_label, write_label
from segstudio.core.listing import scan_tree

PROJECT_FILE = "segstudio.json"
FORMAT = "segstudio-project"
VERSION = 1
# Inside `batch()`, segstudio.json is rewritten at most this often (and once at the end).
_BATCH_FLUSH_S = 2.0

__all__ = ["PROJECT_FILE", "ImageEntry", "ImageState", "Project"]


def _label_rel(key: str) -> str:
    # String work, not PurePosixPath: this runs for every image of a 20,000-image listing.
    return posixpath.splitext(key)[0] + ".png"


class Project:
    """Open with `Project.open(folder)`; nothing is written until a save."""

    def __init__(self, root: Path, images_dir: Path, labels_dir: Path) -> None:
        self.root = root
        self.images_dir = images_dir
        self.labels_dir = labels_dir
        self.classes: ClassSet = default_classes()
        self.settings: dict[str, Any] = {}
        self.checkpoints: list[dict] = []
        self._records: dict[str, dict[str, Any]] = {}
        self._entries: list[ImageEntry] | None = None
        self._by_key: dict[str, int] = {}
        self._label_override: dict[str, str] = {}  # only for keys whose stems collide
        self._labels: set[str] | None = None
        self._listing_warnings: list[str] = []
        self._lock = threading.RLock()
        self._batch_depth = 0
        self._pending = False
        self._last_flush = 0.0

    # ----- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: str | Path) -> Project:
        root = Path(folder).expanduser().resolve()
        if not root.exists():
            raise ProjectError(f"{root}: no such folder")
        if not root.is_dir():
            raise ProjectError(f"{root}: not a folder")
        images = root / "images"
        if images.is_dir():
            project = cls(root, images, root / "labels")
        else:
            project = cls(root, root, root / "labels")
        project._load()
        remove_orphan_temps(project.root, project.checkpoints_dir, trees=(project.labels_dir,))
        return project

    @property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    def _load(self) -> None:
        path = self.project_file
        if not path.is_file():
            self.classes = self._find_classes_json() or default_classes()
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ProjectError(f"{path}: cannot read project file ({e})") from None
        if not isinstance(data, dict):
            raise ProjectError(f"{path}: not a segstudio project file")
        version = data.get("version", VERSION)
        if not isinstance(version, int) or version > VERSION:
            raise ProjectError(f"{path}: written by a newer segstudio (format {version})")
        try:
            if "classes" in data:
                self.classes = ClassSet.from_dict(data["classes"])
            else:
                self.classes = self._find_classes_json() or default_classes()
        except ClassSetError as e:
            raise ProjectError(f"{path}: {e}") from None
        settings = data.get("settings", {})
        images = data.get("images", {})
        checkpoints = data.get("checkpoints", [])
        if not (isinstance(settings, dict) and isinstance(images, dict)):
            raise ProjectError(f"{path}: 'settings' and 'images' must be objects")
        if not isinstance(checkpoints, list):
            raise ProjectError(f"{path}: 'checkpoints' must be a list")
        valid = {s.value for s in ImageState}
        for key, rec in images.items():
            conf = rec.get("confidence") if isinstance(rec, dict) else None
            if (
                not isinstance(rec, dict)
                or rec.get("state", "unlabeled") not in valid
                or not (conf is None or isinstance(conf, int | float))
            ):
                raise ProjectError(f"{path}: bad record for image {key!r}: {rec!r}")
        for rec in checkpoints:
            if not isinstance(rec, dict) or not isinstance(rec.get("path"), str):
                raise ProjectError(f"{path}: bad checkpoint record {rec!r}")
        self.settings, self._records, self.checkpoints = settings, images, checkpoints

    def _find_classes_json(self) -> ClassSet | None:
        # A dataset's classes.json sits in the folder or one level up (camvid/classes.json
        # beside camvid/train/).
        for folder in (self.root, self.root.parent):
            path = folder / "classes.json"
            if path.is_file():
                try:
                    return ClassSet.load(path)
                except ClassSetError as e:
                    raise ProjectError(str(e)) from None
        return None

    # ----- images --------------------------------------------------------------------------
    @property
    def entries(self) -> list[ImageEntry]:
        """All images, naturally sorted; listed on first use (no decoding)."""
        if self._entries is None:
            self.refresh()
        assert self._entries is not None
        return self._entries

    def refresh(self) -> None:
        """Re-list the images and label files (after files were added or removed outside)."""
        listing = scan_tree(self.images_dir, skip_dirs=(self.labels_dir, self.checkpoints_dir),
                            within=(self.root, self.images_dir))
        keys = listing.files
        self._listing_warnings = listing.warnings
        base = str(self.images_dir)
        entries = [ImageEntry(k, base=base) for k in keys]
        stems: dict[str, list[str]] = {}
        for k in keys:
            stems.setdefault(_label_rel(k), []).append(k)
        # "a.jpg" and "a.png" would share labels/a.png; give each its full name instead.
        self._label_override = {
            k: f"{k}.png" for group in stems.values() if len(group) > 1 for k in group
        }
        self._by_key = {e.key: i for i, e in enumerate(entries)}
        self._entries = entries
        self._labels = None

    @property
    def listing_warnings(self) -> list[str]:
        """One line per folder the listing left out: unreadable, or a folder link leading out
        of the project (not followed). Lists on first use, like `entries`."""
        self.entries  # noqa: B018 - lists on first use
        return list(self._listing_warnings)

    def entry(self, key: str) -> ImageEntry:
        """The entry with this key; ProjectError when there is none."""
        i = self._index(key)
        if i is None:
            raise ProjectError(f"{self.images_dir / key}: not an image of this project")
        return self.entries[i]

    def _index(self, key: str) -> int | None:
        self.entries  # noqa: B018 - lists on first use
        return self._by_key.get(key)

    def index(self, entry: ImageEntry) -> int:
        i = self._index(entry.key)
        if i is None:
            raise ProjectError(f"{entry.path}: not an image of this project")
        return i

    def read_image(self, entry: ImageEntry) -> np.ndarray:
        return imageio.read_image(entry.path)

    # ----- labels and states ---------------------------------------------------------------
    def _label_key(self, entry: ImageEntry) -> str:
        self.entries  # noqa: B018 - collisions are known once listed
        return self._label_override.get(entry.key) or _label_rel(entry.key)

    def label_path(self, entry: ImageEntry) -> Path:
        return self.labels_dir / self._label_key(entry)

    def _label_set(self) -> set[str]:
        if self._labels is None:
            listing = scan_tree(self.labels_dir, (".png",), within=(self.root, self.labels_dir))
            self._labels = set(listing.files)
            self._listing_warnings += [w for w in listing.warnings
                                       if w not in self._listing_warnings]
        return self._labels

    def has_label(self, entry: ImageEntry) -> bool:
        return self._label_key(entry) in self._label_set()

    def state(self, entry: ImageEntry) -> ImageState:
        if not self.has_label(entry):
            return ImageState.UNLABELED
        rec = self._records.get(entry.key)
        return ImageState(rec["state"]) if rec and "state" in rec else ImageState.REVIEWED

    def counts(self) -> dict[ImageState, int]:
        out = dict.fromkeys(ImageState, 0)
        for e in self.entries:
            out[self.state(e)] += 1
        return out

    def reviewed_entries(self) -> list[ImageEntry]:
        return [e for e in self.entries if self.state(e) is ImageState.REVIEWED]

    def read_label(self, entry: ImageEntry) -> np.ndarray | None:
        """The label mask, checked against the classes and the image size; None when absent."""
        path = self.label_path(entry)
        if not path.is_file():
            return None
        return read_label(path, self.classes, expected_shape=imageio.image_size(entry.path))

    def save_label(
        self,
        entry: ImageEntry,
        mask: np.ndarray,
        *,
        state: ImageState,
        overwrite_reviewed: bool = False,
        confidence: float | None = None,
    ) -> bool:
        """Atomically write the label and record its state. Returns False, writing nothing,
        when a PREDICTED label would replace a REVIEWED one and `overwrite_reviewed` is False."""
        state = ImageState(state)
        if state is ImageState.UNLABELED:
            raise ValueError("save_label needs state PREDICTED or REVIEWED")
        path = self.label_path(entry)
        with self._lock:
            if (
                state is ImageState.PREDICTED
                and not overwrite_reviewed
                and self.state(entry) is ImageState.REVIEWED
            ):
                return False
            h, w = imageio.image_size(entry.path)
            if mask.shape[:2] != (h, w):
                raise LabelError(
                    path, f"mask is {mask.shape[1]}x{mask.shape[0]} but image is {w}x{h}"
                )
            before = self._records.get(entry.key)
            rec = dict(before or {})
            rec["state"] = state.value
            if confidence is not None:
                rec["confidence"] = float(confidence)
            elif state is ImageState.REVIEWED:
                rec.pop("confidence", None)  # a person's label has no model confidence
            self._records[entry.key] = rec
            try:
                self._changed()  # record first: see the module docstring
                self._mkdir(path.parent)
                write_label(path, mask, self.classes)
            except (WriteError, ProjectError) as e:
                if before is None:
                    self._records.pop(entry.key, None)
                else:
                    self._records[entry.key] = before
                raise ProjectError(f"cannot save label: {e}") from None
            self._label_set().add(self._label_key(entry))
        return True

    def set_state(self, entry: ImageEntry, state: ImageState) -> None:
        state = ImageState(state)
        with self._lock:
            if state is not ImageState.UNLABELED and not self.has_label(entry):
                raise ProjectError(f"{entry.path}: has no label file to mark {state.value}")
            self._records.setdefault(entry.key, {})["state"] = state.value
            self._changed()

    def confidence(self, entry: ImageEntry) -> float | None:
        rec = self._records.get(entry.key)
        value = rec.get("confidence") if rec else None
        return None if value is None else float(value)

    def set_confidence(self, entry: ImageEntry, value: float) -> None:
        with self._lock:
            self._records.setdefault(entry.key, {})["confidence"] = float(value)
            self._changed()

    # ----- checkpoints ---------------------------------------------------------------------
    def register_checkpoint(self, path: str | Path, arch: str, metrics: dict) -> None:
        """Record a checkpoint (path relative to the root when inside it); replaces a record
        with the same path."""
        p = Path(path).expanduser().resolve()
        try:
            rel = p.relative_to(self.root).as_posix()
        except ValueError:
            rel = str(p)
        record = {
            "path": rel,
            "arch": arch,
            "metrics": dict(metrics),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with self._lock:
            self.checkpoints = [c for c in self.checkpoints if c.get("path") != rel]
            self.checkpoints.append(record)
            self._changed()

    def checkpoint_path(self, record: dict) -> Path:
        """Absolute path of a registered checkpoint record."""
        p = Path(record["path"])
        return p if p.is_absolute() else self.root / p

    # ----- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "format": FORMAT,
                "version": VERSION,
                "classes": self.classes.to_dict(),
                # Shallow copies are atomic under the GIL: the GUI may edit settings meanwhile.
                "settings": dict(self.settings),
                "images": {k: dict(v) for k, v in sorted(self._records.items())},
                "checkpoints": list(self.checkpoints),
            }

    def save(self) -> None:
        """Atomically write segstudio.json; ProjectError when the folder is not writable."""
        with self._lock:
            self._checkis_writable(self.root)
            try:
                atomic_write_json(self.project_file, self.to_dict())
            except WriteError as e:
                raise ProjectError(f"{self.root}: cannot save the project ({e.problem})") from None
            self._pending = False
            self._last_flush = time.monotonic()

    @contextlib.contextmanager
    def batch(self) -> Iterator[Project]:
        """Defer segstudio.json writes during many save_label calls (prediction of a folder):
        written at most every 2 s and once at the end, instead of once per image."""
        with self._lock:
            self._batch_depth += 1
        try:
            yield self
        finally:
            with self._lock:
                self._batch_depth -= 1
                if self._batch_depth == 0 and self._pending:
                    self.save()

    def _changed(self) -> None:
        self._pending = True
        if self._batch_depth == 0 or time.monotonic() - self._last_flush > _BATCH_FLUSH_S:
            self.save()

    @property
    def read_only(self) -> bool:
        """True when segstudio must not write here (see `_writable`): open for reading only."""
        return not is_writable(self.root) or not is_writable(self.labels_dir)

    def _checkis_writable(self, folder: Path) -> None:
        if not is_writable(folder):
            raise ProjectError(f"{folder}: read-only folder; segstudio cannot save here")

    def _mkdir(self, folder: Path) -> None:
        self._checkis_writable(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProjectError(f"{folder}: cannot create folder ({e.strerror or e})") from None
