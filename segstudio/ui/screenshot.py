"""Render the screenshots of the docs: `python -m segstudio.ui.screenshot` writes
docs/screenshot.png (scale 1.0, a 1920x1080 screen) and docs/screenshot-1.5x.png (scale 1.5 on
a 1280x1000 screen, where the panels take the small-screen layout), each in a process of its
own (Qt reads QT_SCALE_FACTOR once) on an emulated screen (the offscreen platform's
configuration file). `python -m segstudio.ui.screenshot OUT.png` renders one, at the scale and
screen the process has.

The demo project is a few CamVid validation images (../shared/datasets/camvid, or the
synthetic sample when CamVid is absent): ENet is fine-tuned briefly so the curves are real,
the unlabeled images are segmented with the shipped ENet/CamVid checkpoint (the model a new
user starts with), and the window shows the most confident of those predictions.
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


SHOTS = (  # (file, scale factor, physical screen)
    ("screenshot.png", 1.0, (1920, 1080)),
    ("screenshot-1.5x.png", 1.5, (1280, 1000)),
)
DOCS = Path(__file__).resolve().parents[2] / "docs"


def render_all(out_dir: Path, steps: int) -> int:
    """Each screenshot in a process of its own, on its emulated screen, from one demo project
    (built and fine-tuned by the first)."""
    import json
    import subprocess
    import sys

    tmp = Path(tempfile.mkdtemp(prefix="segstudio-shots-"))
    try:
        for name, scale, (width, height) in SHOTS:
            screen = tmp / f"screen-{scale:g}.json"
            screen.write_text(json.dumps({"screens": [{
                "name": "shot", "x": 0, "y": 0, "width": width, "height": height,
                "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
            env = dict(os.environ, QT_SCALE_FACTOR=f"{scale:g}",
                       QT_QPA_PLATFORM=f"offscreen:configfile={screen}")
            cmd = [sys.executable, "-m", "segstudio.ui.screenshot", str(out_dir / name),
                   "--project", str(tmp / "project"), "--steps", str(steps)]
            if subprocess.run(cmd, env=env).returncode:
                return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, nargs="?",
                        help="one PNG to write (default: both screenshots into docs/)")
    default = Path(os.environ.get("SEGSTUDIO_CAMVID", CAMVID))
    parser.add_argument("--camvid", type=Path, default=default)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--project", type=Path,
                        help="demo project folder: built (and fine-tuned) when absent, else "
                        "reused as it is")
    args = parser.parse_args(argv)
    if args.out is None:
        return render_all(DOCS, args.steps)

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
    project_dir = args.project or tmp / "demo"
    fresh = not (project_dir / "segstudio.json").is_file()
    if not fresh:
        root = project_dir
    elif (args.camvid / "classes.json").is_file():
        root = _camvid_project(args.camvid, project_dir, labelled=10, unlabelled=4)
    else:
        root = make_sample_project(project_dir)
    camvid = (root / "images").is_dir() and any((root / "images").glob("*.jpg"))
    size = (176, 240) if camvid else (144, 192)
    window = MainWindow()       # sized by its screen, as a user's would be
    window.show()
    window.open_folder(root)
    if fresh:
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
        print("fine-tune log:", *window.finetune.run_log, sep="\n  ")
    else:
        _choose_checkpoint(window, default_checkpoint())
    window.files.sort_by_confidence()
    window.show_image(_best_prediction(window))
    window.palette.select(3)
    window.canvas.fit()
    _wait(app, lambda: False, 0.5)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    window.session.save_all()
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
