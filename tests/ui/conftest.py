"""UI test set-up: settings in a temp file, dialogs answered without blocking, a small sample
project and a tiny ENet checkpoint for it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")


@pytest.fixture(autouse=True)
def gui_thread_gc(qapp):
    """As the app does (ui/app.py): cyclic garbage is collected on the GUI thread only, so a
    worker thread's allocations never destroy an earlier test's windows off the GUI thread
    (that deadlocked Qt once); whatever is left is collected here, on the GUI thread."""
    import gc

    from segstudio.ui.gc_policy import GuiGarbageCollector

    collector = GuiGarbageCollector(interval_s=0.5)   # never frozen here: tests end
    yield
    collector.stop()
    gc.collect()
    collector.deleteLater()


class Dialogs:
    """Records message boxes; `answer` is what question() returns."""

    def __init__(self) -> None:
        from pyqtgraph.Qt import QtWidgets

        self.shown: list[tuple[str, str]] = []
        self.answer = QtWidgets.QMessageBox.StandardButton.No

    def texts(self) -> str:
        return "\n".join(text for _, text in self.shown)


@pytest.fixture(autouse=True)
def dialogs(monkeypatch, tmp_path) -> Dialogs:
    from pyqtgraph.Qt import QtWidgets

    monkeypatch.setenv("SEGSTUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    rec = Dialogs()
    box = QtWidgets.QMessageBox

    def question(parent, title, text, *args, **kwargs):
        rec.shown.append(("question", text))
        return rec.answer

    def warn(kind):
        def show(parent, title, text, *args, **kwargs):
            rec.shown.append((kind, text))
            return box.StandardButton.Ok
        return staticmethod(show)

    monkeypatch.setattr(box, "question", staticmethod(question))
    monkeypatch.setattr(box, "warning", warn("warning"))
    monkeypatch.setattr(box, "information", warn("information"))
    monkeypatch.setattr(box, "critical", warn("critical"))
    return rec


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory) -> Path:
    from segstudio.core.sample import make_sample_project

    return make_sample_project(
        tmp_path_factory.mktemp("sample") / "project", count=5, reviewed=3, size=(64, 96)
    )


@pytest.fixture
def sample_root(sample_template, tmp_path) -> Path:
    """A fresh copy per test: tests write labels and checkpoints into it."""
    import shutil

    return Path(shutil.copytree(sample_template, tmp_path / "project"))


@pytest.fixture(scope="session")
def tiny_checkpoint(sample_template, tmp_path_factory) -> Path:
    """An untrained ENet (0.36 M parameters) for the sample's classes."""
    import torch

    from segstudio.core.project import Project
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model

    torch.manual_seed(0)
    classes = Project.open(sample_template).classes
    model = build_model("enet", classes.num_classes)
    meta = CheckpointMeta(arch="enet", classes=classes, mean=model.info.mean, std=model.info.std)
    return save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "enet_tiny", meta)


@pytest.fixture
def shown_canvas(qtbot):
    """Factory: a Canvas of the given size, shown and exposed (painting really happens)."""
    from segstudio.ui.canvas import Canvas

    def make(width: int, height: int) -> Canvas:
        canvas = Canvas()
        qtbot.addWidget(canvas)
        canvas.resize(width, height)
        canvas.show()
        qtbot.waitExposed(canvas)
        return canvas

    return make


@pytest.fixture
def window(qtbot):
    """A main window, shown at 1200x800, with no folder open; its runs wound up after."""
    from segstudio.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.runs.cancel_all(wait=True)


@pytest.fixture
def make_window(qtbot):
    """make(folder=None, size=(1152, 900)): a shown, active main window (shortcuts need the
    active window), with `folder` open; each one's runs wound up after the test."""
    from pyqtgraph.Qt import QtWidgets

    from segstudio.ui.main_window import MainWindow

    made = []

    def make(folder=None, size=(1152, 900)) -> MainWindow:
        w = MainWindow()
        qtbot.addWidget(w)
        if size is not None:
            w.resize(*size)
        w.show()
        w.activateWindow()
        qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=5000)
        if folder is not None:
            assert w.open_folder(folder)
        made.append(w)
        return w

    yield make
    for w in made:
        w.runs.cancel_all(wait=True)


@pytest.fixture
def camvid_like_root(tmp_path) -> Path:
    """A CamVid-layout project (images/, labels/, classes.json with CamVid's 11 classes and
    void at 11) of six small generated images, four labelled with greyscale index PNGs."""
    import numpy as np
    from PIL import Image

    from segstudio.core.classes import builtin_classes

    root = tmp_path / "camvid-like"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        name = f"0001TP_00{6690 + 30 * i}"
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(
            root / "images" / f"{name}.png")
        if i < 4:
            mask = rng.integers(0, 12, (48, 64)).astype(np.uint8)   # 11 = void
            Image.fromarray(mask, mode="L").save(root / "labels" / f"{name}.png")
    builtin_classes("camvid").save(root / "classes.json")
    return root
