"""Run in a subprocess by test_layout.py: open a project in the window on an emulated screen
(QT_QPA_PLATFORM=offscreen:configfile=...) at the QT_SCALE_FACTOR it was started with, and
print what the user would see as JSON: the window against the screen, each panel against
what its contents need."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    from pyqtgraph.Qt import QtWidgets

    from segstudio.ui.main_window import MainWindow

    folder, shot = Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else ""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow()
    window.show()
    window.open_folder(folder)
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
    out = {
        "screen": [screen.width(), screen.height()],
        "window": [frame.x(), frame.y(), frame.width(), frame.height()],
        "fits": screen.contains(frame),
        "usable": window.state.docks_usable(),
        "arranged": window.state.arranged,
        "canvas": [window.canvas.width(), window.canvas.height()],
        "name_column": header.sectionSize(0),
        "docks": docks,
    }
    if shot:
        window.grab().save(shot)
    window.state.save()
    print("PROBE " + json.dumps(out))
    window.close()


if __name__ == "__main__":
    main()
