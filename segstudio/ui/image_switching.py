"""Showing an image: switching to it, decoding it (off the GUI thread when big) and putting it
with its mask document on the canvas.

A mixin of MainWindow, like `commands.py`; it uses the window's session, canvas, tools, files
dock and status bar.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from pyqtgraph.Qt import QtCore

from segstudio.core.editing import MaskDocument
from segstudio.core.errors import SegstudioError
from segstudio.core.imageio import image_size
from segstudio.core.project import ImageEntry
from segstudio.ui.session import Session

log = logging.getLogger(__name__)
# Images above this many pixels are decoded off the GUI thread (an 8000x6000 JPEG and its
# label take about a second); smaller ones load at once, which keeps paging instant.
BACKGROUND_LOAD_PIXELS = 12_000_000


class ImageSwitching:
    # key, session, rgb, document, image error, label error (from the loader thread)
    _image_loaded = QtCore.Signal(str, object, object, object, str, str)

    def _init_image_switching(self) -> None:
        self.current_key: str | None = None
        self._loading: str | None = None
        self._image_shape: tuple[int, int] | None = None
        # One worker: loads finish in request order, and a stale request is dropped cheaply.
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-loader")
        self._image_loaded.connect(self._image_loaded_slot)

    def current_document(self) -> MaskDocument | None:
        if self.session is None or self.current_key is None:
            return None
        return self.session.documents.get(self.current_key)

    def show_image(self, key: str) -> None:
        """Switch to an image, autosaving the one we leave. Big images are decoded on a
        background thread (the current one stays on screen until the new one is ready)."""
        if self.session is None or key == self.current_key:
            return
        self.tools.cancel_polygon()
        if self.current_key is not None:
            self.session.save(self.session.entry(self.current_key))
        entry = self.session.entry(key)
        try:
            h, w = image_size(entry.path)
        except (SegstudioError, OSError) as exc:
            self.show_error(f"{exc} (skipped; the file is left as it is)")
            return
        self._loading = key
        session = self.session
        if h * w <= BACKGROUND_LOAD_PIXELS:
            self._image_loaded_slot(key, session, *self._load(session, entry))
            return
        self.show_status(f"loading {key} ({w}x{h})…", 0)

        def task() -> None:
            if self._loading != key:  # skip images the user has already paged past
                return
            try:
                loaded = self._load(session, entry)
            except Exception as exc:  # a thread must report, not vanish
                log.exception("loading %s failed", entry.path)
                loaded = (None, None, f"{entry.path}: {type(exc).__name__}: {exc}", "")
            self._image_loaded.emit(key, session, *loaded)

        self._loader.submit(task)

    @staticmethod
    def _load(session: Session, entry: ImageEntry) -> tuple:
        """(rgb, document, image error, label error); runs on the loader thread for big
        images. The document is created here too: reading a big label file takes a while."""
        try:
            rgb = session.project.read_image(entry)
        except (SegstudioError, OSError) as exc:
            return None, None, str(exc), ""
        try:
            return rgb, session.document(entry, rgb.shape[:2]), "", ""
        except (SegstudioError, OSError) as exc:
            return rgb, None, "", str(exc)

    def _image_loaded_slot(self, key: str, session, rgb, doc, error: str, label_error: str):
        if session is not self.session or key != self._loading:
            return  # a folder or an image chosen since
        if error:
            self.show_error(f"{error} (skipped; the file is left as it is)")
            return
        if self.statusBar().currentMessage().startswith("loading "):
            self.statusBar().clearMessage()
        self.current_key = key
        self._image_shape = rgb.shape[:2]
        first = self.canvas.image_item.array is None
        old_shape = None if first else self.canvas.image_item.array.shape[:2]
        self.canvas.set_image(rgb, fit=first or old_shape != rgb.shape[:2])
        if doc is None:
            self.canvas.label_item.clear()
            self.tools.set_document(None)
            self.show_error(f"{label_error}; the label is left as it is on disk and cannot be "
                            "edited here", dialog=True)
        else:
            classes = self.session.project.classes
            self.canvas.set_mask(doc.mask, classes.palette(), classes.ignore_index)
            doc.protect = self._protect_value()
            self.tools.set_document(doc)
        self.canvas.set_confidence(self.session.confidence_maps.get(key))
        self.files.select_key(key)
        self.update_title()

    def _state_changed(self, key: str) -> None:
        self.files.refresh_key(key)
        if key == self.current_key:
            conf = self.session.confidence_maps.get(key) if self.session else None
            self.canvas.set_confidence(conf)
        self.update_title()

    def refresh_current_mask(self, bbox) -> None:
        """A run changed the current image's mask (or replaced its document)."""
        if self.session is None or self.current_key is None:
            return
        doc = self.session.documents.get(self.current_key)
        if doc is not None and self.canvas.label_item.array is not doc.mask:
            classes = self.session.project.classes
            self.canvas.set_mask(doc.mask, classes.palette(), classes.ignore_index)
            self.tools.set_document(doc)
        else:
            self.canvas.refresh(bbox)
        self.update_title()
