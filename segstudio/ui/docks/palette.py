"""Classes dock: colour swatches, pick with keys 1-9, add / rename / recolour classes, and the
"paint only over one class" protection."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.core.classes import ClassSet
from segstudio.core.errors import SegstudioError


def swatch(color: tuple[int, int, int], size: int = 16) -> QtGui.QIcon:
    pix = QtGui.QPixmap(size, size)
    pix.fill(QtGui.QColor(*color))
    painter = QtGui.QPainter(pix)
    painter.setPen(QtGui.QColor(0, 0, 0))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QtGui.QIcon(pix)


class PaletteDock(QtWidgets.QDockWidget):
    """`class_selected(index)`; `classes_edited()` after the ClassSet changed in place;
    `protect_changed(index or -1)`; `error(message)` for a refused edit."""

    class_selected = QtCore.Signal(int)
    classes_edited = QtCore.Signal()
    protect_changed = QtCore.Signal(int)
    error = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("PaletteDock")
        self.classes: ClassSet | None = None
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        self.list = QtWidgets.QListWidget()
        self.list.setMinimumHeight(150)
        self.list.currentRowChanged.connect(self._row_changed)
        layout.addWidget(self.list, 1)
        buttons = QtWidgets.QHBoxLayout()
        for text, slot in (("Add", self.add_class), ("Rename", self.rename_class),
                           ("Colour", self.recolor_class)):
            b = QtWidgets.QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        layout.addLayout(buttons)
        protect = QtWidgets.QHBoxLayout()
        self.protect_box = QtWidgets.QCheckBox("Paint only over")
        self.protect_box.setToolTip("Protect other classes: brush, fill and polygon change only "
                                    "pixels of the chosen class")
        self.protect_class = QtWidgets.QComboBox()
        self.protect_box.toggled.connect(self._protect_changed)
        self.protect_class.currentIndexChanged.connect(self._protect_changed)
        protect.addWidget(self.protect_box)
        protect.addWidget(self.protect_class, 1)
        layout.addLayout(protect)
        self.setWidget(body)

    def set_classes(self, classes: ClassSet) -> None:
        """A (new) class set: "paint only over" starts off, so a choice made for other
        classes never silently protects a different one."""
        self.classes = classes
        self.protect_box.blockSignals(True)
        self.protect_box.setChecked(False)
        self.protect_box.blockSignals(False)
        self.protect_class.setCurrentIndex(0)
        self._rebuild()
        self.protect_changed.emit(-1)

    def current(self) -> int:
        return max(self.list.currentRow(), 0)

    def select(self, index: int) -> None:
        if self.classes is not None and 0 <= index < self.classes.num_classes:
            self.list.setCurrentRow(index)

    def _rebuild(self) -> None:
        assert self.classes is not None
        row = self.list.currentRow()
        protect_row = self.protect_class.currentIndex()
        self.list.blockSignals(True)
        self.protect_class.blockSignals(True)
        self.list.clear()
        self.protect_class.clear()
        pairs = zip(self.classes.names, self.classes.colors, strict=True)
        for i, (name, color) in enumerate(pairs):
            key = f"{i + 1}  " if i < 9 else "    "
            self.list.addItem(QtWidgets.QListWidgetItem(swatch(color), f"{key}{name}"))
            self.protect_class.addItem(swatch(color), name)
        self.protect_class.addItem(swatch(self.classes.ignore_color), self.classes.ignore_name)
        self.list.setCurrentRow(min(max(row, 0), self.classes.num_classes - 1))
        self.protect_class.setCurrentIndex(max(protect_row, 0))
        self.protect_class.blockSignals(False)
        self.list.blockSignals(False)
        self.class_selected.emit(self.current())

    def _row_changed(self, row: int) -> None:
        if row >= 0:
            self.class_selected.emit(row)

    def _protect_changed(self, *_args) -> None:
        if self.classes is None or not self.protect_box.isChecked():
            self.protect_changed.emit(-1)
            return
        i = self.protect_class.currentIndex()
        value = self.classes.ignore_index if i >= self.classes.num_classes else i
        self.protect_changed.emit(value)

    def protect_value_or_none(self) -> int | None:
        v = self.protect_value()
        return None if v < 0 else v

    def protect_value(self) -> int:
        if self.classes is None or not self.protect_box.isChecked():
            return -1
        i = self.protect_class.currentIndex()
        return self.classes.ignore_index if i >= self.classes.num_classes else i

    # -- edits ---------------------------------------------------------------------------
    def _edit(self, fn) -> None:
        try:
            fn()
        except SegstudioError as exc:
            self.error.emit(str(exc))
            return
        self._rebuild()
        self.classes_edited.emit()

    def add_class(self) -> None:
        if self.classes is None:
            return
        name, ok = QtWidgets.QInputDialog.getText(self, "Add class", "Name of the new class:")
        if ok and name.strip():
            self._edit(lambda: self.classes.add(name.strip()))
            self.list.setCurrentRow(self.classes.num_classes - 1)

    def rename_class(self) -> None:
        if self.classes is None:
            return
        i = self.current()
        name, ok = QtWidgets.QInputDialog.getText(
            self, "Rename class", "New name:", text=self.classes.names[i]
        )
        if ok and name.strip():
            self._edit(lambda: self.classes.rename(i, name.strip()))

    def recolor_class(self) -> None:
        if self.classes is None:
            return
        i = self.current()
        color = QtWidgets.QColorDialog.getColor(
            QtGui.QColor(*self.classes.colors[i]), self, f"Colour of {self.classes.names[i]}"
        )
        if color.isValid():
            self._edit(lambda: self.classes.recolor(i, (color.red(), color.green(), color.blue())))
