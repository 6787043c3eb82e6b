"""Classes dock: colour swatches, pick with keys 1-9 and Shift+1-9, show / hide / solo a class
in the overlay (the check boxes; display only), add / rename / recolour classes, delete or
merge them (the "⋯" button and the right-click menu; the window's ClassRemapper asks and
rewrites the labels), and the "paint only over one class" protection."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.core.classes import ClassSet
from segstudio.core.errors import SegstudioError
from segstudio.ui.class_keys import key_text
from segstudio.ui.docks.elided import ElidedNote


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
    `protect_changed(index or -1)`; `error(message)` for a refused edit;
    `add_requested(name)` when the user named a new class (the window's ClassAdder adds it);
    `visibility_changed(hidden)` with the classes hidden in the overlay;
    `delete_requested(index)`, `merge_requested(source, target)` (the window asks first)."""

    class_selected = QtCore.Signal(int)
    classes_edited = QtCore.Signal()
    protect_changed = QtCore.Signal(int)
    error = QtCore.Signal(str)
    add_requested = QtCore.Signal(str)
    visibility_changed = QtCore.Signal(object)
    delete_requested = QtCore.Signal(int)
    merge_requested = QtCore.Signal(int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("PaletteDock")
        self.classes: ClassSet | None = None
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        self.list = QtWidgets.QListWidget()
        self.list.setMinimumHeight(90)
        self.list.setToolTip("Click to paint with a class (keys 1-9, Shift+1-9); its box shows "
                             "or hides it in the overlay; right click: solo, show all")
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemChanged.connect(self._item_changed)
        self.list.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self._hidden: set[int] = set()
        layout.addWidget(self.list, 1)
        # Whose classes these are (core.class_origin.origin_note): one line, the rest on
        # hover, shown only for classes that are not the project's own yet.
        self.origin = ElidedNote(1)
        self.origin.setVisible(False)
        layout.addWidget(self.origin)
        buttons = QtWidgets.QHBoxLayout()
        for text, slot in (("Add…", self.add_class), ("Rename…", self.rename_class),
                           ("Colour…", self.recolor_class)):
            # Tool buttons are as wide as their text (push buttons take 75 px at least),
            # so the panel stays narrow enough for a 1280-px screen at scale 2.
            b = QtWidgets.QToolButton()
            b.setText(text)
            b.setMinimumHeight(QtWidgets.QPushButton(text).sizeHint().height())
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                            QtWidgets.QSizePolicy.Policy.Fixed)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        # Delete and merge rewrite label files: one step further away than the everyday edits.
        self.more_button = QtWidgets.QToolButton()
        self.more_button.setText("⋯")
        self.more_button.setToolTip("Delete the selected class, or merge it into another")
        self.more_button.setMinimumHeight(QtWidgets.QPushButton("⋯").sizeHint().height())
        self.more_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more_menu = QtWidgets.QMenu(self.more_button)
        self.more_menu.aboutToShow.connect(
            lambda: self._fill_edit_menu(self.more_menu, self.current()))
        self.more_button.setMenu(self.more_menu)
        buttons.addWidget(self.more_button)
        layout.addLayout(buttons)
        protect = QtWidgets.QHBoxLayout()
        self.protect_box = QtWidgets.QCheckBox("Paint only over")
        self.protect_box.setToolTip("Protect other classes: brush, fill and polygon change only "
                                    "pixels of the chosen class")
        self.protect_class = QtWidgets.QComboBox()
        self.protect_class.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.protect_class.setMinimumContentsLength(6)
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
        self._hidden = set()        # a new class set starts with every class shown
        self.protect_box.blockSignals(True)
        self.protect_box.setChecked(False)
        self.protect_box.blockSignals(False)
        self.protect_class.setCurrentIndex(0)
        self._rebuild()
        self.protect_changed.emit(-1)
        self.visibility_changed.emit(frozenset())

    def set_origin(self, line: str, whole: str = "") -> None:
        """Say whose classes these are ("" for the project's own: nothing shown)."""
        self.origin.setText(line)
        self.origin.setToolTip(whole or line)
        self.origin.setVisible(bool(line))

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
        check = QtCore.Qt.CheckState
        for i, (name, color) in enumerate(pairs):
            item = QtWidgets.QListWidgetItem(swatch(color), f"{key_text(i):<3} {name}")
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(check.Unchecked if i in self._hidden else check.Checked)
            self.list.addItem(item)
            self.protect_class.addItem(swatch(color), name)
        self.protect_class.addItem(swatch(self.classes.ignore_color), self.classes.ignore_name)
        self.list.setCurrentRow(min(max(row, 0), self.classes.num_classes - 1))
        self.protect_class.setCurrentIndex(max(protect_row, 0))
        self.protect_class.blockSignals(False)
        self.list.blockSignals(False)
        self.class_selected.emit(self.current())

    # -- shown in the overlay (display only) -------------------------------------------
    def hidden(self) -> frozenset[int]:
        return frozenset(self._hidden)

    def set_hidden(self, hidden) -> None:
        if self.classes is None:
            return
        self._hidden = {int(i) for i in hidden if 0 <= int(i) < self.classes.num_classes}
        check = QtCore.Qt.CheckState
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            self.list.item(i).setCheckState(check.Unchecked if i in self._hidden
                                            else check.Checked)
        self.list.blockSignals(False)
        self.visibility_changed.emit(self.hidden())

    def toggle_hidden(self, index: int | None = None) -> None:
        """Hide the class (the current one by default) in the overlay, or show it again."""
        i = self.current() if index is None else index
        self.set_hidden(self._hidden ^ {i})

    def solo(self, index: int | None = None) -> None:
        """Show only this class (the current one by default); again: show every class."""
        if self.classes is None:
            return
        i = self.current() if index is None else index
        others = set(range(self.classes.num_classes)) - {i}
        self.set_hidden(set() if self._hidden == others else others)

    def _item_changed(self, item: QtWidgets.QListWidgetItem) -> None:
        i = self.list.row(item)
        shown = item.checkState() == QtCore.Qt.CheckState.Checked
        if shown == (i not in self._hidden):
            return
        self.set_hidden(self._hidden - {i} if shown else self._hidden | {i})

    def _context_menu(self, pos: QtCore.QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None or self.classes is None:
            return
        i = self.list.row(item)
        name = self.classes.names[i]
        menu = QtWidgets.QMenu(self)
        menu.addAction(f"Show {name}" if i in self._hidden else f"Hide {name}",
                       lambda: self.toggle_hidden(i))
        menu.addAction(f"Show only {name}", lambda: self.solo(i))
        show_all = menu.addAction("Show every class", lambda: self.set_hidden(set()))
        show_all.setEnabled(bool(self._hidden))
        menu.addSeparator()
        self._fill_edit_menu(menu, i, clear=False)
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def _fill_edit_menu(self, menu: QtWidgets.QMenu, i: int, *, clear: bool = True) -> None:
        """Delete class i, or merge it into one of the others."""
        if clear:
            menu.clear()
        if self.classes is None or not 0 <= i < self.classes.num_classes:
            return
        name = self.classes.names[i]
        only = self.classes.num_classes < 2
        delete = menu.addAction(f"Delete “{name}”…", lambda: self.delete_requested.emit(i))
        delete.setEnabled(not only)
        merge = menu.addMenu(f"Merge “{name}” into")
        merge.setEnabled(not only)
        for j, other in enumerate(self.classes.names):
            if j != i:
                merge.addAction(swatch(self.classes.colors[j]), other,
                                lambda j=j: self.merge_requested.emit(i, j))

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
        """Ask for a name; the window's ClassAdder adds it (after asking, where void is in
        the way) and calls `class_added`."""
        if self.classes is None:
            return
        name, ok = QtWidgets.QInputDialog.getText(self, "Add class", "Name of the new class:")
        if ok and name.strip():
            self.add_requested.emit(name.strip())

    def class_added(self, index: int) -> None:
        """The ClassSet gained class `index`: list it and select it."""
        self._rebuild()
        self.classes_edited.emit()
        self.select(index)

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
