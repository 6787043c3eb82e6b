"""The window's own settings: geometry, dock layout, brush size, opacity.

Written as they change (a crash must not lose them), and restored only where they fit: a
layout saved under another scale factor or on a bigger screen would leave docks too narrow
to read ("0...", a header reading "mage") or a status bar off screen, so it is dropped for
the default one, which is sized from the screen the window is on."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.ui.settings import Settings

DEFAULT_SIZE = (1400, 900)
LAYOUT_SAVE_MS = 800


def screen_scale(widget: QtWidgets.QWidget) -> float:
    """What a saved layout depends on: device pixels per logical pixel times the logical DPI
    relative to 96 (QT_SCALE_FACTOR and the desktop's scaling both change it)."""
    screen = widget.screen() or QtWidgets.QApplication.primaryScreen()
    if screen is None:
        return 1.0
    return round(widget.devicePixelRatioF() * screen.logicalDotsPerInch() / 96.0, 2)


class WindowState(QtCore.QObject):
    def __init__(self, window: QtWidgets.QMainWindow, settings: Settings) -> None:
        super().__init__(window)
        self.w = window
        self.settings = settings
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(LAYOUT_SAVE_MS)
        self._timer.timeout.connect(self.save_layout)
        self._restoring = False

    # -- restore -------------------------------------------------------------------------
    def restore(self) -> None:
        w, s = self.w, self.settings
        self._restoring = True
        try:
            same_scale = s.get("window/scale", None, float) == screen_scale(w)
            geometry = s.get("window/geometry", None)
            if geometry is None or not same_scale or not w.restoreGeometry(geometry) \
                    or not self._fits_screen():
                self.default_geometry()
            state = s.get("window/state", None)
            if state is not None and same_scale:
                w.restoreState(state)
            w.toolbar.opacity.setValue(s.get("view/opacity", 55, int))
            w.canvas.set_opacity(w.toolbar.opacity.value() / 100.0)
            w.toolbar.brush_size.setValue(s.get("tools/brush", 16, int))
        finally:
            self._restoring = False
        w.command_actions["toggle_overlay"].setChecked(True)
        w.command_actions["tool_brush"].trigger()
        self._watch()

    def default_geometry(self) -> None:
        """1400x900, or 90% of a smaller screen, centred on it."""
        screen = self.w.screen() or QtWidgets.QApplication.primaryScreen()
        width, height = DEFAULT_SIZE
        if screen is not None:
            avail = screen.availableGeometry()
            width = min(width, int(avail.width() * 0.9))
            height = min(height, int(avail.height() * 0.9))
            self.w.resize(width, height)
            frame = self.w.frameGeometry()
            frame.moveCenter(avail.center())
            self.w.move(frame.topLeft())
        else:
            self.w.resize(width, height)

    def _fits_screen(self) -> bool:
        screen = self.w.screen()
        if screen is None:
            return True
        return screen.availableGeometry().contains(self.w.frameGeometry().adjusted(8, 8, -8, -8))

    def docks_usable(self) -> bool:
        """Every visible dock at least as wide and tall as its contents need to be readable."""
        for dock in self.w.findChildren(QtWidgets.QDockWidget):
            if not dock.isVisible() or dock.isFloating():
                continue
            hint = dock.minimumSizeHint()
            if dock.width() < hint.width() or dock.height() < min(hint.height(), 120):
                return False
        return True

    def check_docks(self) -> None:
        """After a project opens the docks show: a restored layout that leaves one unusable
        is replaced by the default sizes."""
        if not self.docks_usable():
            w = self.w
            w.resizeDocks([w.files, w.palette], [300, 420], QtCore.Qt.Orientation.Horizontal)
            w.resizeDocks([w.palette, w.model_dock, w.finetune], [310, 160, 340],
                          QtCore.Qt.Orientation.Vertical)

    # -- save as it changes --------------------------------------------------------------
    def _watch(self) -> None:
        w = self.w
        w.toolbar.brush_size.valueChanged.connect(
            lambda v: self._set("tools/brush", v))
        w.toolbar.opacity.valueChanged.connect(lambda v: self._set("view/opacity", v))
        for dock in w.findChildren(QtWidgets.QDockWidget):
            dock.dockLocationChanged.connect(self.layout_changed)
            dock.topLevelChanged.connect(self.layout_changed)
        w.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Move):
            self.layout_changed()
        return False

    def layout_changed(self, *_args) -> None:
        if not self._restoring:
            self._timer.start()

    def _set(self, key: str, value) -> None:
        if not self._restoring:
            self.settings.set(key, value)
            self.settings.sync()

    def save_layout(self) -> None:
        s, w = self.settings, self.w
        s.set("window/geometry", w.saveGeometry())
        s.set("window/scale", screen_scale(w))
        if w.session is not None:  # on the welcome page the docks are hidden on purpose
            s.set("window/state", w.saveState())
        s.sync()

    def save(self) -> None:
        self._timer.stop()
        self.save_layout()
        self.settings.set("view/opacity", self.w.toolbar.opacity.value())
        self.settings.set("tools/brush", self.w.toolbar.brush_size.value())
        self.settings.sync()
