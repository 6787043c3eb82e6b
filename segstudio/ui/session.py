"""The open project as the window sees it: one MaskDocument per visited image, kept alive
while the app runs (so undo survives switching images), saving, states and confidence maps.

A QObject only for its signals; the edits themselves belong to core's MaskDocument.
"""

from __future__ import annotations

import logging

import numpy as np
from pyqtgraph.Qt import QtCore

from segstudio.core.editing import MaskDocument
from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageEntry, ImageState, Project

log = logging.getLogger(__name__)


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

    # -- predictions ---------------------------------------------------------------------
    def apply_prediction(
        self, entry: ImageEntry, labels: np.ndarray, confidence: np.ndarray | None,
        *, overwrite_reviewed: bool = False,
    ) -> tuple[bool, tuple[int, int, int, int] | None]:
        """Accept a predicted mask. Returns (applied, bbox changed in an open document).

        Reviewed images are kept unless `overwrite_reviewed`; an open document takes the
        prediction as one undoable change, so a user can step back to the old mask.
        """
        if self.project.state(entry) is ImageState.REVIEWED and not overwrite_reviewed:
            return False, None
        bbox = None
        doc = self.documents.get(entry.key)
        if doc is not None and doc.mask.shape == labels.shape:
            bbox = doc.replace(labels)
        mean = None if confidence is None else float(confidence.mean())
        try:
            self.project.save_label(
                entry, labels, state=ImageState.PREDICTED,
                overwrite_reviewed=overwrite_reviewed, confidence=mean,
            )
            if doc is not None:
                doc.mark_saved()
        except (SegstudioError, OSError) as exc:
            self.save_failed.emit(_one_line(exc, self.project.label_path(entry)))
        if confidence is not None:
            self.confidence_maps[entry.key] = np.clip(
                np.rint(confidence * 255), 0, 255
            ).astype(np.uint8)
        self.state_changed.emit(entry.key)
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
