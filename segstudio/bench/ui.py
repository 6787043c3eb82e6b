"""Benchmark suite 'ui': a brush stroke with the overlay refreshed on screen, and the longest
GUI event-loop stall while segmentation and fine-tuning run on worker threads.

Stroke: an 8000x6000 image and mask in the canvas (offscreen window). Each stroke segment is
`MaskDocument.brush` + `Canvas.refresh(changed box)` + processing events until the view has
actually painted. The baseline, in the same run, refreshes the whole overlay with
`pyqtgraph.ImageItem.setImage` (what a plain pyqtgraph overlay does after each edit).

Stall: a 10 ms QTimer in the main window records how late each tick fires while the app
segments a sample project and fine-tunes ENet on it, against the same timer with nothing
running (the baseline).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", default="6000x8000", help="image H x W (default 6000x8000)")
    parser.add_argument("--segments", type=int, default=300, help="brush segments to time")
    parser.add_argument("--radius", type=float, default=25.0, help="brush radius in pixels")
    parser.add_argument("--full-repeats", type=int, default=8,
                        help="full setImage refreshes to time (each is slow)")
    parser.add_argument("--stall-seconds", type=float, default=90.0,
                        help="longest time to watch the event loop while workers run")
    parser.add_argument("--skip-stall", action="store_true", help="only the stroke part")
    from segstudio.bench import ui_sam

    ui_sam.add_arguments(parser)


def _app():
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pyqtgraph.Qt import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


def _settle(app, item, rounds: int = 3) -> None:
    """Process events until the item stops painting (range set-up after show)."""
    for _ in range(50):
        before = item.paint_count
        for _ in range(rounds):
            app.processEvents()
        if item.paint_count == before:
            return


def _stroke_points(h: int, w: int, n: int) -> list[tuple[float, float]]:
    import numpy as np

    # A wavy line across the middle third, like a user tracing a boundary.
    t = np.linspace(0, 1, n + 1)
    xs = w * (0.33 + 0.34 * t)
    ys = h * (0.5 + 0.1 * np.sin(t * 12))
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def bench_stroke(args) -> dict:
    import numpy as np
    import pyqtgraph as pg

    from segstudio.bench.timing import summary_ms
    from segstudio.core.editing import MaskDocument
    from segstudio.ui.canvas import Canvas

    app = _app()
    h, w = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = rng.integers(0, 255, (1, w, 3), dtype=np.uint8)  # cheap, not uniform
    mask = np.zeros((h, w), np.uint8)
    mask[: h // 2] = 1
    palette = np.zeros((256, 3), np.uint8)
    palette[:4] = [(70, 130, 230), (120, 90, 40), (230, 50, 50), (240, 200, 40)]
    canvas = Canvas()
    canvas.resize(1400, 900)
    canvas.show()
    canvas.set_image(rgb)
    doc = MaskDocument(mask, 255)
    canvas.set_mask(doc.mask, palette, 255)
    item = canvas.label_item
    _settle(app, item)

    def run_stroke(value: int) -> tuple[list[float], int, int]:
        """Times per segment until painted; counts segments on screen and ones never painted."""
        from segstudio.ui.raster import bbox_rect

        pts = _stroke_points(h, w, args.segments)
        view = canvas.viewbox.viewRect()
        times, visible, missed = [], 0, 0
        doc.begin_stroke()
        for p0, p1 in itertools.pairwise(pts):
            count = item.paint_count
            t0 = time.perf_counter()
            bbox = doc.brush(p0, p1, args.radius, value)
            canvas.refresh(bbox)
            app.processEvents()
            on_screen = bbox is not None and view.intersects(bbox_rect(bbox))
            # The view may schedule its repaint for the next pass of the loop: wait for it,
            # so each time includes the paint of its own segment.
            tries = 0
            while on_screen and item.paint_count == count and tries < 50:
                app.processEvents()
                tries += 1
            if on_screen:  # off-screen segments cost no paint; keep them out of the figures
                times.append(time.perf_counter() - t0)
            visible += on_screen
            missed += on_screen and item.paint_count == count
        doc.end_stroke()
        return times, visible, missed

    results: dict = {"size": [h, w], "segments": args.segments, "radius": args.radius}
    canvas.fit()
    _settle(app, item)
    run_stroke(3)  # warm-up: first paints after a range change repaint everything
    _settle(app, item)
    fit_times, fit_visible, fit_missed = run_stroke(2)
    cx, cy = w * 0.5, h * 0.5
    canvas.viewbox.setRange(pg.QtCore.QRectF(cx - 700, cy - 450, 1400, 900), padding=0)
    _settle(app, item)
    run_stroke(3)
    _settle(app, item)
    zoom_times, zoom_visible, zoom_missed = run_stroke(2)

    # Baseline: a plain pyqtgraph ImageItem overlay refreshed with setImage after each segment.
    overlay = pg.ImageItem(axisOrder="row-major")
    lut = np.zeros((256, 4), np.uint8)
    lut[:, :3] = palette
    lut[:4, 3] = 140
    overlay.setLookupTable(lut)
    overlay.setZValue(5)
    canvas.viewbox.addItem(overlay)
    item.setVisible(False)
    canvas.fit()
    overlay.setImage(doc.mask, levels=(0, 255), autoLevels=False)
    _settle(app, item)
    pts = _stroke_points(h, w, args.full_repeats)
    full_times = []
    painted = [0]
    orig_paint = overlay.paint

    def counting_paint(*a):
        painted[0] += 1
        return orig_paint(*a)

    overlay.paint = counting_paint
    for p0, p1 in itertools.pairwise(pts):
        t0 = time.perf_counter()
        doc.brush(p0, p1, args.radius, 2)
        overlay.setImage(doc.mask, levels=(0, 255), autoLevels=False)
        app.processEvents()
        full_times.append(time.perf_counter() - t0)
    canvas.close()

    ours, zoomed, full = summary_ms(fit_times), summary_ms(zoom_times), summary_ms(full_times)
    results.update({
        "ours_fit": ours,
        "ours_zoomed": zoomed,
        "full_setimage": full,
        "segments_on_screen": [fit_visible, zoom_visible],
        "unpainted_segments": fit_missed + zoom_missed,
        "full_paints": painted[0],
        "ratio": max(ours["p95_ms"], zoomed["p95_ms"]) / full["median_ms"],
        "target_p95_ms": 8.0,
    })
    return results


def bench_stall(args) -> dict:
    from pyqtgraph.Qt import QtCore, QtWidgets

    from segstudio.core.sample import make_sample_project
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model
    from segstudio.ui.app import configure_runtime
    from segstudio.ui.main_window import MainWindow

    app = _app()
    configure_runtime()  # as run_app does
    from segstudio.ui.gc_policy import GuiGarbageCollector

    # As run_app does, with the engine loaded already: frozen at once, before measuring;
    # handed back at the end (the bench also runs inside the test suite).
    collector = GuiGarbageCollector(parent=app)
    collector.freeze_now()
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-bench-ui-"))
    os.environ.setdefault("SEGSTUDIO_SETTINGS", str(tmp / "settings.ini"))
    root = make_sample_project(tmp / "sample", count=12, reviewed=8, size=(144, 192))
    # Answer questions without a modal dialog: yes to starting with the bench's short
    # settings, no to re-segmenting after the fine-tune.
    buttons = QtWidgets.QMessageBox.StandardButton
    box = QtWidgets.QMessageBox
    saved = {n: box.__dict__[n] for n in ("question", "information", "warning", "critical")}
    QtWidgets.QMessageBox.question = staticmethod(
        lambda _p, title, *a, **k: buttons.Yes if title.startswith("Unusual") else buttons.No
    )
    # And no modal box may wait for a click that never comes (a run that is kept but not
    # made active says so in one): the bench would hang. All put back at the end.
    for name in ("information", "warning", "critical"):
        setattr(QtWidgets.QMessageBox, name, staticmethod(lambda *a, **k: buttons.Ok))
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    window.open_folder(root)
    model = build_model("enet", window.session.project.classes.num_classes)
    meta = CheckpointMeta("enet", window.session.project.classes, model.info.mean, model.info.std)
    ckpt = save_checkpoint(model, tmp / "enet_untrained", meta)
    window.runs.choose_checkpoint(str(ckpt))

    def watch(seconds: float, until=None) -> list[float]:
        """Lateness (s) of each 10 ms timer tick for `seconds` or until `until()`."""
        lateness: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            lateness.append(max(0.0, now - last[0] - 0.010))
            last[0] = now

        timer = QtCore.QTimer()
        timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        # A real event loop, as the app runs it (a processEvents() spin would not block).
        loop = QtCore.QEventLoop()
        QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
        check = QtCore.QTimer()
        check.setInterval(50)
        check.timeout.connect(lambda: loop.quit() if until is not None and until() else None)
        check.start()
        loop.exec()
        check.stop()
        timer.stop()
        return lateness

    idle = watch(2.0)
    s = window.finetune
    s.steps.setValue(8)
    s.crop_h.setValue(144)
    s.crop_w.setValue(192)
    s.batch.setValue(4)
    done = {"segment": 0, "train": 0}
    window.runs.segment_finished.connect(lambda _s: done.__setitem__("segment", 1))
    window.runs.train_finished.connect(lambda _s: done.__setitem__("train", 1))
    t0 = time.perf_counter()
    window.runs.start_fine_tune()
    window.runs.segment.segment_unlabeled()
    busy = watch(args.stall_seconds, until=lambda: done["segment"] and done["train"])
    busy_s = time.perf_counter() - t0
    window.runs.cancel_all(wait=True)
    window.session.save_all()
    for dock in window.findChildren(QtWidgets.QDockWidget):
        dock.close()
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    collector.stop()
    gc.unfreeze()
    collector.deleteLater()
    for name, value in saved.items():
        setattr(QtWidgets.QMessageBox, name, value)
    idle_max, busy_max = max(idle) * 1e3, max(busy) * 1e3
    ordered = sorted(busy)
    return {
        "watched_s": busy_s,
        "segmented_and_trained": bool(done["segment"] and done["train"]),
        "ticks": len(busy),
        "busy_max_stall_ms": busy_max,
        "busy_p99_stall_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1e3,
        "idle_max_stall_ms": idle_max,
        "ratio": busy_max / max(idle_max, 1e-3),
        "target_max_ms": 100.0,
    }


def run(args: argparse.Namespace) -> dict:
    result = {"stroke": bench_stroke(args)}
    if not args.skip_stall:
        result["stall"] = bench_stall(args)
    from segstudio.bench import ui_sam

    if getattr(args, "sam", False):
        result["sam"] = ui_sam.bench_sam(args)
    if not args.json:
        _print(result)
        if "sam" in result:
            print(ui_sam.summary(result["sam"]))
    return result


def _print(result: dict) -> None:
    st = result["stroke"]
    h, w = st["size"]
    print(f"brush stroke on a {w}x{h} mask, {st['segments']} segments, radius {st['radius']:g}")
    print(f"{'per segment (ms)':<44}{'median':>9}{'p95':>9}")
    for key, label in (("ours_fit", "brush + bbox repaint, fit to window"),
                       ("ours_zoomed", "brush + bbox repaint, 1:1 (on-screen part)"),
                       ("full_setimage", "brush + full ImageItem.setImage (baseline)")):
        s = st[key]
        print(f"{label:<44}{s['median_ms']:>9.2f}{s['p95_ms']:>9.2f}")
    print(f"ratio (ours worst p95 / baseline median): {st['ratio']:.4f}   target p95 < 8 ms")
    if "stall" in result:
        sl = result["stall"]
        print(f"GUI event loop, 10 ms timer, while segmenting + fine-tuning "
              f"({sl['watched_s']:.1f} s, finished: {sl['segmented_and_trained']}):")
        print(f"  longest stall {sl['busy_max_stall_ms']:.1f} ms "
              f"(p99 {sl['busy_p99_stall_ms']:.1f} ms), idle {sl['idle_max_stall_ms']:.1f} ms, "
              f"ratio {sl['ratio']:.2f}   target < 100 ms")
