"""Loading an image with its mask document: at once for small images, on a background thread
for big ones (an 8000x6000 JPEG and its label take about a second), reporting what it loaded
through one signal whichever way it went.

It knows nothing of the window: the window connects `loaded` and decides what to show."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from pyqtgraph.Qt import QtCore

from segstudio.core.editing import MaskDocument
from segstudio.core.errors import SegstudioError
from segstudio.core.imageio import image_size
from segstudio.core.project import ImageEntry

log = logging.getLogger(__name__)
# Images above this many pixels are decoded off the GUI thread; smaller ones load at once,
# which keeps paging instant.
BACKGROUND_LOAD_PIXELS = 12_000_000
SCAN_SLICE_S = 0.01   # header scan: time on the GUI thread before letting events through


@dataclass
class Loaded:
    key: str
    session: object
    rgb: np.ndarray | None = None
    document: MaskDocument | None = None
    error: str = ""           # the image cannot be shown (why)
    label_error: str = ""     # the image shows, its label cannot be edited (why)


class ImageLoader(QtCore.QObject):
    """`loaded(Loaded)` once per request that is still wanted; `started(key, w, h)` when a
    big image goes to the background (the window says "loading")."""

    loaded = QtCore.Signal(object)
    started = QtCore.Signal(str, int, int)
    unreadable = QtCore.Signal(object, object)   # session, {key: why} (from scan_headers)
    _done = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.wanted: str | None = None
        # One worker: loads finish in request order, and a stale request is dropped cheaply.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-loader")
        self._scan_generation = 0
        self._done.connect(self._deliver)

    def scan_headers(self, session) -> None:
        """Read every image's header (never its pixels) and report the files that cannot be
        images (empty, not an image, over the pixel limit) as `unreadable`, so the list marks
        them when a folder opens, not only once visited. A later scan (another folder) or
        shutdown stops this one.

        On the GUI thread in slices of SCAN_SLICE_S between events, not on a worker thread:
        Python code on a plain thread can run the garbage collector there, which may destroy
        Qt objects of a closed window off the GUI thread and deadlock Qt (seen as a hang)."""
        self._scan_generation += 1
        generation = self._scan_generation
        entries = iter(list(session.entries))

        def step() -> None:
            if generation != self._scan_generation:
                return
            found: dict[str, str] = {}
            end = time.monotonic() + SCAN_SLICE_S
            finished = True
            for entry in entries:
                try:
                    image_size(entry.path)
                except (SegstudioError, OSError) as exc:
                    found[entry.key] = _line(exc, entry)
                except Exception as exc:  # a decoder's own bug: mark the file, keep scanning
                    found[entry.key] = f"{entry.path}: {type(exc).__name__}: {exc}"
                if time.monotonic() > end:
                    finished = False
                    break
            if found:   # one update of the list per slice, not one per file
                self.unreadable.emit(session, found)
            if not finished:
                QtCore.QTimer.singleShot(0, self, step)

        QtCore.QTimer.singleShot(0, self, step)

    def request(self, session, entry: ImageEntry) -> None:
        self.wanted = entry.key
        try:
            h, w = image_size(entry.path)
        except (SegstudioError, OSError) as exc:
            self._deliver(Loaded(entry.key, session, error=_line(exc, entry)))
            return
        if h * w <= BACKGROUND_LOAD_PIXELS:
            self._deliver(self._load(session, entry))
            return
        self.started.emit(entry.key, w, h)

        def task() -> None:
            if self.wanted != entry.key:   # paged past already
                return
            try:
                result = self._load(session, entry)
            except Exception as exc:  # a thread must report, not vanish
                log.exception("loading %s failed", entry.path)
                result = Loaded(entry.key, session, error=f"{entry.path}: "
                                f"{type(exc).__name__}: {exc}")
            self._done.emit(result)

        self._pool.submit(task)

    @staticmethod
    def _load(session, entry: ImageEntry) -> Loaded:
        try:
            rgb = session.project.read_image(entry)
        except (SegstudioError, OSError) as exc:
            return Loaded(entry.key, session, error=_line(exc, entry))
        try:
            return Loaded(entry.key, session, rgb, session.document(entry, rgb.shape[:2]))
        except (SegstudioError, OSError) as exc:
            return Loaded(entry.key, session, rgb, label_error=_line(exc, entry))

    def _deliver(self, result: Loaded) -> None:
        if result.key == self.wanted:
            self.loaded.emit(result)

    def shutdown(self) -> None:
        self.wanted = None
        self._scan_generation += 1
        self._pool.shutdown(wait=True, cancel_futures=True)


def _line(exc: BaseException, entry: ImageEntry) -> str:
    if isinstance(exc, SegstudioError):
        return str(exc)
    return f"{entry.path}: {getattr(exc, 'strerror', None) or exc}"
