"""Files dock: the project's images with state and mean confidence, a state filter, a name
filter, counts, and "Worst first" to correct the least confident predictions first.

The list is a review queue, so its order stays put while the user works through it: the
confidence order and the state filter are snapshots taken when the user asks for them (or
presses Refresh), never a live reshuffle. A row whose state changes stays where it is, so
"next" after marking an image reviewed goes to the row below it. Images that cannot be read
carry a warning icon with the reason on hover."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.core.project import ImageState
from segstudio.ui.docks.files_model import KEY_ROLE, STATE_COLORS, FilesModel, QueueFilter

LEFT_OUT_SHOWN = 20  # folders named in the counts tooltip; the log has every one


class FilesDock(QtWidgets.QDockWidget):
    """`activated(key)` when the user picks an image."""

    activated = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Files", parent)
        self.setObjectName("FilesDock")
        self.model: FilesModel | None = None
        self.proxy: QueueFilter | None = None
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        row = QtWidgets.QHBoxLayout()
        self.filter = QtWidgets.QComboBox()
        self.filter.addItem("All images", None)
        for state in ImageState:
            # The colour of the squares in the list: the combo is also their legend.
            self.filter.addItem(_square(STATE_COLORS[state]), state.value.capitalize(), state)
        self.filter.currentIndexChanged.connect(self._filter_changed)
        self.filter.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.filter.setMinimumContentsLength(8)
        self.sort_button = _button("Worst first")
        self.sort_button.setCheckable(True)
        self.sort_button.setToolTip("Order by mean prediction confidence, least confident "
                                    "first (a snapshot: Refresh re-sorts)")
        self.sort_button.toggled.connect(self._sort_toggled)
        self.refresh_button = QtWidgets.QToolButton()
        self.refresh_button.setText("↻")
        self.refresh_button.setToolTip("Refresh the order and the filter with the current "
                                       "states and confidences")
        self.refresh_button.clicked.connect(self.refresh_queue)
        row.addWidget(self.filter, 1)
        row.addWidget(self.sort_button)
        layout.addLayout(row)
        self.name_filter = QtWidgets.QLineEdit()
        self.name_filter.setPlaceholderText("Filter by name…")
        self.name_filter.setClearButtonEnabled(True)
        self.name_filter.textChanged.connect(self._name_changed)
        # Two short rows rather than one long one: the panel stays narrow at scale 2.
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.name_filter, 1)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)
        self.view = QtWidgets.QTableView()
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setSortingEnabled(False)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        # Names share their start in most datasets ("0001TP_006690.jpg"): keep both ends.
        self.view.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)
        self.view.setMinimumWidth(160)
        layout.addWidget(self.view, 1)
        self.counts = QtWidgets.QLabel()
        self.counts.setWordWrap(True)  # else its one long line sets the dock's minimum width
        layout.addWidget(self.counts)
        self.setWidget(body)
        self.view.installEventFilter(self)

    # When the names would get less than this, the State column goes (the coloured square
    # and the tooltip still say it): names stay readable in a narrow panel (scale 1.5 or 2).
    NAME_MIN_TEXT = "0001TP_006690.jpg"

    def eventFilter(self, obj, event) -> bool:
        if obj is self.view and event.type() == QtCore.QEvent.Type.Resize:
            self._fit_columns()
        return False

    def _fit_columns(self) -> None:
        fm = self.view.fontMetrics()
        need = fm.horizontalAdvance(self.NAME_MIN_TEXT) + fm.height() + 16   # text + icon
        others = (fm.horizontalAdvance("unlabeled") + fm.horizontalAdvance("0.00")
                  + self.view.verticalScrollBar().sizeHint().width() + 32)
        self.view.setColumnHidden(1, self.view.width() - others < need)

    def set_session(self, session) -> None:
        self.model = FilesModel(session, self)
        self.proxy = QueueFilter(session, self)
        self.proxy.setSourceModel(self.model)
        self.view.setModel(self.proxy)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(36)
        self._fit_columns()
        self.view.selectionModel().currentRowChanged.connect(self._row_changed)
        # A new project starts unfiltered and in its own order.
        for w in (self.filter, self.sort_button, self.name_filter):
            w.blockSignals(True)
        self.filter.setCurrentIndex(0)
        self.sort_button.setChecked(False)
        self.name_filter.clear()
        for w in (self.filter, self.sort_button, self.name_filter):
            w.blockSignals(False)
        self.proxy.snapshot(state=None, text="", by_confidence=False)
        self.update_counts()

    def _filter_changed(self) -> None:
        if self.proxy is not None:
            # Qt hands back the str value of the str-enum, so rebuild the enum.
            data = self.filter.currentData()
            self.proxy.snapshot(state=ImageState(data) if data else None)
            self.update_counts()

    def _name_changed(self, text: str) -> None:
        if self.proxy is not None:
            self.proxy.snapshot(text=text)
            self.update_counts()

    def _sort_toggled(self, on: bool) -> None:
        if self.proxy is not None:
            self.proxy.snapshot(by_confidence=on)
            self._reselect()

    def sort_by_confidence(self, on: bool | None = None) -> None:
        """Toggle (or set) the worst-first order."""
        self.sort_button.setChecked(not self.sort_button.isChecked() if on is None else on)

    def refresh_queue(self) -> None:
        if self.model is not None and self.model.session.sync():
            self.refresh_all()   # another window or the CLI saved records meanwhile
        if self.proxy is not None:
            self.proxy.snapshot()
            self._reselect()
            self.update_counts()

    def refresh_key(self, key: str) -> None:
        if self.model is not None:
            self.model.refresh_key(key)
            self.update_counts()

    def refresh_all(self) -> None:
        """Every row's state and confidence again (another writer saved records)."""
        if self.model is not None:
            rows = self.model.rowCount()
            if rows:
                self.model.dataChanged.emit(self.model.index(0, 0),
                                            self.model.index(rows - 1, 2))
            self.update_counts()

    def mark_broken(self, key: str, reason: str | None) -> None:
        self.mark_broken_many({key: reason})

    def mark_broken_many(self, found: dict[str, str | None]) -> None:
        """Mark (a reason) or clear (None) many rows, counting once."""
        if self.model is None:
            return
        for key, reason in found.items():
            if reason:
                self.model.broken[key] = reason
            else:
                self.model.broken.pop(key, None)
            self.model.refresh_key(key)
        self.update_counts()

    def update_counts(self) -> None:
        if self.model is None:
            self.counts.setText("")
            return
        session = self.model.session
        counts = dict.fromkeys(ImageState, 0)
        for e in session.entries:
            counts[session.state(e)] += 1
        total = sum(counts.values())
        parts = [f"{counts.get(s, 0)} {s.value}" for s in ImageState]
        text = f"{total} images: " + ", ".join(parts)
        if self.model.broken:
            text += f"; {len(self.model.broken)} unreadable (⚠ in the list)"
        # Folders the listing left out (a link leading out of the project, an unreadable
        # folder) stay said here, not only in a status message the next one replaces.
        left_out = session.project.listing_warnings
        if left_out:
            text += f"; {len(left_out)} folder(s) left out (hover for which)"
        if self.proxy is not None and self.proxy.rowCount() != total:
            text += f" · {self.proxy.rowCount()} shown"
        self.counts.setText(text)
        shown = left_out[:LEFT_OUT_SHOWN]
        more = len(left_out) - len(shown)
        self.counts.setToolTip("\n".join(shown + ([f"... and {more} more"] if more else [])))

    # -- navigation ----------------------------------------------------------------------
    def ordered_keys(self) -> list[str]:
        """Keys in the order shown (after filter and sort)."""
        if self.proxy is None:
            return []
        return [self.proxy.index(r, 0).data(KEY_ROLE) for r in range(self.proxy.rowCount())]

    def select_key(self, key: str) -> None:
        """Make `key` the one selected row (without emitting `activated`)."""
        if self.proxy is None or self.model is None:
            return
        row = self.model.row_of(key)
        if row is None:
            return
        self._selected = key
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        sel = self.view.selectionModel()
        sel.blockSignals(True)
        try:
            flags = (QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
                     | QtCore.QItemSelectionModel.SelectionFlag.Rows)
            if index.isValid():
                sel.setCurrentIndex(index, flags)
            else:
                sel.clearSelection()
        finally:
            sel.blockSignals(False)
        # Signals were blocked: repaint what the selection model changed.
        self.view.viewport().update()
        if index.isValid():
            self.view.scrollTo(index)

    def _reselect(self) -> None:
        key = getattr(self, "_selected", None)
        if key is not None:
            self.select_key(key)

    def _row_changed(self, current: QtCore.QModelIndex, _previous) -> None:
        if current.isValid():
            self._selected = current.data(KEY_ROLE)
            self.activated.emit(current.data(KEY_ROLE))


def _square(color: QtGui.QColor) -> QtGui.QIcon:
    pix = QtGui.QPixmap(12, 12)
    pix.fill(color)
    return QtGui.QIcon(pix)


def _button(text: str) -> QtWidgets.QToolButton:
    """A button as wide as its text (a QPushButton is at least 75 px: too wide at scale 2)."""
    b = QtWidgets.QToolButton()
    b.setText(text)
    b.setMinimumHeight(QtWidgets.QPushButton(text).sizeHint().height())   # as tall as one
    b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred,
                    QtWidgets.QSizePolicy.Policy.Fixed)
    return b
