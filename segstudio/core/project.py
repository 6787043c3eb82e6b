"""Project folders: which images there are, where their labels go, their states, the class set
and the registered checkpoints, persisted in `<folder>/segstudio.json`.

Layout: a folder with `images/` keeps labels in `labels/` beside it (CamVid's layout); any other
folder is a plain folder of images whose labels go to `<folder>/labels/`. Subfolders are listed
recursively; `labels/`, `checkpoints/` and hidden folders are never taken for images. An image's
identity is its posix path relative to the images folder ("sub/0001.jpg"); its label is that
path with a `.png` suffix under the labels folder. segstudio's own store (touched pixels, the
lock file) is the hidden `<folder>/.segstudio/`.

States (see `ImageState`): an image with no label file is UNLABELED. A label file with no record
in segstudio.json is REVIEWED: label files that exist before segstudio ever saw the folder
(CamVid's) were made by people, and assuming otherwise would let a prediction overwrite them.

The rules that keep a person's work (all enforced here, for the GUI and the CLI alike):
- a PREDICTED save never replaces a REVIEWED label unless the caller says so, and on an EDITED
  image it replaces only the pixels the person did not touch (the image stays EDITED);
- every save re-reads segstudio.json under a lock and merges (`project_file.merge`), so another
  writer's records survive and a record never moves down the states' order by itself;
- writes are ordered so that a crash or a failed write (full disk) can only leave an image
  looking *more* reviewed than it is, and memory always ends up agreeing with the disk.
"""

from __future__ import annotations

import contextlib
import posixpath
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.core import imageio, write_guard
from segstudio.core.atomic import is_writable, remove_orphan_temps
from segstudio.core.classes import ClassSet, default_classes
from segstudio.core.entries import ImageEntry, ImageState
from segstudio.core.errors import ClassSetError, LabelError, ProjectError, WriteError
from segstudio.core.labels import read_label, write_label
from segstudio.core.listing import scan_tree
from segstudio.core.project_file import PROJECT_FILE, signature
from segstudio.core.project_store import RecordStore
from segstudio.core.touched import TOUCHED_DIR, read_touched, touched_rel, write_touched

__all__ = ["PROJECT_FILE", "ImageEntry", "ImageState", "Project"]


def _label_rel(key: str) -> str:
    # String work, not PurePosixPath: this runs for every image of a 20,000-image listing.
    return posixpath.splitext(key)[0] + ".png"


