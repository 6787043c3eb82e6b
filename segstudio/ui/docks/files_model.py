"""The Files list's model and its review-queue proxy: the project's images with state and
mean confidence, and the order the queue keeps (snapshots of engine.workflow.review_queue,
never a live reshuffle)."""

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
