"""The open project as the window sees it: one MaskDocument per visited image, kept alive
while the app runs (so undo survives switching images), saving, states and confidence maps.

A QObject only for its signals; the edits belong to core's MaskDocument and the rules of what
a save or a prediction may change belong to core.Project and engine.workflow.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtCore

from segstudio.core.editing import MaskDocument
from segstudio.core.errors import SegstudioError
from segstudio.core.label_saving import merge_prediction, prediction_outcome
from segstudio.core.project import ImageEntry, ImageState, Project

log = logging.getLogger(__name__)


CONFIDENCE_CACHE_BYTES = 1 << 30


class MapCache(OrderedDict):
    """Most recent maps first to go last: a folder of 8000x6000 images would otherwise keep
    48 MB per image; the oldest are dropped beyond `limit` bytes (segment again to see them)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.nbytes = 0

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        if key in self:
            self.nbytes -= self[key].nbytes
            del self[key]
        super().__setitem__(key, value)
        self.nbytes += value.nbytes
        while self.nbytes > self.limit and len(self) > 1:
            _, old = self.popitem(last=False)
            self.nbytes -= old.nbytes


class Session(QtCore.QObject):
    """`state_changed(key)` when an image's state or confidence changes; `save_failed(message)`
    when a label could not be written (the edits stay in memory and dirty)."""

    state_changed = QtCore.Signal(str)
    save_failed = QtCore.Signal(str)
    _written = QtCore.Signal(str, object)  # from the writer thread, queued to the GUI thread

    def __init__(self, project: Project, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.documents: dict[str, MaskDocument] = {}
        # Confidence maps live only in memory (uint8, 255 = certain); the project keeps the mean.
        self.confidence_maps = MapCache(CONFIDENCE_CACHE_BYTES)
        self._by_key = {e.key: e for e in project.entries}
        self._by_path: dict[Path, ImageEntry] | None = None
        # Guards `documents` against a worker writing a prediction for an image that the GUI
        # opens at the same moment.
        self._lock = threading.Lock()
        self.failed: set[str] = set()
        # States asked for but still being written: shown at once (a reviewed mark on an
        # 8000x6000 image must not wait for its 2-second PNG encode).
        self._pending_state: dict[str, ImageState] = {}
        self.read_only = project.read_only
        # Labels or the store leading out of the project through a link: nothing is saved
        # there (core refuses it), and the window says so in a dialog as the folder opens.
        self.link_problem = project.link_problem()
        self._told_read_only = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="label-writer")
        self._futures: dict[str, Future] = {}
        self._handled: set[Future] = set()
        self._written.connect(self._finish)
        # After close nothing is written: what was still unsaved then was the user's to
        # discard (a late focus-out autosave must not bring it back, nor hit a shut writer).
        self.closed = False

    # -- lookup --------------------------------------------------------------------------
    @property
    def entries(self) -> list[ImageEntry]:
        return self.project.entries

    def entry(self, key: str) -> ImageEntry:
        return self._by_key[key]

    def entry_for_path(self, path) -> ImageEntry | None:
        """The entry of a path that came from `entries` (prediction results echo them back).

        Built on first use and without resolve(): entry paths are lazy and resolving 20,000 of
        them would cost the fast folder listing its advantage at every open."""
        if self._by_path is None:
            self._by_path = {e.path: e for e in self.project.entries}
        return self._by_path.get(Path(path))

    def state(self, entry: ImageEntry) -> ImageState:
        """The state the user sees: a queued save's, else the record's; and an image a person
        has painted on is EDITED from the first stroke, before autosave writes it (a question
        asked meanwhile, such as Re-segment's, must count it with the edited ones)."""
        pending = self._pending_state.get(entry.key)
        state = pending if pending is not None else self.project.state(entry)
        if state in (ImageState.UNLABELED, ImageState.PREDICTED):
            doc = self.documents.get(entry.key)
            if doc is not None and doc.dirty and doc.touched_any:
                return ImageState.EDITED
        return state

    # -- documents -----------------------------------------------------------------------
    def document(self, entry: ImageEntry, shape: tuple[int, int]) -> MaskDocument:
        """The image's document, reading its label file (and touched pixels) on first visit
        (void when none). Raises LabelError for files that cannot be used."""
        with self._lock:
            doc = self.documents.get(entry.key)
            if doc is not None:
                self._pull(entry, doc)   # another window may have saved it since
            else:
                mask = self.project.read_label(entry)
                touched = None if mask is None else self.project.touched(entry)
                if mask is None:
                    mask = np.full(shape, self.project.classes.ignore_index, np.uint8)
                doc = MaskDocument(np.ascontiguousarray(mask), self.project.classes.ignore_index,
                                   touched=touched)
                self.documents[entry.key] = doc
        return doc

    # -- saving --------------------------------------------------------------------------
    # Encoding a label PNG takes seconds for an 8000x6000 mask, so labels are written by one
    # background writer (in order) from a snapshot; the document is marked saved at the
    # snapshot and, if the write fails, the key stays in `failed` and counts as unsaved.

    def is_dirty(self, key: str) -> bool:
        doc = self.documents.get(key)
        return key in self.failed or (doc is not None and doc.dirty)

    def dirty_keys(self) -> list[str]:
        return [k for k in self.documents if self.is_dirty(k)]

    @property
    def pending(self) -> bool:
        """True while a label write is queued or running."""
        return any(not f.done() for f in self._futures.values())

    def save(self, entry: ImageEntry, *, state: ImageState | None = None,
             wait: bool = False, confidence: float | None = None) -> bool:
        """Write the image's label if it changed (or with `state`, always). A person's edit of
        an image that is not reviewed makes it EDITED (its touched pixels are recorded).
        Asynchronous unless `wait`; False (and `save_failed`) when a waited-for write failed."""
        doc = self.documents.get(entry.key)
        if self.closed:
            return False
        if doc is None or (state is None and not self.is_dirty(entry.key)):
            return True
        if self.read_only or self.link_problem:
            # A read-only folder (a shared dataset): edits stay in memory, marked unsaved, and
            # the user hears it once, not at every autosave.
            self.failed.add(entry.key)
            # (A link out of the project was said in a dialog as the folder opened.)
            if not self._told_read_only and not self.link_problem:
                self._told_read_only = True
                self.save_failed.emit(
                    f"{self.project.root}: read-only folder, so edits cannot be saved here; "
                    "they stay in memory until you close it (copy the folder somewhere "
                    "writable to label it, or File > Export labels)")
            return False
        if state is None:
            state = (ImageState.REVIEWED if self.state(entry) is ImageState.REVIEWED
                     else ImageState.EDITED)
        snapshot = doc.mask.copy()
        # What the snapshot started from: a save beside another writer merges only the
        # pixels this window changed since (core.label_saving).
        saved = doc.saved_mask()
        base = snapshot if saved is doc.mask else saved
        touched = doc.touched.copy() if doc.touched_any else None
        doc.mark_saved()
        self.failed.discard(entry.key)
        self._pending_state[entry.key] = state
        future = self._writer.submit(self._write, entry, snapshot, state, confidence, touched,
                                     base)
        self._futures[entry.key] = future
        self.state_changed.emit(entry.key)
        # Runs on the writer thread (queued to the GUI), or right here if already done.
        future.add_done_callback(lambda f, k=entry.key: self._written.emit(k, f))
        if not wait:
            return True
        future.result()
        return self._finish(entry.key, future)

    def save_all(self, *, wait: bool = False) -> bool:
        ok = True
        for key in self.dirty_keys():
            ok = self.save(self._by_key[key], wait=wait) and ok
        if wait:
            ok = self.flush() and ok
        return ok

    def flush(self) -> bool:
        """Wait for every queued write; False when one failed."""
        ok = True
        for key, future in list(self._futures.items()):
            future.result()
            ok = self._finish(key, future) and ok
        return ok

    def set_reviewed(self, entry: ImageEntry, reviewed: bool, shape: tuple[int, int]) -> bool:
        """Mark reviewed, or take the mark back (an explicit user action): the image returns
        to EDITED when a person touched pixels of it, else to PREDICTED; its confidence stays."""
        doc = self.document(entry, shape)
        if reviewed:
            return self.save(entry, state=ImageState.REVIEWED)
        touched = doc.touched_any or self.project.touched_path(entry).is_file()
        return self.save(entry, state=ImageState.EDITED if touched else ImageState.PREDICTED)

    def close(self) -> None:
        self.closed = True
        self.flush()
        self._writer.shutdown(wait=True)

    def _write(self, entry: ImageEntry, mask: np.ndarray, state: ImageState,
               confidence: float | None, touched: np.ndarray | None,
               base: np.ndarray | None = None) -> str:
        """Writer thread: '' on success, else the one-line reason."""
        try:
            self.project.save_label(entry, mask, state=state, overwrite_reviewed=True,
                                    confidence=confidence, touched=touched, base=base)
        except (SegstudioError, OSError) as exc:
            log.warning("save failed: %s", exc)
            return _one_line(exc, self.project.label_path(entry))
        return ""

    def _finish(self, key: str, future: Future) -> bool:
        """GUI thread, once per write (queued signal or a wait, whichever comes first)."""
        if future in self._handled:  # the wait handled it; this is the late queued signal
            self._handled.discard(future)
            return not future.result()
        self._handled.add(future)
        if self._futures.get(key) is future:
            del self._futures[key]
            self._pending_state.pop(key, None)
        message = future.result()
        if message:
            self.failed.add(key)
            self.save_failed.emit(message)
        self.state_changed.emit(key)
        return not message

    # -- other writers (another window, the CLI) ----------------------------------------
    def sync(self) -> bool:
        """Pick up the records other writers saved; True when there were any. Skipped (False)
        while this session's own writes are queued: the project is busy with them."""
        if self.pending:
            return False
        try:
            return self.project.sync()
        except (SegstudioError, OSError) as exc:
            log.warning("sync failed: %s", exc)
            return False

    def pull(self, entry: ImageEntry) -> bool:
        """Bring another writer's saved pixels into the image's open document (unsaved edits
        here stay, see `MaskDocument.merge_disk`); True when the label had changed on disk."""
        with self._lock:
            doc = self.documents.get(entry.key)
            return doc is not None and self._pull(entry, doc)

    def _pull(self, entry: ImageEntry, doc: MaskDocument) -> bool:
        future = self._futures.get(entry.key)
        if (future is not None and not future.done()) or not self.project.label_changed(entry):
            return False   # a write of ours is queued: it merges, and the next check pulls
        try:
            disk = self.project.read_label(entry)
            touched = None if disk is None else self.project.touched(entry)
        except (SegstudioError, OSError) as exc:
            log.warning("cannot read the label another writer saved: %s", exc)
            return False
        if disk is None or disk.shape != doc.shape:
            return False
        doc.merge_disk(disk, touched)
        return True

    def adopt_classes(self, classes) -> None:
        """Switch the project to another class set; only for a project without labels, whose
        open documents are all void (they are dropped and re-read with the new void index)."""
        with self._lock:
            self.project.classes = classes
            self.documents.clear()

    def forget_documents(self) -> None:
        """Drop every open document and its undo steps (saved first by the caller): for a
        change that rewrote the label files under them, such as moving void."""
        with self._lock:
            self.documents.clear()

    # -- predictions ---------------------------------------------------------------------
    def write_prediction(self, project: Project, entry: ImageEntry, labels: np.ndarray,
                         confidence: np.ndarray | None, overwrite: bool):
        """The workflow's writer, on the worker thread: images without a document are written
        there under the project's rules (so a big image never stalls the GUI); images with one
        are handed to `apply_prediction` on the GUI thread (status "deferred"): their mask is
        shared with the view and has its own history."""
        from segstudio.engine.workflow.segment import SegmentResult, quantize, save_prediction

        with self._lock:
            if entry.key in self.documents:
                conf_map, mean = quantize(confidence)
                return SegmentResult(entry, "deferred", mean, conf_map, labels,
                                     overwrite_reviewed=overwrite)
            return save_prediction(project, entry, labels, confidence,
                                   overwrite_reviewed=overwrite)

    def prediction_stored(self, key: str, conf_map: np.ndarray | None) -> None:
        """GUI thread, after a prediction was written: keep its confidence map, tell views."""
        if conf_map is not None:
            self.confidence_maps[key] = conf_map
        self.state_changed.emit(key)

    def apply_prediction(self, result) -> str:
        """GUI thread: a deferred prediction (a workflow SegmentResult) into the image's open
        document, by the rule a save on disk follows (`core.label_saving.prediction_outcome`),
        with the touched pixels saved or painted since. The document takes it as one
        undoable change. Returns the outcome (predicted | merged | replaced | kept)."""
        entry = result.entry
        doc = self.documents[entry.key]
        outcome, new_state = prediction_outcome(self.state(entry), doc.touched_any,
                                                result.overwrite_reviewed)
        if new_state is None:
            return outcome
        if doc.mask.shape != result.labels.shape:
            self.save_failed.emit(f"{entry.path}: prediction size {result.labels.shape} differs "
                                  f"from the label {doc.mask.shape}; not applied")
            return "kept"
        keep = doc.touched if outcome == "merged" else None
        doc.replace(merge_prediction(doc.mask, result.labels, keep))
        self.save(entry, state=new_state, confidence=result.confidence)
        self.prediction_stored(entry.key, result.confidence_map)
        return outcome

    def persist(self) -> None:
        """Write the project file (states, confidences, classes); errors go to save_failed."""
        try:
            self.project.save()
        except (SegstudioError, OSError) as exc:
            self.save_failed.emit(_one_line(exc, self.project.root / "segstudio.json"))


def _one_line(exc: BaseException, path) -> str:
    if isinstance(exc, SegstudioError):
        return str(exc)
    return f"{path}: {getattr(exc, 'strerror', None) or exc}"
