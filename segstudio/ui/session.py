"""The open project as the window sees it: one MaskDocument per visited image, kept alive
while the app runs (so undo survives switching images), saving, states and confidence maps.

A QObject only for its signals; the edits themselves belong to core's MaskDocument.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtCore

from segstudio.core.editing import MaskDocument
from segstudio.core.errors import SegstudioError
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


@dataclass
class StoredPrediction:
    """What the worker thread did with one prediction (see Session.store_prediction)."""

    status: str                       # "written" | "open" | "skipped" | "failed"
    confidence_map: np.ndarray | None  # (H, W) uint8, 255 = certain
    mean: float | None
    message: str = ""


def quantize_confidence(confidence: np.ndarray | None) -> tuple[np.ndarray | None, float | None]:
    if confidence is None:
        return None, None
    conf_map = np.clip(np.rint(confidence * 255), 0, 255).astype(np.uint8)
    return conf_map, float(confidence.mean())


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
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="label-writer")
        self._futures: dict[str, Future] = {}
        self._handled: set[Future] = set()
        self._written.connect(self._finish)

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
        return self.project.state(entry)

    # -- documents -----------------------------------------------------------------------
    def document(self, entry: ImageEntry, shape: tuple[int, int]) -> MaskDocument:
        """The image's document, reading its label file on first visit (void when none).

        Raises LabelError for a label file that cannot be used.
        """
        with self._lock:
            doc = self.documents.get(entry.key)
            if doc is None:
                mask = self.project.read_label(entry)
                if mask is None:
                    mask = np.full(shape, self.project.classes.ignore_index, np.uint8)
                doc = MaskDocument(np.ascontiguousarray(mask), self.project.classes.ignore_index)
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
        """Write the image's label if it changed (or with `state`, always). Asynchronous
        unless `wait`; False (and `save_failed`) when a waited-for write failed."""
        doc = self.documents.get(entry.key)
        if doc is None or (state is None and not self.is_dirty(entry.key)):
            return True
        if state is None:
            state = self.project.state(entry)
            # A hand-edited label that is not reviewed yet is a draft: "predicted" until marked.
            if state is ImageState.UNLABELED:
                state = ImageState.PREDICTED
        snapshot = doc.mask.copy()
        doc.mark_saved()
        self.failed.discard(entry.key)
        future = self._writer.submit(self._write, entry, snapshot, state, confidence)
        self._futures[entry.key] = future
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
        """Mark reviewed (writing the label) or back to predicted."""
        self.document(entry, shape)
        return self.save(entry, state=ImageState.REVIEWED if reviewed else ImageState.PREDICTED)

    def close(self) -> None:
        self.flush()
        self._writer.shutdown(wait=True)

    def _write(self, entry: ImageEntry, mask: np.ndarray, state: ImageState,
               confidence: float | None) -> str:
        """Writer thread: '' on success, else the one-line reason."""
        try:
            self.project.save_label(entry, mask, state=state, overwrite_reviewed=True,
                                    confidence=confidence)
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
        message = future.result()
        if message:
            self.failed.add(key)
            self.save_failed.emit(message)
        self.state_changed.emit(key)
        return not message

    def adopt_classes(self, classes) -> None:
        """Switch the project to another class set; only for a project without labels, whose
        open documents are all void (they are dropped and re-read with the new void index)."""
        with self._lock:
            self.project.classes = classes
            self.documents.clear()

    # -- predictions ---------------------------------------------------------------------
    def store_prediction(
        self, entry: ImageEntry, labels: np.ndarray, confidence: np.ndarray | None,
        *, overwrite_reviewed: bool = False,
    ) -> StoredPrediction:
        """Called on the worker thread: encode and write the label there, so a big image never
        stalls the GUI. Images with an open document are left to `apply_prediction` on the GUI
        thread (status "open"): their mask is shared with the view and has its own history."""
        conf_map, mean = quantize_confidence(confidence)
        with self._lock:
            if entry.key in self.documents:
                return StoredPrediction("open", conf_map, mean)
            try:
                written = self.project.save_label(
                    entry, labels, state=ImageState.PREDICTED,
                    overwrite_reviewed=overwrite_reviewed, confidence=mean,
                )
            except (SegstudioError, OSError) as exc:
                message = _one_line(exc, self.project.label_path(entry))
                return StoredPrediction("failed", None, None, message)
        return StoredPrediction("written" if written else "skipped", conf_map, mean)

    def prediction_stored(self, entry: ImageEntry, stored: StoredPrediction) -> None:
        """GUI thread, after the worker wrote a label: keep its confidence map, tell views."""
        if stored.confidence_map is not None:
            self.confidence_maps[entry.key] = stored.confidence_map
        self.state_changed.emit(entry.key)

    def apply_prediction(
        self, entry: ImageEntry, labels: np.ndarray, stored: StoredPrediction,
        *, overwrite_reviewed: bool = False,
    ) -> tuple[bool, tuple[int, int, int, int] | None]:
        """GUI thread: accept a prediction into the image's open document. Returns (applied,
        changed bbox). Reviewed images are kept unless `overwrite_reviewed`; the document takes
        the prediction as one undoable change, so the user can step back to the old mask."""
        if self.project.state(entry) is ImageState.REVIEWED and not overwrite_reviewed:
            return False, None
        doc = self.documents[entry.key]
        if doc.mask.shape != labels.shape:
            self.save_failed.emit(f"{entry.path}: prediction size {labels.shape} differs from "
                                  f"the label {doc.mask.shape}; not applied")
            return False, None
        bbox = doc.replace(labels)
        self.save(entry, state=ImageState.PREDICTED, confidence=stored.mean)
        self.prediction_stored(entry, stored)
        return True, bbox

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
