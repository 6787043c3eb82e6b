"""`segstudio bench ui --sam`: the GUI event loop while the SAM tool encodes the open image
and then follows a moving cursor, in the real window (offscreen).

The window's SAM tool gets SAM ViT-B: the weights manager's file where present, else ViT-B's
shape with random weights (the same compute: what is measured is the window, not the
masks). A 10 ms timer records how late each tick fires while the image is encoded, then
while the cursor moves over it for `--sam-hover-seconds` (a hover every 30 ms, as a mouse
gives), against 3 s of the same timer with nothing running before the tool is chosen.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sam", action="store_true",
                        help="also watch the event loop while the SAM tool encodes and its "
                        "preview follows the cursor (SAM ViT-B; random weights if absent)")
    parser.add_argument("--sam-hover-seconds", type=float, default=10.0,
                        help="seconds of cursor movement after the encoding (default 10)")
    parser.add_argument("--sam-size", default="360x480",
                        help="the image's H x W (default 360x480, CamVid's)")


def _app():
    # As bench ui's: offscreen without a display (not imported from it: ui imports this).
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pyqtgraph.Qt import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


def _lateness(values: list[float]) -> dict:
    ordered = sorted(values) or [0.0]
    return {"ticks": len(values), "max_stall_ms": round(ordered[-1] * 1e3, 1),
            "p99_stall_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1e3, 1),
            "over_100ms": sum(v > 0.1 for v in values)}


def bench_sam(args: argparse.Namespace) -> dict:
    from pyqtgraph.Qt import QtCore

    from segstudio.assist.sam_session import DEFAULT_SPEC, SamSession, load_model
    from segstudio.bench.assist_sam import random_vit_b
    from segstudio.core.sample import make_sample_project
    from segstudio.engine.weights import status
    from segstudio.ui.app import configure_runtime
    from segstudio.ui.main_window import MainWindow

    app = _app()
    configure_runtime()
    h, w = (int(v) for v in args.sam_size.lower().split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-bench-ui-sam-"))
    os.environ.setdefault("SEGSTUDIO_SETTINGS", str(tmp / "settings.ini"))
    model = getattr(args, "sam_model", None)       # tests: a tiny SAM
    what = "given"
    if model is None and status(DEFAULT_SPEC.weights).present:
        model, what = load_model(DEFAULT_SPEC), DEFAULT_SPEC.weights
    elif model is None:
        model, what = random_vit_b(), "ViT-B's shape, random weights"
    root = make_sample_project(tmp / "sample", count=3, reviewed=1, size=(h, w))
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    window.open_folder(root)
    end = time.monotonic() + 30
    while window.current_document() is None and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    tool = window.tools.sam
    tool.session = SamSession(model=model)         # as activate() makes it, model given
    phase = {"name": "idle", "ready_at": None, "n": 0, "activate_ms": 0.0, "t0": 0.0}
    late: dict[str, list[float]] = {"idle": [], "encoding": [], "hover": []}
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        late[phase["name"]].append(max(0.0, now - last[0] - 0.010))
        last[0] = now

    def activate() -> None:
        # As the person pressing A: the key's handler runs on the GUI thread (timed), the
        # encoding starts on the session's thread.
        phase["name"], phase["t0"] = "encoding", time.perf_counter()
        window.command_actions["tool_sam"].trigger()
        phase["activate_ms"] = (time.perf_counter() - phase["t0"]) * 1e3

    def hover() -> None:
        if phase["name"] == "idle" or not tool.ready:
            return
        if phase["ready_at"] is None:
            phase["ready_at"], phase["name"] = time.perf_counter(), "hover"
        phase["n"] += 1
        t = phase["n"] / 100
        window.tools.hover((w * (0.2 + 0.6 * abs((t % 2) - 1)), h * 0.5))
        if time.perf_counter() - phase["ready_at"] > args.sam_hover_seconds:
            loop.quit()

    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    mouse = QtCore.QTimer()
    mouse.setInterval(30)
    mouse.timeout.connect(hover)
    loop = QtCore.QEventLoop()
    timer.start()
    mouse.start()
    QtCore.QTimer.singleShot(3000, activate)       # 3 s of nothing first: the baseline
    QtCore.QTimer.singleShot(int(1000 * (600 + args.sam_hover_seconds)), loop.quit)
    loop.exec()
    timer.stop()
    mouse.stop()
    encode_s = (phase["ready_at"] or time.perf_counter()) - phase["t0"]
    masks = list(tool.session.latencies)
    tool.close()
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    from segstudio.bench.timing import summary_ms

    return {"model": what, "size": [h, w], "encoded": phase["ready_at"] is not None,
            "encode_s": round(encode_s, 1),
            "decoder_ms": {k: round(v, 1) for k, v in summary_ms(masks).items()} if masks
            else None, "idle": _lateness(late["idle"][1:]),
            "activate_ms": round(phase["activate_ms"], 1),
            "encoding": _lateness(late["encoding"][1:]),   # the first tick waited for the key
            "hover": _lateness(late["hover"]), "target_max_ms": 100.0}


def summary(r: dict) -> str:
    dec = r["decoder_ms"]
    return (f"SAM tool ({r['model']}) on a {r['size'][1]}x{r['size'][0]} image: the key took "
            f"{r['activate_ms']:.0f} ms, encoded in {r['encode_s']:.1f} s; longest GUI stall "
            f"idle {r['idle']['max_stall_ms']:.0f} ms, while encoding "
            f"{r['encoding']['max_stall_ms']:.0f} ms (p99 {r['encoding']['p99_stall_ms']:.0f}, "
            f"{r['encoding']['over_100ms']} over 100 ms), while the preview follows the cursor "
            f"{r['hover']['max_stall_ms']:.0f} ms (p99 {r['hover']['p99_stall_ms']:.0f}); "
            + (f"decoder {dec['median_ms']:.0f} ms median" if dec else "no mask made"))
