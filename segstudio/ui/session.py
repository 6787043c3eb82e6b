"""The open project as the window sees it: one MaskDocument per visited image, kept alive
while the app runs (so undo survives switching images), saving, states and confidence maps.

A QObject only for its signals; the edits themselves belong to core's MaskDocument.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
from pyqtgraph.Qt import QtCore

from segstudio.core.editing import MaskDocument
from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageEntry, ImageState, Project

log = logging.getLogger(__name__)


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

    def __init__(self, project: Project, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.documents: dict[str, MaskDocument] = {}
        # Confidence maps live only in memory (uint8, 255 = certain); the project keeps the mean.
        self.confidence_maps: dict[str, np.ndarray] = {}
        self._by_key = {e.key: e for e in project.entries}
        self._by_path = {e.path.resolve(): e for e in project.entries}
        # Guards `documents` against a worker writing a prediction for an image that the GUI
        # opens at the same moment.
        self._lock = threading.Lock()

    # -- lookup --------------------------------------------------------------------------
    @property
    def entries(self) -> list[ImageEntry]:
        return self.project.entries

    def entry(self, key: str) -> ImageEntry:
        return self._by_key[key]

    def entry_for_path(self, path) -> ImageEntry | None:
        return self._by_path.get(path.resolve())

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

    def dirty_keys(self) -> list[str]:
        return [k for k, d in self.documents.items() if d.dirty]

    def save(self, entry: ImageEntry) -> bool:
        """Write the image's label if it changed; False (and `save_failed`) when that failed."""
        doc = self.documents.get(entry.key)
        if doc is None or not doc.dirty:
            return True
        state = self.project.state(entry)
        # A hand-edited label that is not reviewed yet is a draft: "predicted" until marked.
        if state is ImageState.UNLABELED:
            state = ImageState.PREDICTED
        try:
            self.project.save_label(entry, doc.mask, state=state, overwrite_reviewed=True)
        except (SegstudioError, OSError) as exc:
            log.warning("save failed: %s", exc)
            self.save_failed.emit(_one_line(exc, self.project.label_path(entry)))
            return False
        doc.mark_saved()
        self.state_changed.emit(entry.key)
        return True

    def save_all(self) -> bool:
        ok = True
        for key in self.dirty_keys():
            ok = self.save(self._by_key[key]) and ok
        return ok

    def set_reviewed(self, entry: ImageEntry, reviewed: bool, shape: tuple[int, int]) -> bool:
        """Mark reviewed (writing the label) or back to predicted."""
        doc = self.document(entry, shape)
        state = ImageState.REVIEWED if reviewed else ImageState.PREDICTED
        try:
            self.project.save_label(entry, doc.mask, state=state, overwrite_reviewed=True)
        except (SegstudioError, OSError) as exc:
            self.save_failed.emit(_one_line(exc, self.project.label_path(entry)))
            return False
        doc.mark_saved()
        self.state_changed.emit(entry.key)
        return True

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
        try:
            self.project.save_label(
                entry, doc.mask, state=ImageState.PREDICTED,
                overwrite_reviewed=overwrite_reviewed, confidence=stored.mean,
            )
            doc.mark_saved()
        except (SegstudioError, OSError) as exc:
            self.save_failed.emit(_one_line(exc, self.project.label_path(entry)))
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
