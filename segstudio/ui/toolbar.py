"""The tool bar: tools, brush size, overlay opacity, the view toggles and the image's
brightness / contrast / gamma (a panel that drops down from "Image")."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.ui.commands import TOOL_NAMES
from segstudio.ui.image_adjust import AdjustPanel


class ViewToolbar(QtWidgets.QToolBar):
    def __init__(self, actions: dict[str, QtGui.QAction], parent: QtWidgets.QWidget | None = None):
        super().__init__("Tools", parent)
        self.setObjectName("ToolsToolbar")
        self.setMovable(False)
        for name in TOOL_NAMES:
            action = actions[name]
            short = action.text().split(" (")[0].replace("&", "")
            action.setIconText(short.split(" ")[0])     # "Pick class" -> "Pick"
            self.addAction(action)
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Size "))
        self.brush_size = _slider(1, 400, 16, "Brush diameter in pixels of this image ([ and "
                                  "]); another image gets the same fraction of its size")
        self.addWidget(self.brush_size)
        self.size_label = QtWidgets.QLabel("16 px")
        self.size_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("400 px") + 4)
        self.brush_size.valueChanged.connect(lambda v: self.size_label.setText(f"{v} px"))
        self.addWidget(self.size_label)
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Opacity "))
        self.opacity = _slider(0, 100, 55, "Overlay opacity")
        self.addWidget(self.opacity)
        # The value beside the slider, as Size has (a slider alone says "about half").
        self.opacity_label = QtWidgets.QLabel(f" {self.opacity.value()}%")
        self.opacity_label.setMinimumWidth(self.fontMetrics().horizontalAdvance(" 100%") + 4)
        self.opacity.valueChanged.connect(lambda v: self.opacity_label.setText(f" {v}%"))
        self.addWidget(self.opacity_label)
        self.addSeparator()
        for name, short in (("toggle_overlay", "Overlay"), ("contour_view", "Contours"),
                            ("confidence_view", "Confidence")):
            actions[name].setIconText(short)
            self.addAction(actions[name])
        # Brightness / contrast / gamma: a panel dropping down from a button (display only).
        self.adjust = AdjustPanel()
        self.adjust_button = QtWidgets.QToolButton()
        self.adjust_button.setText("Image")
        self.adjust_button.setToolTip("Brightness, contrast and gamma of the image on screen "
                                      "(display only; Ctrl+B)")
        self.adjust_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(self.adjust_button)
        holder = QtWidgets.QWidgetAction(menu)
        holder.setDefaultWidget(self.adjust)
        menu.addAction(holder)
        self.adjust_button.setMenu(menu)
        self.adjust.changed.connect(self._adjusted)
        self.addWidget(self.adjust_button)
        self.addSeparator()
        for name, short in (("zoom_fit", "Fit"), ("zoom_1to1", "1:1"), ("help", "Keys")):
            actions[name].setIconText(short)
            self.addAction(actions[name])

    def show_adjust_panel(self) -> None:
        if self.adjust_button.isVisible():
            self.adjust_button.showMenu()
        else:   # in the overflow menu of a narrow window: drop it down under the tool bar
            self.adjust_button.menu().popup(self.mapToGlobal(self.rect().bottomLeft()))

    def _adjusted(self, adj) -> None:
        # A mark on the button, so an adjusted image is never mistaken for the data.
        self.adjust_button.setText("Image" if adj.identity else "Image •")


def _slider(lo: int, hi: int, value: int, tip: str) -> QtWidgets.QSlider:
    s = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setFixedWidth(100)
    s.setToolTip(tip)
    return s
