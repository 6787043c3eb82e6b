"""The tool bar: tools, brush size, overlay opacity and the view toggles."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets


class ViewToolbar(QtWidgets.QToolBar):
    def __init__(self, actions: dict[str, QtGui.QAction], parent: QtWidgets.QWidget | None = None):
        super().__init__("Tools", parent)
        self.setObjectName("ToolsToolbar")
        self.setMovable(False)
        for name in ("tool_brush", "tool_eraser", "tool_fill", "tool_polygon", "tool_pan"):
            action = actions[name]
            action.setIconText(action.text().split(" (")[0].replace("&", ""))
            self.addAction(action)
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Size "))
        self.brush_size = _slider(1, 400, 16, "Brush diameter in image pixels ([ and ])")
        self.addWidget(self.brush_size)
        self.size_label = QtWidgets.QLabel("16 px")
        self.size_label.setMinimumWidth(48)
        self.brush_size.valueChanged.connect(lambda v: self.size_label.setText(f"{v} px"))
        self.addWidget(self.size_label)
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Opacity "))
        self.opacity = _slider(0, 100, 55, "Overlay opacity")
        self.addWidget(self.opacity)
        self.addSeparator()
        for name, short in (("toggle_overlay", "Overlay"), ("contour_view", "Contours"),
                            ("confidence_view", "Confidence")):
            actions[name].setIconText(short)
            self.addAction(actions[name])
        self.addSeparator()
        for name, short in (("zoom_fit", "Fit"), ("zoom_1to1", "1:1"), ("help", "Keys")):
            actions[name].setIconText(short)
            self.addAction(actions[name])


def _slider(lo: int, hi: int, value: int, tip: str) -> QtWidgets.QSlider:
    s = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setFixedWidth(120)
    s.setToolTip(tip)
    return s
