"""Run in a subprocess by test_layout.py: open a project in the window on an emulated screen
(QT_QPA_PLATFORM=offscreen:configfile=...) at the QT_SCALE_FACTOR it was started with, and
print what the user would see as JSON: the window against the screen, each panel against
what its contents need."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> None:
    from pyqtgraph.Qt import QtCore, QtWidgets

    from segstudio.ui.main_window import MainWindow

    folder, shot = Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else ""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow()
    window.show()
    window.open_folder(folder)
    for _ in range(20):
        app.processEvents()
    if os.environ.get("PROBE_SHORT_CLASSES"):
        # The user's own layout, saved: the three panels stacked, Classes squeezed.
        window.state._place(0)
        for _ in range(5):
            app.processEvents()
        window.resizeDocks([window.palette], [int(os.environ["PROBE_SHORT_CLASSES"])],
                           QtCore.Qt.Orientation.Vertical)
        for _ in range(5):
            app.processEvents()
    if os.environ.get("PROBE_NOTE"):
        # A run's long note under the model list (issue 19: each one took Classes rows).
        window.model_dock.note.setText(os.environ["PROBE_NOTE"])
        for _ in range(20):
            app.processEvents()
    screen = window.screen().availableGeometry()
    frame = window.frameGeometry()
    docks = {}
    for dock in (window.files, window.palette, window.model_dock, window.finetune):
        hint = dock.minimumSizeHint()
        docks[dock.objectName()] = {
            "visible": dock.isVisible(), "tabbed": bool(window.tabifiedDockWidgets(dock)),
            "w": dock.width(), "h": dock.height(), "min_w": hint.width(), "min_h": hint.height()}
    header = window.files.view.horizontalHeader()
    classes = window.palette.list
    viewport = classes.viewport().rect()
    rows_shown = sum(viewport.contains(classes.visualItemRect(classes.item(i)))
                     for i in range(classes.count()))
    out = {
        "screen": [screen.width(), screen.height()],
        "window": [frame.x(), frame.y(), frame.width(), frame.height()],
        "fits": screen.contains(frame),
        "usable": window.state.docks_usable(),
        "arranged": window.state.arranged,
        "canvas": [window.canvas.width(), window.canvas.height()],
        "name_column": header.sectionSize(0),
        "classes": [rows_shown, classes.count()],     # rows wholly in view, of all
        "docks": docks,
    }
    if shot:
        window.grab().save(shot)
    window.state.save()
    print("PROBE " + json.dumps(out))
    window.close()


if __name__ == "__main__":
    main()
