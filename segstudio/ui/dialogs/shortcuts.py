"""The keyboard shortcuts dialog (F1). It takes its rows from the caller (`commands`
builds them from the command table) so it imports nothing of the window's."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtWidgets


def show_shortcuts(parent: QtWidgets.QWidget, rows: list[tuple[str, str]]) -> None:
    """The Help > Keyboard shortcuts dialog: one row (command, keys) each."""
    dialog = QtWidgets.QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QtWidgets.QTableWidget(0, 2)
    table.setHorizontalHeaderLabels(["Command", "Keys"])
    table.verticalHeader().hide()
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    for text, keys in rows:
        r = table.rowCount()
        table.insertRow(r)
        table.setItem(r, 0, QtWidgets.QTableWidgetItem(text))
        table.setItem(r, 1, QtWidgets.QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    layout = QtWidgets.QVBoxLayout(dialog)
    layout.addWidget(table)
    close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
    close.rejected.connect(dialog.reject)
    layout.addWidget(close)
    dialog.resize(560, 640)
    dialog.exec()
