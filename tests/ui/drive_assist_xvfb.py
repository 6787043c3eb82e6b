"""Drive the assisted tools in a real window and measure GUI stalls (not a pytest module).

    Xvfb :97 -screen 0 1280x1000x24 &
    DISPLAY=:97 QT_QPA_PLATFORM=xcb SEGSTUDIO_SETTINGS=/tmp/x.ini \\
        python tests/ui/drive_assist_xvfb.py FOLDER     # a CamVid-like folder, 480x360 images

xdotool drives the window from a thread (box around a car, a click on it, four scissors
anchors with hovering, Enter, a region-brush stroke, F1) while a 5-ms timer on the GUI
thread records its longest gap per phase, and the tool handlers are timed. Screenshots go
to /tmp/x_*.png; `import` grabs the X server, so its pauses count in their own phase.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.ui import main_window
from segstudio.ui.app import configure_runtime, create_window
from segstudio.ui.tools import ToolController

phase = ["start"]
gaps: dict[str, float] = {}
calls: list[tuple[float, str, str]] = []


def _timed(cls: type, name: str) -> None:
    f = getattr(cls, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        out = f(*args, **kwargs)
        calls.append((round((time.perf_counter() - t0) * 1e3, 1), name, phase[0]))
        return out

    setattr(cls, name, wrapper)


def _xdo(*args: object) -> None:
    subprocess.run(["xdotool", *map(str, args)], check=True)


def main(folder: Path) -> None:
    for name in ("click", "drag_start", "drag_move", "drag_finish", "hover", "finish_polygon"):
        _timed(ToolController, name)
    for name in ("update_title", "_document_changed"):
        _timed(main_window.MainWindow, name)
    app = QtWidgets.QApplication(sys.argv)
    configure_runtime()
    w = create_window(folder)
    w.resize(1280, 960)
    w.move(0, 0)
    w.show()
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps[phase[0]] = max(gaps.get(phase[0], 0.0), now - last[0])
        last[0] = now

    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()

    def screen(x: float, y: float) -> tuple[int, int]:
        c = w.canvas
        p = c.view.mapFromScene(c.viewbox.mapViewToScene(QtCore.QPointF(x, y)))
        g = c.view.viewport().mapToGlobal(p)
        return g.x(), g.y()

    def shot(name: str) -> None:
        time.sleep(0.4)
        was, phase[0] = phase[0], "screenshot"
        subprocess.run(["import", "-window", "root", f"/tmp/{name}.png"], check=True)
        time.sleep(0.1)
        last[0] = time.perf_counter()
        phase[0] = was

    def drag(a: tuple[int, int], b: tuple[int, int], n: int = 12) -> None:
        _xdo("mousemove", *a)
        _xdo("mousedown", 1)
        for t in range(1, n + 1):
            _xdo("mousemove", a[0] + (b[0] - a[0]) * t // n, a[1] + (b[1] - a[1]) * t // n)
            time.sleep(0.02)
        _xdo("mouseup", 1)

    def drive(p: dict) -> None:
        time.sleep(3.0)
        phase[0] = "idle"
        time.sleep(1.0)
        phase[0] = "box"
        _xdo("key", "9")                # Car
        _xdo("key", "g")
        time.sleep(0.3)
        drag(p["box0"], p["box1"])
        time.sleep(0.6)
        shot("x_box")
        _xdo("mousemove", *p["fix"])
        _xdo("click", 1)
        time.sleep(0.6)
        shot("x_box_click")
        phase[0] = "scissors"
        _xdo("key", "2")                # Building
        _xdo("key", "x")
        time.sleep(0.3)
        for a in p["anchors"]:
            _xdo("mousemove", *a)
            time.sleep(0.05)
            _xdo("click", 1)
            time.sleep(0.1)
            for k in range(6):
                _xdo("mousemove", a[0] + 6 * k, a[1] + 4 * k)
                time.sleep(0.03)
        shot("x_scissors_preview")
        _xdo("key", "Return")
        time.sleep(0.5)
        shot("x_scissors")
        phase[0] = "regions"
        _xdo("key", "4")                # Road
        _xdo("key", "m")
        time.sleep(0.3)
        drag(p["road0"], p["road1"], 20)
        time.sleep(0.5)
        shot("x_regions")
        phase[0] = "help"
        _xdo("key", "F1")
        time.sleep(1.2)
        shot("x_help")
        _xdo("key", "Escape")
        time.sleep(0.5)
        phase[0] = "done"
        QtCore.QMetaObject.invokeMethod(app, "quit", QtCore.Qt.ConnectionType.QueuedConnection)

    def start() -> None:
        w.activateWindow()
        points = {"box0": screen(332, 168), "box1": screen(436, 256), "fix": screen(380, 250),
                  "anchors": [screen(*a) for a in ((250, 40), (330, 40), (330, 150),
                                                    (250, 150))],
                  "road0": screen(200, 320), "road1": screen(420, 320)}
        threading.Thread(target=drive, args=(points,), daemon=True).start()

    QtCore.QTimer.singleShot(2500, start)
    app.exec()
    doc = w.current_document()
    values, counts = np.unique(doc.mask, return_counts=True)
    print(json.dumps({
        "max_gap_ms": {k: round(v * 1e3, 1) for k, v in gaps.items()},
        "slowest_handlers_ms": sorted(calls)[-6:],
        "mask": dict(zip(values.tolist(), counts.tolist(), strict=True)),
        "can_undo": doc.can_undo}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
