"""QActions and menus from the command table in `commands.py`, so the menus and the keys
never disagree (the help dialog's rows come from the same table: `commands.shortcut_rows`)."""

from __future__ import annotations

from pyqtgraph.Qt import QtGui, QtWidgets

from segstudio.ui.class_keys import CLASS_KEYS
from segstudio.ui.commands import COMMANDS, TOOL_NAMES, Commands


def build_actions(window: QtWidgets.QMainWindow) -> dict[str, QtGui.QAction]:
    """Create the actions and the menus from the table; `connect_commands` gives them their
    handlers once the commands exist (the tool bar, which the commands use, is built from
    these actions)."""
    actions: dict[str, QtGui.QAction] = {}
    menus: dict[str, QtWidgets.QMenu] = {}
    for cmd in COMMANDS:
        action = QtGui.QAction(cmd.text, window)
        action.setShortcuts([QtGui.QKeySequence(k) for k in cmd.keys])
        action.setCheckable(cmd.checkable)
        action.setProperty("needs_project", cmd.needs_project)
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
        window.addAction(action)
        actions[f"class_{i + 1}"] = action
    return actions


def connect_commands(actions: dict[str, QtGui.QAction], commands: Commands) -> None:
    """Each action runs its table row's callable (checkable ones get the new state)."""
    for cmd in COMMANDS:
        action = actions[cmd.name]
        if cmd.checkable:
            action.triggered.connect(lambda checked, run=cmd.run: run(commands, checked))
        else:
            action.triggered.connect(lambda _checked=False, run=cmd.run: run(commands))
    for i in range(len(CLASS_KEYS)):
        actions[f"class_{i + 1}"].triggered.connect(
            lambda _c=False, i=i: commands.pick_class(i))


def set_project_actions_enabled(actions: dict[str, QtGui.QAction], on: bool) -> None:
    """Commands that need a project are disabled (menus greyed, keys inert) without one, so
    a key pressed on the welcome page does nothing now and nothing later."""
    for action in actions.values():
        if action.property("needs_project"):
            action.setEnabled(on)
