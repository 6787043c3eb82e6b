"""Every command of the window with its shortcuts, in one table: it builds the QActions and
menus and the shortcut list of the help dialog, so the two never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets


@dataclass(frozen=True)
class Command:
    name: str          # window method `act_<name>` runs it
    text: str
    keys: tuple[str, ...] = ()
    menu: str = ""
    checkable: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("open_folder", "&Open folder…", ("Ctrl+O",), "File"),
    Command("sample_project", "Try a &sample project", (), "File"),
    Command("save", "&Save label", ("Ctrl+S",), "File"),
    Command("import_labels", "&Import labels…", (), "File"),
    Command("export_labels", "&Export labels…", (), "File"),
    Command("quit", "&Quit", ("Ctrl+Q",), "File"),
    Command("undo", "&Undo", ("Ctrl+Z",), "Edit"),
    Command("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Edit"),
    Command("mark_reviewed", "Mark &reviewed", ("Ctrl+R",), "Edit", checkable=True),
    Command("next_image", "&Next image", ("PgDown", "N"), "Edit"),
    Command("prev_image", "&Previous image", ("PgUp", "Shift+N"), "Edit"),
    Command("tool_brush", "&Brush", ("B",), "Tools", checkable=True),
    Command("tool_eraser", "&Eraser (paints void)", ("E",), "Tools", checkable=True),
    Command("tool_fill", "&Fill", ("F",), "Tools", checkable=True),
    Command("tool_polygon", "P&olygon (click points, Enter closes)", ("P",), "Tools",
            checkable=True),
    Command("tool_pan", "P&an", ("H",), "Tools", checkable=True),
    Command("brush_smaller", "Brush smaller", ("[",), "Tools"),
    Command("brush_larger", "Brush larger", ("]",), "Tools"),
    Command("finish_polygon", "Close polygon", ("Return", "Enter"), "Tools"),
    Command("cancel_polygon", "Cancel polygon", ("Escape",), "Tools"),
    Command("toggle_overlay", "Show &overlay", ("O",), "View", checkable=True),
    Command("contour_view", "&Contours only", ("C",), "View", checkable=True),
    Command("confidence_view", "Con&fidence view (low confidence highlighted)", ("K",), "View",
            checkable=True),
    Command("zoom_fit", "Zoom to &fit", ("Ctrl+0", "0"), "View"),
    Command("zoom_1to1", "Zoom &1:1", ("Ctrl+1",), "View"),
    Command("zoom_in", "Zoom &in", ("Ctrl+=", "Ctrl++", "+"), "View"),
    Command("zoom_out", "Zoom o&ut", ("Ctrl+-", "-"), "View"),
    Command("sort_confidence", "&Sort files by confidence (worst first)", (), "View"),
    Command("segment_image", "Segment &image", ("Ctrl+G",), "Model"),
    Command("segment_all", "Segment &all unlabeled", ("Ctrl+Shift+G",), "Model"),
    Command("fine_tune", "&Fine-tune", (), "Model"),
    Command("help", "&Keyboard shortcuts", ("F1",), "Help"),
)

CLASS_KEYS = tuple(str(i) for i in range(1, 10))  # keys 1-9 pick classes 0-8


def build_actions(window: QtWidgets.QMainWindow) -> dict[str, QtGui.QAction]:
    """Create the actions (wired to `window.act_<name>`) and the menus."""
    actions: dict[str, QtGui.QAction] = {}
    menus: dict[str, QtWidgets.QMenu] = {}
    for cmd in COMMANDS:
        action = QtGui.QAction(cmd.text, window)
        action.setShortcuts([QtGui.QKeySequence(k) for k in cmd.keys])
        action.setCheckable(cmd.checkable)
        handler = getattr(window, f"act_{cmd.name}")
        if cmd.checkable:
            action.triggered.connect(handler)
        else:
            action.triggered.connect(lambda _checked=False, h=handler: h())
        window.addAction(action)  # shortcuts work even while the menu bar is hidden
        if cmd.menu:
            if cmd.menu not in menus:
                menus[cmd.menu] = window.menuBar().addMenu(f"&{cmd.menu}")
            menus[cmd.menu].addAction(action)
        actions[cmd.name] = action
    tools = QtGui.QActionGroup(window)
    for name in ("tool_brush", "tool_eraser", "tool_fill", "tool_polygon", "tool_pan"):
        tools.addAction(actions[name])
    for i, key in enumerate(CLASS_KEYS):
        action = QtGui.QAction(f"Class {key}", window)
        action.setShortcut(QtGui.QKeySequence(key))
        action.triggered.connect(lambda _c=False, i=i: window.act_pick_class(i))
        window.addAction(action)
        actions[f"class_{key}"] = action
    return actions


def shortcut_rows() -> list[tuple[str, str]]:
    rows = [
        (cmd.text.replace("&", ""), ", ".join(cmd.keys)) for cmd in COMMANDS if cmd.keys
    ]
    rows.append(("Pick class 1-9", "1 … 9"))
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
    dialog.resize(520, 600)
    dialog.exec()
