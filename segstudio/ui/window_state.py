"""The window's own settings and layout: geometry, dock layout, brush size, opacity.

Written as they change (a crash must not lose them). Layouts are kept per scale factor
(QT_SCALE_FACTOR and the desktop's scaling change what a saved size means: a layout saved at
1.5 and restored at 1.0 left the Files panel too narrow to read), and restored only where they
fit the screen; otherwise, and on the first start, the default arrangement is made for the
screen the window is on: the three right-hand panels stacked where there is room, Model and
Fine-tune as tabs on a shorter screen, all three as tabs on a very short one (a 1280x1000
screen at scale 2 is 640x500 logical pixels), every panel at least as large as its contents
need."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.ui.settings import Settings

DEFAULT_SIZE = (1400, 900)
LAYOUT_SAVE_MS = 800
FRAME_MARGIN = (16, 48)   # room for a window manager's frame and title bar (w, h)
MIN_CANVAS = 0.3          # of the window's width, or the panels go into tabs
STACKED_MIN_HEIGHT = 760  # logical px for Classes, Model and Fine-tune one above the other
CLASS_ROWS = 12           # Classes lists this many classes (CamVid's 11) without scrolling


def screen_scale(widget: QtWidgets.QWidget) -> float:
    """What a saved layout depends on: device pixels per logical pixel times the logical DPI
    relative to 96 (QT_SCALE_FACTOR and the desktop's scaling both change it)."""
    screen = widget.screen() or QtWidgets.QApplication.primaryScreen()
    if screen is None:
        return 1.0
    return round(widget.devicePixelRatioF() * screen.logicalDotsPerInch() / 96.0, 2)


def _available(widget: QtWidgets.QWidget) -> QtCore.QRect | None:
    screen = widget.screen() or QtWidgets.QApplication.primaryScreen()
    return None if screen is None else screen.availableGeometry()


def _height_for_width(dock: QtWidgets.QDockWidget) -> int:
    """The height a panel needs at its width: word-wrapped notes take more than one line,
    which the minimum size hint does not count."""
    body = dock.widget()
    title = max(dock.minimumSizeHint().height() - body.minimumSizeHint().height(), 0)
    layout = body.layout()
    need = body.minimumSizeHint().height()
    if layout is not None and layout.hasHeightForWidth():
        need = max(need, layout.heightForWidth(max(dock.width(), body.minimumWidth())))
    return need + title


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
        self.arranged = 0     # tabs of the last default arrangement: 0 stacked ... 3
        self._fresh = False   # arranged but not yet sized with the panels shown

    def _key(self, name: str) -> str:
        """Layouts per scale factor: `window/1.5x/state`."""
        return f"window/{screen_scale(self.w):g}x/{name}"

    # -- restore -------------------------------------------------------------------------
    def restore(self) -> None:
        w, s = self.w, self.settings
        self._restoring = True
        try:
            geometry = s.get(self._key("geometry"), None)
            if geometry is None or not w.restoreGeometry(geometry) or not self._fits_screen():
                self.default_geometry()
            state = s.get(self._key("state"), None)
            if state is None or not w.restoreState(state):
                self.arrange_docks()
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
        avail = _available(self.w)
        width, height = DEFAULT_SIZE
        if avail is None:
            self.w.resize(width, height)
            return
        width = min(width, int(avail.width() * 0.9))
        height = min(height, int(avail.height() * 0.9))
        self.w.resize(width, height)
        frame = self.w.frameGeometry()
        frame.moveCenter(avail.center())
        self.w.move(frame.topLeft())

    def _fits_screen(self) -> bool:
        avail = _available(self.w)
        if avail is None:
            return True
        return avail.contains(self.w.frameGeometry().adjusted(8, 8, -8, -8))

    # -- the default arrangement -----------------------------------------------------------
    def arrange_docks(self) -> None:
        """Place the panels for this screen: stacked on the right where they fit, else
        tabbed (Model with Fine-tune, then Classes too); sized from the screen's width."""
        w = self.w
        avail = _available(w)
        room = None if avail is None else QtCore.QSize(avail.width() - FRAME_MARGIN[0],
                                                       avail.height() - FRAME_MARGIN[1])
        for tabs in (0, 1, 2, 3):
            if tabs == 0 and room is not None and room.height() < STACKED_MIN_HEIGHT:
                continue   # they would fit, each too short to use: Model and Fine-tune tabbed
            self._place(tabs)
            if room is None or self._min_size_fits(room):
                break
        w.model_dock.raise_()
        w.palette.raise_()
        self.size_docks()
        self._fresh = True

    def _place(self, tabs: int) -> None:
        """Files on the left; on the right Classes, Model and Fine-tune stacked (0), Model
        and Fine-tune as tabs (1), or all three as tabs (2); or every panel a tab on the right
        (3), where two side columns would leave the canvas too narrow to work in."""
        w = self.w
        area = QtCore.Qt.DockWidgetArea
        for dock in (w.files, w.palette, w.model_dock, w.finetune):
            dock.setFloating(False)
        w.addDockWidget(area.LeftDockWidgetArea, w.files)
        for dock in (w.palette, w.model_dock, w.finetune):
            w.addDockWidget(area.RightDockWidgetArea, dock)
        if tabs == 1:
            w.tabifyDockWidget(w.model_dock, w.finetune)
        elif tabs >= 2:
            w.tabifyDockWidget(w.palette, w.model_dock)
            w.tabifyDockWidget(w.palette, w.finetune)
            if tabs == 3:
                w.tabifyDockWidget(w.palette, w.files)
        self.arranged = tabs

    def _min_size_fits(self, room: QtCore.QSize) -> bool:
        """Whether the window's minimum size, with the panels shown, fits `room`."""
        w = self.w
        hidden = [d for d in (w.files, w.palette, w.model_dock, w.finetune) if d.isHidden()]
        for d in hidden:      # on the welcome page: measure as they will be with a project
            d.setVisible(True)
        w.layout().invalidate()
        size = w.minimumSizeHint()
        # The canvas is what the user works in: at least MIN_CANVAS of the width for it.
        sides = size.width() - w.centralWidget().minimumSize().width()
        for d in hidden:
            d.setVisible(False)
        width = min(room.width(), max(w.width(), int(0.9 * room.width())))
        return (size.width() <= room.width() and size.height() <= room.height()
                and width - sides >= MIN_CANVAS * width)

    def size_docks(self) -> None:
        """Widths from the window's: the canvas keeps most of it, the panels what they need."""
        w = self.w
        width = max(w.width(), 640)
        files = max(w.files.minimumSizeHint().width(), min(300, int(width * 0.21)))
        right = max(w.palette.minimumSizeHint().width(), w.model_dock.minimumSizeHint().width(),
                    min(400, int(width * 0.30)))
        horizontal, vertical = QtCore.Qt.Orientation.Horizontal, QtCore.Qt.Orientation.Vertical
        if self.arranged == 3:
            w.resizeDocks([w.palette], [max(right, files)], horizontal)
            return
        w.resizeDocks([w.files, w.palette], [files, right], horizontal)
        # Heights: what the right-hand column has now once the panels show (an estimate
        # before), Classes tall enough for CamVid's 11 classes, Model as tall as it needs.
        column = [d for d in (w.palette, w.model_dock, w.finetune) if d.isVisible()]
        height = sum(d.height() for d in column) if len(column) == 3 else w.height() - 120
        height = max(height, 300)
        rows = max(11, w.palette.list.count())
        row = w.palette.list.sizeHintForRow(0) if w.palette.list.count() else \
            w.palette.list.fontMetrics().height() + 4
        classes = min(int(height * 0.45), w.palette.minimumSizeHint().height()
                      + row * (rows - 4))
        model = _height_for_width(w.model_dock)
        if self.arranged == 0:
            w.resizeDocks([w.palette, w.model_dock, w.finetune],
                          [classes, model, max(height - classes - model, 150)], vertical)
        elif self.arranged == 1:
            w.resizeDocks([w.palette, w.model_dock], [classes, height - classes], vertical)

    def fit_classes(self) -> None:
        """Classes tall enough to list every class (up to CLASS_ROWS) where the panels it
        shares the column with can give the height and keep what they need: a layout saved
        on a taller screen, restored at 1280x800, showed 6 of CamVid's 11 (issue 19)."""
        w, lst = self.w, self.w.palette.list
        rows = min(lst.count(), CLASS_ROWS)
        if rows == 0 or not w.palette.isVisible() or w.palette.isFloating():
            return
        short = lst.sizeHintForRow(0) * rows + 2 * lst.frameWidth() - lst.height()
        area = w.dockWidgetArea(w.palette)
        others = [d for d in (w.finetune, w.model_dock)      # Fine-tune scrolls: first
                  if d.isVisible() and not d.isFloating() and w.dockWidgetArea(d) == area]
        if short <= 0 or not others:
            return
        sizes = []
        for dock in others:
            give = min(short, max(dock.height() - _height_for_width(dock), 0))
            sizes.append(dock.height() - give)
            short -= give
        taken = sum(d.height() for d in others) - sum(sizes)
        if taken > 0:
            w.resizeDocks([w.palette, *others], [w.palette.height() + taken, *sizes],
                          QtCore.Qt.Orientation.Vertical)

    def docks_usable(self) -> bool:
        """Every visible panel at least as wide and tall as its contents need to be readable."""
        for dock in self.w.findChildren(QtWidgets.QDockWidget):
            if not dock.isVisible() or dock.isFloating():
                continue
            hint = dock.minimumSizeHint()
            if dock.width() < hint.width() or dock.height() < min(hint.height(), 120):
                return False
        return True

    def check_docks(self) -> None:
        """After a project opens the panels show: a layout that leaves one unusable or the
        window off the screen is replaced by the default arrangement for this screen."""
        fresh, self._fresh = self._fresh, False
        if self.docks_usable() and self._fits_screen():
            if fresh:        # the default arrangement, sized now that the panels show
                self.size_docks()
            self.fit_classes()
            return
        self.arrange_docks()
        self._fresh = False
        if not self._fits_screen():
            avail = _available(self.w)
            if avail is not None:
                self.w.setGeometry(avail.adjusted(0, FRAME_MARGIN[1] // 2, -FRAME_MARGIN[0],
                                                  -FRAME_MARGIN[1] // 2))
                self.size_docks()

    # -- save as it changes --------------------------------------------------------------
    def _watch(self) -> None:
        w = self.w
        w.toolbar.brush_size.valueChanged.connect(
            lambda v: self._set("tools/brush", v))
        w.toolbar.opacity.valueChanged.connect(lambda v: self._set("view/opacity", v))
        for dock in w.findChildren(QtWidgets.QDockWidget):
            dock.dockLocationChanged.connect(self.layout_changed)
            dock.topLevelChanged.connect(self.layout_changed)
            dock.visibilityChanged.connect(self.layout_changed)
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
        s.set(self._key("geometry"), w.saveGeometry())
        if w.session is not None:  # on the welcome page the docks are hidden on purpose
            s.set(self._key("state"), w.saveState())
        s.sync()

    def save(self) -> None:
        self._timer.stop()
        self.save_layout()
        self.settings.set("view/opacity", self.w.toolbar.opacity.value())
        self.settings.set("tools/brush", self.w.toolbar.brush_size.value())
        self.settings.sync()
