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
from segstudio.engine.workflow.segment import review_queue

STATE_COLORS = {
    ImageState.UNLABELED: QtGui.QColor(150, 150, 150),
    ImageState.PREDICTED: QtGui.QColor(230, 160, 40),
    ImageState.EDITED: QtGui.QColor(80, 150, 230),
    ImageState.REVIEWED: QtGui.QColor(60, 180, 90),
}
KEY_ROLE = QtCore.Qt.ItemDataRole.UserRole
SORT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
LEFT_OUT_SHOWN = 20  # folders named in the counts tooltip; the log has every one


class FilesModel(QtCore.QAbstractTableModel):
    """Columns: name, state, confidence. Reads states from the session on demand."""

    HEADERS = ("Image", "State", "Conf.")

    def __init__(self, session, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._row = {e.key: i for i, e in enumerate(session.entries)}
        self.broken: dict[str, str] = {}     # key -> why it cannot be shown

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.session.entries)

    def columnCount(self, parent=None) -> int:
        return 3

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        display = QtCore.Qt.ItemDataRole.DisplayRole
        if orientation == QtCore.Qt.Orientation.Horizontal and role == display:
            return self.HEADERS[section]
        return None

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        entry = self.session.entries[index.row()]
        col = index.column()
        if role == KEY_ROLE:
            return entry.key
        project = self.session.project
        broken = self.broken.get(entry.key)
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return entry.key
            if col == 1:
                return "unreadable" if broken else self.session.state(entry).value
            conf = project.confidence(entry)
            return "" if conf is None else f"{conf:.2f}"
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and col == 1:
            return QtGui.QColor(220, 70, 60) if broken else STATE_COLORS[
                self.session.state(entry)]
        if role == QtCore.Qt.ItemDataRole.DecorationRole and col == 0:
            if broken:
                return self._warning_icon()
            return STATE_COLORS[self.session.state(entry)]
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            if broken:
                return f"{entry.path}\n⚠ {broken}"
            conf = project.confidence(entry)
            return f"{entry.path}\n{self.session.state(entry).value}" + (
                "" if conf is None else f", mean confidence {conf:.2f}")
        return None

    @staticmethod
    def _warning_icon() -> QtGui.QIcon:
        style = QtWidgets.QApplication.style()
        return style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxWarning)

    def refresh_key(self, key: str) -> None:
        row = self._row.get(key)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, 2))

    def row_of(self, key: str) -> int | None:
        return self._row.get(key)


class QueueFilter(QtCore.QSortFilterProxyModel):
    """State and name filters and the confidence order, each a snapshot: the accepted rows
    and their places are fixed when the filter or the order is (re)applied. The order is
    the workflow's review queue (`engine.workflow.review_queue`), not a copy of its rule."""

    def __init__(self, session, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.state: ImageState | None = None
        self.text = ""
        self._accepted: set[int] | None = None
        self._rank: dict[int, int] | None = None   # row -> place in the review queue
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)   # no live reshuffle when a row's data changes

    def snapshot(self, *, state: ImageState | object | None = ..., text: str | None = None,
                 by_confidence: bool | None = None) -> None:
        """Re-take the snapshot (with new settings where given)."""
        if state is not ...:
            self.state = state
        if text is not None:
            self.text = text.strip().lower()
        entries = self.session.entries
        project = self.session.project
        accepted = set()
        for i, e in enumerate(entries):
            if self.state is not None and self.session.state(e) is not self.state:
                continue
            if self.text and self.text not in e.key.lower():
                continue
            accepted.add(i)
        if by_confidence is None:
            by_confidence = self._rank is not None
        if by_confidence:
            queue = review_queue(project, entries, worst_first=True, state_of=self.session.state)
            place = {e.key: n for n, e in enumerate(queue)}
            self._rank = {i: place[e.key] for i, e in enumerate(entries)}
        else:
            self._rank = None
        self._refilter(accepted)
        if self._rank is None:
            self.sort(-1)
        else:
            self.invalidate()
            self.sort(0, QtCore.Qt.SortOrder.AscendingOrder)

    def _refilter(self, accepted: set[int]) -> None:
        # Qt >= 6.9 wants begin/endFilterChange around a filter change.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            self._accepted = accepted
            self.endFilterChange()
        else:
            self._accepted = accepted
            self.invalidateFilter()

    @property
    def by_confidence(self) -> bool:
        return self._rank is not None

    def filterAcceptsRow(self, row: int, parent) -> bool:
        return self._accepted is None or row in self._accepted

    def lessThan(self, left, right) -> bool:
        if self._rank is None:
            return left.row() < right.row()
        end = len(self._rank)
        return self._rank.get(left.row(), end) < self._rank.get(right.row(), end)


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
