"""What the user sees of the image without changing it: classes hidden or soloed in the
overlay, the image's brightness / contrast / gamma, the zoom readout, and the eyedropper's
pick. Wires the Classes panel, the tool bar and the tools to the canvas; display only: the
mask and the image data are never touched here."""

from __future__ import annotations

from collections.abc import Mapping

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.ui.notifier import Notifier


def zoom_text(factor: float) -> str:
    if factor <= 0:
        return ""
    pct = factor * 100
    return f"zoom {pct:.0f}%" if pct >= 10 else f"zoom {pct:.1f}%"


class ViewControls(QtCore.QObject):
    """`cursor_label` (the pixel under the mouse and its class) and `zoom_label` go in the
    status bar."""

    def __init__(self, canvas, palette, tools, toolbar, notifier: Notifier,
                 actions: Mapping[str, QtGui.QAction],
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.palette = palette
        self.tools = tools
        self.cursor_label = QtWidgets.QLabel("")
        self.cursor_label.setMinimumWidth(self.cursor_label.fontMetrics().horizontalAdvance(
            "x 8000, y 6000 · 1 Sky"))
        self.notify = notifier
        self.adjust = toolbar.adjust
        self.actions = actions
        self.zoom_label = QtWidgets.QLabel("")
        self.zoom_label.setToolTip("Screen pixels per image pixel (100%: 1:1, Ctrl+1; "
                                   "fit: Ctrl+0)")
        self.zoom_label.setMinimumWidth(self.zoom_label.fontMetrics().horizontalAdvance(
            "zoom 1600%") + 6)
        canvas.zoom_changed.connect(lambda f: self.zoom_label.setText(zoom_text(f)))
        palette.visibility_changed.connect(self._visibility_changed)
        tools.picked.connect(self.picked)
        tools.tool_changed.connect(self._tool_changed)
        tools.outline_changed.connect(self.canvas.set_brush_radius)
        self.adjust.changed.connect(self._adjusted)

    def _tool_changed(self, tool) -> None:
        # The tool's action checked and the brush outline shown, whoever changed the tool.
        self.actions[f"tool_{tool.value}"].setChecked(True)
        self.canvas.set_brush_radius(self.tools.brush_outline_radius())

    def image_shown(self, rgb) -> None:
        """The image on screen (what "Auto" measures); the adjustment stays as it is."""
        self.adjust.image = rgb

    def cleared(self) -> None:
        self.adjust.image = None
        self.zoom_label.setText("")
        self.cursor_label.setText("")

    def cursor_moved(self, x: int, y: int, value: int) -> None:
        """The hover readout: position and class, numbered as the list and the keys are."""
        if x < 0:
            self.cursor_label.setText("")
            return
        text = f"x {x}, y {y}"
        classes = self.palette.classes
        if value >= 0 and classes is not None:
            name = (f"{value + 1} {classes.names[value]}" if value < classes.num_classes
                    else classes.ignore_name if value == classes.ignore_index else str(value))
            text += f" · {name}"
        self.cursor_label.setText(text)
        self.tools.hover((x + 0.5, y + 0.5))

    def _visibility_changed(self, hidden) -> None:
        classes = self.palette.classes
        if classes is not None:
            self.canvas.set_hidden_classes(hidden, classes.palette(), classes.ignore_index)
        if hidden and classes is not None:
            shown = [n for i, n in enumerate(classes.names) if i not in hidden]
            what = (f"only {shown[0]} shown" if len(shown) == 1 else
                    f"{len(hidden)} classes hidden" if len(hidden) > 2 else
                    "hidden: " + ", ".join(classes.names[i] for i in sorted(hidden)))
            self.notify.status(f"{what} in the overlay (Shift+V shows all)", 6000)

    def picked(self, value: int) -> None:
        """The eyedropper's value: paint with that class from now on."""
        classes = self.palette.classes
        if classes is None:
            return
        if value < classes.num_classes:
            self.palette.select(value)
            self.notify.status(f"picked class {value + 1} {classes.names[value]}", 3000)
        elif value == classes.ignore_index:
            self.notify.status(f"picked {classes.ignore_name}: paint it with the eraser (E)",
                               4000)
        else:
            self.notify.status(f"value {value} is not a class of this project", 4000)

    def _adjusted(self, adj) -> None:
        self.canvas.set_image_lut(None if adj.identity else adj.lut())
