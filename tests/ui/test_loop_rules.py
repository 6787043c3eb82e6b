"""The loop's rules as the window applies them: strokes survive re-segmentation, the dialog
says what happens to each group, quitting or switching during a fine-tune asks, a stopped run
resumes from the Model panel, fine-tune settings belong to the project."""

from __future__ import annotations

import shutil

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.project import ImageState, Project
from segstudio.core.sample import make_sample_project
from segstudio.engine.workflow.finetune import DEFAULT_LR, DEFAULT_STEPS

YES = QtWidgets.QMessageBox.StandardButton.Yes
NO = QtWidgets.QMessageBox.StandardButton.No


def _paint(window, value, x, y, radius=4):
    window.palette.select(value)
    window.command_actions["tool_brush"].trigger()
    window.tools.set_radius(radius)
    window.tools.click((x + 0.5, y + 0.5), False)


def test_resegment_keeps_strokes_on_open_and_saved_images(window, qtbot, sample_root,
                                                          tiny_checkpoint, dialogs):
    assert window.open_folder(sample_root)
    window.runs.choose_checkpoint(str(tiny_checkpoint))
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000):
        window.command_actions["segment_all"].trigger()
    project = window.session.project
    predicted = [e.key for e in project.entries if project.state(e) is ImageState.PREDICTED]
    # A stroke on one predicted image, saved by switching away; another stroke left unsaved.
    window.show_image(predicted[0])
    doc0 = window.current_document()
    value = (int(doc0.mask[20, 20]) + 1) % 4
    _paint(window, value, 20, 20)
    window.show_image(predicted[1])
    doc1 = window.current_document()
    value1 = (int(doc1.mask[30, 30]) + 1) % 4
    _paint(window, value1, 30, 30)
    qtbot.waitUntil(lambda: project.state(project.entry(predicted[0])) is ImageState.EDITED,
                    timeout=10_000)
    dialogs.answer = YES
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000) as sig:
        window.model_dock.resegment.emit()
    text = dialogs.shown[-1][1]
    # Both count as edited in the question, the unsaved one too (not as "predicted").
    assert "2 edited image(s) keep every pixel you painted" in text, text
    assert "reviewed image(s) are left" in text
    assert "kept your edits" in sig.args[0]
    assert doc0.mask[20, 20] == value and doc1.mask[30, 30] == value1
    window.session.save_all(wait=True)
    fresh = Project.open(sample_root)
    assert fresh.read_label(fresh.entry(predicted[0]))[20, 20] == value
    assert fresh.read_label(fresh.entry(predicted[1]))[30, 30] == value1
    assert fresh.state(fresh.entry(predicted[1])) is ImageState.EDITED
    assert fresh.counts()[ImageState.REVIEWED] == 3


def _long_finetune(window, dialogs):
    window.finetune.steps.setValue(100_000)
    window.finetune.batch.setValue(2)
    dialogs.answer = YES
    window.finetune.start_button.click()
    assert window.runs.finetune.busy


def test_quitting_during_a_fine_tune_asks(window, qtbot, sample_root, dialogs):
    assert window.open_folder(sample_root)
    _long_finetune(window, dialogs)
    qtbot.waitUntil(lambda: any(e > 0 for e in window.finetune._epochs) or
                    len(window.finetune._loss) > 2, timeout=60_000)
    dialogs.answer = NO
    assert not window.close()                       # "stop it?" - no: keeps running
    assert window.runs.finetune.busy and window.isVisible()
    assert "fine-tune is at epoch" in dialogs.shown[-1][1]
    assert "can be resumed" in dialogs.shown[-1][1]
    other = make_sample_project(sample_root.parent / "other", count=3, reviewed=2,
                                size=(48, 64))
    assert not window.open_folder(other)            # switching projects asks too
    assert window.runs.finetune.busy
    dialogs.answer = YES
    assert window.close()
    assert not window.runs.finetune.busy


