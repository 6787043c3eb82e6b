"""QActions and menus from the command table in `commands.py`, and the shortcut list of the
help dialog from the same table, so the menus, the keys and the help never disagree."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.ui.class_keys import CLASS_KEYS
from segstudio.ui.commands import COMMANDS, TOOL_NAMES, Commands


def build_actions(window: QtWidgets.QMainWindow, commands: Commands) -> dict[str, QtGui.QAction]:
    """Create the actions (each running its table row's callable) and the menus."""
    actions: dict[str, QtGui.QAction] = {}
    menus: dict[str, QtWidgets.QMenu] = {}
    for cmd in COMMANDS:
        action = QtGui.QAction(cmd.text, window)
        action.setShortcuts([QtGui.QKeySequence(k) for k in cmd.keys])
        action.setCheckable(cmd.checkable)
        action.setProperty("needs_project", cmd.needs_project)
        if cmd.checkable:
            action.triggered.connect(lambda checked, run=cmd.run: run(commands, checked))
        else:
            action.triggered.connect(lambda _checked=False, run=cmd.run: run(commands))
        window.addAction(action)  # shortcuts work even while the menu bar is hidden
        if cmd.menu:
            if cmd.menu not in menus:
                menus[cmd.menu] = window.menuBar().addMenu(f"&{cmd.menu}")
            menus[cmd.menu].addAction(action)
        actions[cmd.name] = action
    tools = QtGui.QActionGroup(window)
    for name in TOOL_NAMES:
        tools.addAction(actions[name])
    for i, (key, _shown) in enumerate(CLASS_KEYS):
        action = QtGui.QAction(f"Class {i + 1}", window)
        action.setShortcut(QtGui.QKeySequence(key))
        action.setProperty("needs_project", True)
        action.triggered.connect(lambda _c=False, i=i: commands.pick_class(i))
        window.addAction(action)
        actions[f"class_{i + 1}"] = action
    return actions


def set_project_actions_enabled(actions: dict[str, QtGui.QAction], on: bool) -> None:
    """Commands that need a project are disabled (menus greyed, keys inert) without one, so
    a key pressed on the welcome page does nothing now and nothing later."""
    for action in actions.values():
        if action.property("needs_project"):
            action.setEnabled(on)


def shortcut_rows() -> list[tuple[str, str]]:
    rows = [
        (cmd.text.replace("&", ""), ", ".join(cmd.keys)) for cmd in COMMANDS if cmd.keys
    ]
    rows.append(("Pick class 1-9", "1 … 9"))
    rows.append(("Pick class 10-18", "Shift+1 … Shift+9"))
    rows.append(("Pick the class under the cursor", "Ctrl+click (any tool)"))
    rows.append(("Zoom the view", "mouse wheel"))
    rows.append(("Pan the view", "right or middle drag (any tool), left drag (pan tool)"))
    return rows


def show_help(parent: QtWidgets.QWidget) -> None:
    dialog = QtWidgets.QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QtWidgets.QTableWidget(0, 2)
    table.setHorizontalHeaderLabels(["Command", "Keys"])
    table.verticalHeader().hide()
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    for text, keys in shortcut_rows():
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
