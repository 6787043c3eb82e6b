"""Render the README screenshot: `python -m segstudio.ui.screenshot docs/screenshot.png`.

Builds a temporary project from a few CamVid validation images (or the synthetic sample when
CamVid is absent), fine-tunes ENet briefly so the curves are real, segments the unlabeled
images with the shipped ENet/CamVid checkpoint (the model a new user starts with), and grabs
the main window showing one of those predictions with its overlay.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

CAMVID = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "camvid"


def _camvid_project(camvid: Path, dest: Path, labelled: int, unlabelled: int) -> Path:
    """Copy a few val images (labels for the first `labelled`) into a temporary project."""
    from segstudio.core.classes import ClassSet
    from segstudio.core.project import Project

    images = sorted((camvid / "val" / "images").glob("*.jpg"))[:: 8][: labelled + unlabelled]
    (dest / "images").mkdir(parents=True)
    (dest / "labels").mkdir()
    for i, img in enumerate(images):
        shutil.copy(img, dest / "images" / img.name)
        if i < labelled:
            shutil.copy(camvid / "val" / "labels" / f"{img.stem}.png", dest / "labels")
    project = Project.open(dest)
    project.classes = ClassSet.load(camvid / "classes.json")
    project.save()
    return dest


def _choose_checkpoint(window, path: Path) -> None:
    """Pick `path` in the Model panel's weights list as a user would (no-op when absent)."""
    combo = window.model_dock.checkpoint
    index = combo.findData(str(path))
    if index >= 0:
        combo.setCurrentIndex(index)
        combo.activated.emit(index)


def _best_prediction(window) -> str:
    """The most confident predicted image (the sample has no CamVid model to predict with,
    so it falls back to the first image)."""
    from segstudio.core.project import ImageState

    project = window.session.project
    predicted = [e for e in project.entries if project.state(e) is ImageState.PREDICTED]
    if not predicted:
        return project.entries[0].key
    return max(predicted, key=lambda e: project.confidence(e) or 0.0).key


def _wait(app, predicate, seconds: float) -> None:
    import time

    from pyqtgraph.Qt import QtCore

    end = time.monotonic() + seconds
    loop = QtCore.QEventLoop()
    while not predicate() and time.monotonic() < end:
        QtCore.QTimer.singleShot(50, loop.quit)
        loop.exec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    default = Path(os.environ.get("SEGSTUDIO_CAMVID", CAMVID))
    parser.add_argument("--camvid", type=Path, default=default)
    parser.add_argument("--steps", type=int, default=120)
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-shot-"))
    os.environ["SEGSTUDIO_SETTINGS"] = str(tmp / "settings.ini")
    from pyqtgraph.Qt import QtWidgets

    from segstudio.core.sample import make_sample_project
    from segstudio.engine.checkpoint import default_checkpoint
    from segstudio.ui.app import configure_runtime
    from segstudio.ui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    configure_runtime()
    # "No" to re-segmenting with the fine-tuned model: the predictions shown come from the
    # shipped checkpoint, chosen below; "Yes" to the short demo settings.
    buttons = QtWidgets.QMessageBox.StandardButton
    QtWidgets.QMessageBox.question = staticmethod(
        lambda _p, title, *a, **k: buttons.Yes if title.startswith("Unusual") else buttons.No
    )
    QtWidgets.QMessageBox.information = staticmethod(lambda *a, **k: buttons.Ok)
    if (args.camvid / "classes.json").is_file():
        root = _camvid_project(args.camvid, tmp / "camvid-demo", labelled=10, unlabelled=4)
        size = (176, 240)
    else:
        root = make_sample_project(tmp / "sample")
        size = (144, 192)
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    window.open_folder(root)
    ft = window.finetune
    ft.steps.setValue(args.steps)
    ft.crop_h.setValue(size[0])
    ft.crop_w.setValue(size[1])
    ft.batch.setValue(4)
    ft.lr.setValue(2e-3)
    done = {"train": False, "segment": False}
    window.runs.train_finished.connect(lambda _p: done.__setitem__("train", True))
    window.runs.segment_finished.connect(lambda _s: done.__setitem__("segment", True))
    window.runs.start_fine_tune()
    _wait(app, lambda: done["train"], 900)
    _choose_checkpoint(window, default_checkpoint())
    window.runs.segment.segment_unlabeled()
    _wait(app, lambda: done["segment"], 300)
    window.files.sort_by_confidence()
    window.show_image(_best_prediction(window))
    window.palette.select(3)
    window.canvas.fit()
    _wait(app, lambda: False, 0.5)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out))
    print("fine-tune log:", *window.finetune.run_log, sep="\n  ")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    window.session.save_all()
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