def test_a_stopped_run_resumes_from_the_model_panel(window, qtbot, sample_root, dialogs):
    assert window.open_folder(sample_root)
    window.finetune.steps.setValue(60)
    window.finetune.batch.setValue(2)
    dialogs.answer = YES
    with qtbot.waitSignal(window.runs.train_finished, timeout=120_000):
        window.finetune.start_button.click()
        qtbot.waitUntil(lambda: any(e >= 1 for e in window.finetune._epochs), timeout=60_000)
        window.finetune.cancel_button.click()
    assert "resume it from the Model panel" in window.finetune.status.text()
    choice = next(c for c in window.model_dock._choices if c.status == "cancelled")
    assert choice.resumable and not choice.active
    # Resume is in the ⋯ menu: the run need not be made the active model first.
    menu = window.model_dock.runs_menu
    menu.aboutToShow.emit()
    resume = next(a.menu() for a in menu.actions() if a.text() == "Re&sume")
    with qtbot.waitSignal(window.runs.train_finished, timeout=180_000) as sig:
        resume.actions()[0].trigger()
    assert sig.args[0]
    # One verdict in the panel's words, not the engine's "(not) made active:" head again.
    status = window.finetune.status.text()
    assert status.startswith("done: ") and "made active" not in status, status
    assert "is now the active model: " in status or "kept, not active: " in status, status
    records = Project.open(sample_root).checkpoints
    assert len(records) == 1 and records[0]["status"] == "finished"
    assert sig.args[0].endswith(records[0]["path"])


def test_settings_belong_to_each_project(window, qtbot, sample_root, tmp_path, dialogs):
    """The sample's short, fast settings do not follow the user into another project."""
    assert window.open_folder(sample_root)
    assert window.finetune.steps.value() == 100 and window.finetune.lr.value() == 1e-3
    window.finetune.lr.setValue(1e-2)            # 10x the default: flagged before a run
    assert "learning rate 0.01 is 10x" in window.finetune.warnings.text()
    assert "unusual" in window.finetune.advanced.text()
    camvid_like = tmp_path / "plain"
    camvid_like.mkdir()
    for img in sorted((sample_root / "images").glob("*.png"))[:2]:
        shutil.copy(img, camvid_like / img.name)
    assert window.open_folder(camvid_like)
    assert window.finetune.lr.value() == DEFAULT_LR
    assert window.finetune.steps.value() == DEFAULT_STEPS
    assert window.finetune.warnings.text() == ""
    assert window.finetune.status.text() == ""       # no trace of the other project's run
    assert window.finetune._loss == []


def test_mark_reviewed_is_immediate_even_while_the_png_is_written(window, sample_root,
                                                                  monkeypatch, qtbot):
    import threading

    assert window.open_folder(sample_root)
    project = window.session.project
    key = next(e.key for e in project.entries if project.state(e) is ImageState.UNLABELED)
    window.show_image(key)
    _paint(window, 1, 5, 5)
    gate = threading.Event()
    real = project.save_label

    def slow(*args, **kwargs):
        gate.wait(10)       # as an 8000x6000 PNG encode would
        return real(*args, **kwargs)

    monkeypatch.setattr(project, "save_label", slow)
    window.command_actions["mark_reviewed"].trigger()
    assert "(reviewed)" in window.windowTitle()
    assert window.files.model.data(
        window.files.model.index(window.files.model.row_of(key), 1)) == "reviewed"
    gate.set()
    qtbot.waitUntil(lambda: project.state(project.entry(key)) is ImageState.REVIEWED,
                    timeout=10_000)
    assert np.any(project.read_label(project.entry(key)) == 1)


def test_missing_encoder_is_offered_and_declining_trains_from_scratch(window, qtbot,
                                                                      sample_root, dialogs,
                                                                      monkeypatch):
    assert window.open_folder(sample_root)
    window.model_dock.arch.setCurrentText("linknet")
    assert "random initialisation" in window.finetune.start_note.text()
    window.finetune.steps.setValue(2)
    window.finetune.batch.setValue(2)
    answers = iter([YES, NO])      # start despite the short length; decline the download

    def question(parent, title, text, *args, **kwargs):
        dialogs.shown.append(("question", text))
        return next(answers, NO)

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", staticmethod(question))
    with qtbot.waitSignal(window.runs.train_finished, timeout=120_000):
        window.finetune.start_button.click()
    offer = next(t for _, t in dialogs.shown if "pretrained on ImageNet" in t)
    assert "random initialisation" in offer and "MB" in offer
    assert any("from random initialisation" in m for m in window.finetune.run_log)
    rec = Project.open(sample_root).checkpoints[-1]
    assert rec["arch"] == "linknet" and rec["backbone"] is None


