"""Files dock: the project's images with state and mean confidence, a state filter, counts,
and sorting by confidence so the user corrects the worst predictions first."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.core.project import ImageState

STATE_COLORS = {
    ImageState.UNLABELED: QtGui.QColor(150, 150, 150),
    ImageState.PREDICTED: QtGui.QColor(230, 160, 40),
    ImageState.EDITED: QtGui.QColor(80, 150, 230),
    ImageState.REVIEWED: QtGui.QColor(60, 180, 90),
}
KEY_ROLE = QtCore.Qt.ItemDataRole.UserRole
SORT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1


class FilesModel(QtCore.QAbstractTableModel):
    """Columns: name, state, confidence. Reads states from the session on demand."""

    HEADERS = ("Image", "State", "Conf.")

    def __init__(self, session, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._row = {e.key: i for i, e in enumerate(session.entries)}

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
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return entry.key
            if col == 1:
                return project.state(entry).value
            conf = project.confidence(entry)
            return "" if conf is None else f"{conf:.2f}"
        if role == SORT_ROLE:
            if col == 2:
                conf = project.confidence(entry)
                # Images without a confidence sort after every predicted one.
                return 2.0 if conf is None else conf
            return self.data(index)
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and col == 1:
            return STATE_COLORS[project.state(entry)]
        if role == QtCore.Qt.ItemDataRole.DecorationRole and col == 0:
            return STATE_COLORS[project.state(entry)]
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            return str(entry.path)
        return None

    def refresh_key(self, key: str) -> None:
        row = self._row.get(key)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, 2))


class StateFilter(QtCore.QSortFilterProxyModel):
    def __init__(self, session, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.state: ImageState | None = None
        self.setSortRole(SORT_ROLE)

    def set_state(self, state: ImageState | None) -> None:
        self.refilter(lambda: setattr(self, "state", state))

    def refilter(self, change=None) -> None:
        """Re-run the filter (after `change()` when given); Qt >= 6.9 wants begin/end."""
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            if change is not None:
                change()
            self.endFilterChange()
        else:
            if change is not None:
                change()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent) -> bool:
        if self.state is None:
            return True
        entry = self.session.entries[row]
        return self.session.project.state(entry) is self.state


class FilesDock(QtWidgets.QDockWidget):
    """`activated(key)` when the user picks an image."""

    activated = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Files", parent)
        self.setObjectName("FilesDock")
        self.model: FilesModel | None = None
        self.proxy: StateFilter | None = None
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        row = QtWidgets.QHBoxLayout()
        self.filter = QtWidgets.QComboBox()
        self.filter.addItem("All images", None)
        for state in ImageState:
            self.filter.addItem(state.value.capitalize(), state)
        self.filter.currentIndexChanged.connect(self._filter_changed)
        self.sort_button = QtWidgets.QPushButton("Worst first")
        self.sort_button.setToolTip("Sort by mean prediction confidence, least confident first")
        self.sort_button.clicked.connect(self.sort_by_confidence)
        row.addWidget(self.filter, 1)
        row.addWidget(self.sort_button)
        layout.addLayout(row)
        self.view = QtWidgets.QTableView()
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setSortingEnabled(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        layout.addWidget(self.view, 1)
        self.counts = QtWidgets.QLabel()
        self.counts.setWordWrap(True)  # else its one long line sets the dock's minimum width
        layout.addWidget(self.counts)
        self.setWidget(body)

    def set_session(self, session) -> None:
        self.model = FilesModel(session, self)
        self.proxy = StateFilter(session, self)
        self.proxy.setSourceModel(self.model)
        self.view.setModel(self.proxy)
        self.view.sortByColumn(-1, QtCore.Qt.SortOrder.AscendingOrder)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.view.selectionModel().currentRowChanged.connect(self._row_changed)
        self.update_counts()

    def _filter_changed(self) -> None:
        if self.proxy is not None:
            # Qt hands back the str value of the str-enum, so rebuild the enum.
            data = self.filter.currentData()
            self.proxy.set_state(ImageState(data) if data else None)
            self.update_counts()

    def sort_by_confidence(self) -> None:
        self.view.sortByColumn(2, QtCore.Qt.SortOrder.AscendingOrder)

    def refresh_key(self, key: str) -> None:
        if self.model is not None:
            self.model.refresh_key(key)
            if self.proxy is not None and self.proxy.state is not None:
                self.proxy.refilter()
            self.update_counts()

    def update_counts(self) -> None:
        if self.model is None:
            self.counts.setText("")
            return
        counts = self.model.session.project.counts()
        total = sum(counts.values())
        parts = [f"{counts.get(s, 0)} {s.value}" for s in ImageState]
        self.counts.setText(f"{total} images: " + ", ".join(parts))

    # -- navigation ----------------------------------------------------------------------
    def ordered_keys(self) -> list[str]:
        """Keys in the order shown (after filter and sort)."""
        if self.proxy is None:
            return []
        return [self.proxy.index(r, 0).data(KEY_ROLE) for r in range(self.proxy.rowCount())]

    def select_key(self, key: str) -> None:
        if self.proxy is None or self.model is None:
            return
        row = self.model._row.get(key)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid() and self.view.currentIndex().row() != index.row():
            self.view.blockSignals(True)
            self.view.selectionModel().blockSignals(True)
            self.view.setCurrentIndex(index)
            self.view.selectionModel().blockSignals(False)
            self.view.blockSignals(False)
            self.view.scrollTo(index)

    def _row_changed(self, current: QtCore.QModelIndex, _previous) -> None:
        if current.isValid():
            self.activated.emit(current.data(KEY_ROLE))
