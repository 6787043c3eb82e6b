"""The SAM tool's gestures for the ToolController: left click adds a point on the object,
right click one off it, the mask follows the cursor (a tentative point), Enter commits it
with the current class, Esc drops the points.

The rules (which images are encoded, when stale work stops, the cache) live in the Qt-free
`segstudio.assist.sam_session`; this file only polls it every 30 ms and draws. The session's
threads encode and decode, so a click, a mouse move or an image switch never waits for the
network.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.core.editing import MaskDocument

Point = tuple[float, float]
BBox = tuple[int, int, int, int]
POLL_MS = 30


PREVIEW_RGBA = 0x6000FFFF         # cyan at 38% (ARGB), over the label overlay


def mask_pixmap(mask: np.ndarray) -> tuple[QtGui.QPixmap, tuple[int, int]] | None:
    """The mask's bounding box as a translucent pixmap and its (x, y) offset; None if empty.

    A pixmap, not an outline: a mask of many pieces (a random network's, or a textured
    object's) has thousands of contour points, and building a path of them in Python held
    the GUI thread for up to 360 ms a hover."""
    box = mask_bbox(mask)
    if box is None:
        return None
    y0, x0, y1, x1 = box
    crop = np.ascontiguousarray(mask[y0:y1, x0:x1], np.uint8)
    image = QtGui.QImage(crop.data, x1 - x0, y1 - y0, x1 - x0, QtGui.QImage.Format.Format_Indexed8)
    image.setColorTable([0x00000000, PREVIEW_RGBA])
    return QtGui.QPixmap.fromImage(image), (x0, y0)     # fromImage copies: crop may go


def mask_bbox(mask: np.ndarray) -> BBox | None:
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if ys.size == 0:
        return None
    return int(ys[0]), int(xs[0]), int(ys[-1]) + 1, int(xs[-1]) + 1


class SamTool(QtCore.QObject):
    """`status(text)`: what the tool says (encoding, ready, how to get weights);
    `committed(bbox)`: a mask reached the document."""

    status = QtCore.Signal(str)
    committed = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.spec = None                        # a ModelSpec; None: the session's default
        self.session = None                     # a SamSession once the tool is used
        self.active = False
        self.quiet = False      # serving the object fill: no "how to get weights", no preview
        self.image: np.ndarray | None = None
        self.key: Hashable | None = None
        self.neighbours: list[tuple[Hashable, Path]] = []
        # Set by the window: the image shown and its neighbours, (key, [(key, path)]).
        self.source: Callable[[], tuple[Hashable | None, list[tuple[Hashable, Path]]]] | None
        self.source = None
        self._hover: Point | None = None
        self._shown: object = None              # the prompt whose mask is drawn
        self._commit: tuple[MaskDocument, int] | None = None
        self._said = ""
        self.preview = QtWidgets.QGraphicsPixmapItem()
        self.preview.setZValue(12)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)

    def attach(self, viewbox: pg.ViewBox) -> None:
        """Draw the preview on this view (the canvas's ViewBox)."""
        viewbox.addItem(self.preview, ignoreBounds=True)

    # -- state ---------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if text != self._said:
            self._said = text
            self.status.emit(text)

    def activate(self, on: bool, quiet: bool = False) -> None:
        """The tool was chosen (on) or left: without weights it says how to get them once.
        `quiet`: for the object fill, which works without SAM (and uses it when ready)."""
        from segstudio.assist import sam_session

        self.active, self.quiet = on, quiet
        self.cancel()
        if not on:
            self._timer.stop()
            self._said = ""
            return
        if self.session is not None and self.session.model is None and self.session.error:
            # The weights could not be loaded (corrupt, removed): look again, they may have
            # been fetched since.
            self.session.close(wait_s=0)
            self.session = None
        if self.session is None:
            spec = self.spec or sam_session.DEFAULT_SPEC
            if not sam_session.weights_present(spec):
                self._said = ""
                if not quiet:
                    self._say(sam_session.how_to_get(spec))
                return
            self.session = sam_session.SamSession(spec)
        self._open()
        self._timer.start()

    def set_image(self, rgb: np.ndarray | None) -> None:
        self.image = rgb
        self.cancel()
        if self.active and self.session is not None:
            self._open()

    def _open(self) -> None:
        key, neighbours = (self.source() if self.source is not None else (None, []))
        if key is None and self.image is not None:
            key = ("unsaved", id(self.image))     # no file behind it (tests, scripts)
        if self.image is None or self.session is None:
            return
        self.key, self.neighbours = key, neighbours
        self.session.open_image(key, self.image, neighbours)

    @property
    def ready(self) -> bool:
        return self.session is not None and self.session.ready

    # -- gestures ------------------------------------------------------------------------
    def click(self, p: Point, positive: bool) -> None:
        if self.session is None:
            return self.activate(True) if self.active else None
        self.session.add_point(p, positive)
        self.poll()

    def hover(self, p: Point | None) -> None:
        self._hover = p
        if self.ready:
            self.poll()

    def commit(self, doc: MaskDocument, value: int) -> bool:
        """Enter: paint the points' mask (the hover's, with no point) once it is computed."""
        if self.session is None or not (self.session.points or self._hover is not None):
            return False
        if not self.session.points:
            self.session.add_point(self._hover, True)
        self._commit = (doc, int(value))
        self.poll()
        return True

    def cancel(self) -> None:
        """Esc, another image or tool: the points and the preview go."""
        self._commit = None
        self._shown = None
        self._show(None)
        if self.session is not None:
            self.session.clear_points()

    def point_mask(self):
        """For the object fill: a function giving SAM's mask for one click (any thread), or
        None while SAM has not encoded this image."""
        s = self.session
        return s.mask_at if s is not None and s.ready else None

    def _show(self, mask: np.ndarray | None) -> None:
        shown = None if mask is None else mask_pixmap(mask)
        if shown is None:
            self.preview.setPixmap(QtGui.QPixmap())
            return
        pixmap, (x, y) = shown
        self.preview.setPixmap(pixmap)
        self.preview.setOffset(x, y)

    @property
    def previewing(self) -> bool:
        """A mask is shown."""
        return not self.preview.pixmap().isNull()

    @property
    def has_points(self) -> bool:
        return self.session is not None and bool(self.session.points)

    # -- the poll (GUI thread) -----------------------------------------------------------
    def poll(self) -> None:
        s = self.session
        if s is None:
            return
        if s.error is not None:
            self._say(f"SAM: {s.error}")
            return
        if self.quiet:
            self._say("Object fill: SAM is encoding this image; until then similar-colour "
                      "regions decide" if not s.ready else
                      "Object fill: a click re-labels the object SAM sees, inside the "
                      "predicted region")
            return
        if not s.ready:
            self._say("SAM: encoding this image… (the other tools work meanwhile)")
            return
        if self._commit is not None:
            prompt = s.prompt()
            mask = s.result(prompt)
            if mask is None:
                s.request(prompt)
                return
            doc, value = self._commit
            self._commit = None
            box = mask_bbox(mask)
            bbox = None
            if box is not None:
                y0, x0, y1, x1 = box
                bbox = doc.paint(box, mask[y0:y1, x0:x1], value)
            self.cancel()
            self.committed.emit(bbox)
            return
        hover = self._hover if self._inside(self._hover) else None
        prompt = s.prompt(hover)
        if not prompt[0]:
            self._show(None)
            self._shown = None
        elif prompt != self._shown:
            mask = s.result(prompt)
            if mask is not None:
                self._show(mask)
                self._shown = prompt
            else:
                s.request(prompt)
        ms = np.median(s.latencies[-20:]) * 1000 if s.latencies else 0.0
        self._say("SAM ready: left click adds, right click removes, Enter commits, Esc "
                  f"cancels ({ms:.0f} ms a mask)" if ms else
                  "SAM ready: left click adds, right click removes, Enter commits, Esc cancels")

    def _inside(self, p: Point | None) -> bool:
        if p is None or self.image is None:
            return False
        h, w = self.image.shape[:2]
        return 0 <= p[0] < w and 0 <= p[1] < h

    def finish(self, timeout_s: float = 30.0) -> None:
        """Poll until nothing is pending (tests, scripts)."""
        import time

        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            self.poll()
            s = self.session
            if s is None or s.error is not None or (s.ready and self._commit is None
                                                    and not s.pending()):
                self.poll()
                return
            QtWidgets.QApplication.processEvents()
            time.sleep(0.005)

    def close(self) -> None:
        self._timer.stop()
        if self.session is not None:
            self.session.close()


def wire_window(window) -> None:
    """Connect the window's SAM tool: its preview on the canvas, its lines in the status
    bar, and the image shown with its neighbours in the file list's order (encoded ahead)."""
    from segstudio.assist.sam_cache import image_key

    tool: SamTool = window.tools.sam
    tool.attach(window.canvas.viewbox)
    tool.status.connect(lambda text: window.notify.status(text, 15000))
    app = QtWidgets.QApplication.instance()
    if app is not None:   # the session's threads end before the interpreter does
        app.aboutToQuit.connect(tool.close)

    def source() -> tuple[Hashable | None, list[tuple[Hashable, Path]]]:
        session, key = window.session, window.current_key
        if session is None or key is None:
            return None, []
        try:
            order = window.files.ordered_keys()
            i = order.index(key)
            near = [order[j] for j in (i + 1, i - 1) if 0 <= j < len(order)]
            return (image_key(session.entry(key).path),
                    [(image_key(session.entry(k).path), session.entry(k).path) for k in near])
        except (OSError, ValueError, KeyError):
            return None, []      # a file gone meanwhile: encode the shown image as given

    tool.source = source