def test_inference_scale_is_the_projects_and_reaches_the_predictor(window, qtbot, sample_root,
                                                                   tiny_checkpoint,
                                                                   monkeypatch):
    from segstudio.engine import predict

    assert window.open_folder(sample_root)
    window.runs.choose_checkpoint(str(tiny_checkpoint))
    dock = window.model_dock
    assert dock.current_scale() == "auto"
    dock.scale.setEditText("banana")
    dock._scale_edited()
    assert dock.current_scale() == "auto" and "expected auto, native" in dock.scale.toolTip()
    dock.scale.setEditText("native")
    dock._scale_edited()
    assert Project.open(sample_root).settings["predict_scale"] == "native"
    seen = []
    real = predict.Predictor.from_checkpoint.__func__

    def spy(cls, path, device=None, **kw):
        seen.append(kw.get("scale"))
        return real(cls, path, device, **kw)

    monkeypatch.setattr(predict.Predictor, "from_checkpoint", classmethod(spy))
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000):
        window.command_actions["segment_all"].trigger()
    assert seen == ["native"]
    # The tiles of a big image show in the progress bar.
    dock.set_running(True)
    dock.show_progress(1, 3, 12.0, (5, 20))
    assert dock.progress.format() == "1 / 3 · tile 5/20"
    dock.set_running(False)


def test_images_that_fail_to_segment_are_named_and_marked(window, qtbot, sample_root,
                                                          tiny_checkpoint):
    assert window.open_folder(sample_root)
    window.runs.choose_checkpoint(str(tiny_checkpoint))
    project = window.session.project
    targets = [e for e in project.entries if project.state(e) is ImageState.UNLABELED]
    targets[0].path.write_bytes(b"\x89PNG\r\n\x1a\n broken since")
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000) as sig:
        window.command_actions["segment_all"].trigger()
    assert "1 failed (" + targets[0].key in sig.args[0]
    model = window.files.model
    tip = model.data(model.index(model.row_of(targets[0].key), 0),
                     QtCore.Qt.ItemDataRole.ToolTipRole)
    assert "⚠" in tip


def test_a_read_only_project_refuses_runs_with_the_way_out(window, sample_root,
                                                          tiny_checkpoint, dialogs):
    assert window.open_folder(sample_root)
    window.runs.choose_checkpoint(str(tiny_checkpoint))
    window.session.read_only = True
    assert not window.runs.segment.segment_unlabeled()
    assert not window.runs.start_fine_tune()
    texts = dialogs.texts()
    assert "--out DIR" in texts and "read-only folder" in texts
    assert not window.runs.busy


def test_segment_image_replaces_the_open_reviewed_image_when_asked(window, qtbot, sample_root,
                                                                    tiny_checkpoint, dialogs):
    """The open image's prediction is applied on the GUI thread ("deferred"); the user's
    yes to replacing its reviewed label travels with the result (no side table)."""
    assert window.open_folder(sample_root)
    window.runs.choose_checkpoint(str(tiny_checkpoint))
    project = window.session.project
    key = next(e.key for e in project.entries if project.state(e) is ImageState.REVIEWED)
    window.show_image(key)
    dialogs.answer = YES
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000) as sig:
        window.model_dock.segment_image.emit()
    assert "1 replaced" in sig.args[0]
    qtbot.waitUntil(lambda: not window.session.pending, timeout=10_000)
    assert project.state(project.entry(key)) is ImageState.PREDICTED
    dialogs.answer = NO                                     # asked again, and kept this time
    window.command_actions["mark_reviewed"].trigger()
    qtbot.waitUntil(lambda: not window.session.pending, timeout=10_000)
    assert not window.runs.segment_current()
    assert project.state(project.entry(key)) is ImageState.REVIEWED