class Project(RecordStore):
    """Open with `Project.open(folder)`; nothing is written until a save. Its records,
    settings, checkpoints and class set, and how they reach segstudio.json, are
    `RecordStore`'s (core.project_store)."""

    def __init__(self, root: Path, images_dir: Path, labels_dir: Path) -> None:
        super().__init__(root)
        self.images_dir = images_dir
        self.labels_dir = labels_dir
        self._entries: list[ImageEntry] | None = None
        self._by_key: dict[str, int] = {}
        self._label_override: dict[str, str] = {}  # only for keys whose stems collide
        self._labels: set[str] | None = None
        self._listing_warnings: list[str] = []
        # Each label file's signature when this view last read or wrote it (None: it had
        # none): a different one on disk means another writer changed it (`label_changed`).
        self._label_sigs: dict[str, tuple | None] = {}

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

        def ours(*folders: Path) -> tuple[Path, ...]:   # never clean through a link out
            return tuple(f for f in folders if write_guard.leads_out(f, root) is None)

        remove_orphan_temps(project.root, *ours(project.checkpoints_dir),
                            trees=ours(project.labels_dir, project.store_dir))
        return project

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    def _load(self) -> None:
        self._sig = self._disk_signature()
        data = self._read_disk()   # {} for a folder segstudio has never written to
        if "classes" not in data:
            self.classes = self._find_classes_json() or default_classes()
        self._adopt(data)
        self._base = data

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

    def touched_path(self, entry: ImageEntry) -> Path:
        return self.root / touched_rel(self._label_key(entry))

    def _label_set(self) -> set[str]:
        if self._labels is None:
            listing = scan_tree(self.labels_dir, (".png",), within=(self.root, self.labels_dir))
            self._labels = set(listing.files)
            self._listing_warnings += [w for w in listing.warnings
                                       if w not in self._listing_warnings]
        return self._labels

    def has_label(self, entry: ImageEntry) -> bool:
        if self._label_key(entry) in self._label_set():
            return True
        # A record without a known label file: another writer may have just written it.
        return entry.key in self._records and self.label_exists(entry)

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

    def entries_in(self, *states: ImageState) -> list[ImageEntry]:
        return [e for e in self.entries if self.state(e) in states]

    def reviewed_entries(self) -> list[ImageEntry]:
        return self.entries_in(ImageState.REVIEWED)

    def read_label(self, entry: ImageEntry) -> np.ndarray | None:
        """The label mask, checked against the classes and the image size; None when absent."""
        path = self.label_path(entry)
        before = signature(path)
        if before is None or not path.is_file():
            self._label_sigs[entry.key] = None
            return None
        mask = read_label(path, self.classes, expected_shape=imageio.image_size(entry.path))
        # Replaced while being read: what was read is of unknown age, so count it as changed.
        self.note_label(entry, known=signature(path) == before, sig=before)
        return mask

    def label_changed(self, entry: ImageEntry) -> bool:
        """Whether the label file differs from the one this view last read or wrote (another
        window or the CLI saved it since); a label this view never read counts as changed."""
        known = self._label_sigs.get(entry.key, ...)
        sig = signature(self.label_path(entry))
        return sig != known and not (known is ... and sig is None)

    def note_label(self, entry: ImageEntry, *, known: bool, sig: tuple | None = None) -> None:
        """Remember the label file as this view's (`known`: its content is what this view
        holds; else forget it, so the next save merges with it)."""
        if known:
            self._label_sigs[entry.key] = sig if sig is not None else signature(
                self.label_path(entry))
        else:
            self._label_sigs.pop(entry.key, None)

    def touched(self, entry: ImageEntry) -> np.ndarray | None:
        """The pixels a person touched ((H, W) bool), None when there are none."""
        return read_touched(self.touched_path(entry), imageio.image_size(entry.path))

    def save_label(
        self,
        entry: ImageEntry,
        mask: np.ndarray,
        *,
        state: ImageState,
        overwrite_reviewed: bool = False,
        confidence: float | None = None,
        touched: np.ndarray | None = None,
        base: np.ndarray | None = None,
    ) -> bool:
        """Atomically write the label and record its state; False (nothing written) when a
        PREDICTED label would replace a REVIEWED one and `overwrite_reviewed` is False.

        PREDICTED on an EDITED image keeps the touched pixels' values and the image stays
        EDITED (with `overwrite_reviewed` the prediction replaces everything instead). EDITED
        saves accumulate `touched` with what was recorded; REVIEWED keeps them (un-reviewing
        then returns to EDITED). Moving an image down the states' order (un-reviewing,
        re-segmenting a reviewed image on request) is an explicit change that wins over other
        writers.

        When another writer saved the label since this view read it, the save merges (see
        `core.label_saving`): with `base` (the label `mask` started from) only the pixels
        that differ from it are this writer's; without it, EDITED saves keep the other
        writers' touched pixels outside `touched`.
        """
        from segstudio.core import label_saving

        return label_saving.save(self, entry, mask, ImageState(state), overwrite_reviewed,
                                 confidence, touched, base)

    def set_state(self, entry: ImageEntry, state: ImageState) -> None:
        """A user's explicit state change (the label file stays as it is)."""
        state = ImageState(state)
        with self.locked():
            if state is not ImageState.UNLABELED and not self.label_exists(entry):
                raise ProjectError(f"{entry.path}: has no label file to mark {state.value}")
            self.journal(entry.key, {**self._records.get(entry.key, {}), "state": state.value},
                          explicit=True)
            self.flush_soon()

    def confidence(self, entry: ImageEntry) -> float | None:
        rec = self._records.get(entry.key)
        value = rec.get("confidence") if rec else None
        return None if value is None else float(value)

    def set_confidence(self, entry: ImageEntry, value: float) -> None:
        with self.locked():
            record = {**self._records.get(entry.key, {}), "confidence": float(value)}
            record.setdefault("state", self.state(entry).value)
            self.journal(entry.key, record)
            self.flush_soon()

    # The steps of the saving protocol (core.label_saving) ---------------------------------
    # Public so that module needs no private access across files; everything else saves
    # through `save_label`, which runs them in the safe order under the folder lock.
    def label_exists(self, entry: ImageEntry) -> bool:
        """Whether the label file exists now (another writer may have made it)."""
        key = self._label_key(entry)
        exists = self.label_path(entry).is_file()
        labels = self._label_set()
        if exists:
            labels.add(key)
        else:
            labels.discard(key)
        return exists

    def write_label_file(self, entry: ImageEntry, mask: np.ndarray) -> None:
        path = self.label_path(entry)
        self._mkdir(path.parent)
        try:
            write_label(path, mask, self.classes)
        except WriteError as e:
            self.note_label(entry, known=False)
            raise ProjectError(f"cannot save label: {e}") from None
        self._label_set().add(self._label_key(entry))

    def write_touched_file(self, entry: ImageEntry, touched: np.ndarray) -> None:
        path = self.touched_path(entry)
        self._mkdir(path.parent)
        try:
            write_touched(path, touched)
        except WriteError as e:
            raise ProjectError(f"cannot save touched pixels: {e}") from None

    def remove_touched_file(self, entry: ImageEntry) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.touched_path(entry).unlink()

    # ----- checkpoints ---------------------------------------------------------------------
    def register_checkpoint(self, path: str | Path, arch: str, metrics: dict,
                            **fields: Any) -> dict:
        """Record a checkpoint (path relative to the root when inside it); replaces a record
        with the same path. `fields`: run details (status, parent, start_miou, settings...).
        Returns the record."""
        rel = self.relative_path(path)
        old = next((c for c in self.checkpoints if c.get("path") == rel), {})
        record = {
            **old,
            "path": rel,
            "arch": arch,
            "metrics": dict(metrics),
            "created": old.get("created") or datetime.now(UTC).isoformat(timespec="seconds"),
            **fields,
        }
        with self._lock:
            self.checkpoints[:] = [c for c in self.checkpoints if c.get("path") != rel]
            self.checkpoints.append(record)
            self.save()
        return record

    def relative_path(self, path: str | Path) -> str:
        """How a path is stored: relative (posix) when inside the project, else absolute."""
        p = Path(path).expanduser().resolve()
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return str(p)

    def checkpoint_path(self, record: dict | str) -> Path:
        """Absolute path of a registered checkpoint record (or of a stored path)."""
        p = Path(record["path"] if isinstance(record, dict) else record)
        return p if p.is_absolute() else self.root / p

    @property
    def read_only(self) -> bool:
        """True when segstudio must not write here (see `is_writable`): open for reading
        only. (Folders that lead out of the project: `link_problem`.)"""
        return not is_writable(self.root) or not is_writable(self.labels_dir)

    def link_problem(self) -> str | None:
        """One line when a folder segstudio would write labels into (labels/, one of its
        subfolders for the listed images, .segstudio/ and its touched maps) is a link leading
        out of the project; None when every one lies inside. Label saves there are refused
        (`ProjectError`) whatever the caller checked; this says it before any work."""
        folders = [self.labels_dir, self.store_dir, self.store_dir / TOUCHED_DIR]
        subs = {posixpath.dirname(self._label_key(e)) for e in self.entries}
        subs.discard("")
        for sub in sorted(subs):
            folders += [self.labels_dir / sub, self.root / touched_rel(sub)]
        return write_guard.first_problem(folders, self.root)

    def checkpoints_problem(self, run: Path | None = None) -> str | None:
        """`link_problem` for checkpoints/ (and the run folder `run` in it), where fine-tunes
        write and runs are deleted: one line when a link takes it out of the project."""
        return write_guard.first_problem([self.checkpoints_dir, *([run] if run else [])],
                                         self.root)

    def check_shape(self, entry: ImageEntry, mask: np.ndarray) -> None:
        h, w = imageio.image_size(entry.path)
        if mask.shape[:2] != (h, w):
            raise LabelError(self.label_path(entry),
                             f"mask is {mask.shape[1]}x{mask.shape[0]} but image is {w}x{h}")
