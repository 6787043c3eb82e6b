"""The whole loop in the window, offscreen, with a tiny ENet on a generated sample project:
open folder, segment all, paint a stroke, undo, redo, save, verify the PNG, fine-tune one
epoch, new checkpoint registered, cancel works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtWidgets

from segstudio.core.labels import read_label
from segstudio.core.project import ImageState, Project


def _use_checkpoint(window, path):
    window.runs.choose_checkpoint(str(path))
    assert window.model_dock.current_checkpoint() == path


def _unlabeled_keys(window):
    project = window.session.project
    return [e.key for e in project.entries if project.state(e) is ImageState.UNLABELED]


def test_full_loop(window, qtbot, sample_root, tiny_checkpoint, dialogs):
    assert window.open_folder(sample_root)
    assert window.current_key == window.session.entries[0].key
    # The sample's own fine-tune settings were applied.
    assert (window.finetune.crop_h.value(), window.finetune.crop_w.value()) == (64, 96)
    _use_checkpoint(window, tiny_checkpoint)

    targets = _unlabeled_keys(window)
    assert len(targets) == 2
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000) as sig:
        window.command_actions["segment_all"].trigger()
    assert sig.args[0].startswith("segmented 2 image(s)"), sig.args
    project = window.session.project
    for key in targets:
        entry = project.entry(key)
        assert project.state(entry) is ImageState.PREDICTED
        assert 0.0 <= project.confidence(entry) <= 1.0
        assert key in window.session.confidence_maps
    # Reviewed labels were not touched: still reviewed, still the generated ones.
    assert window.session.project.counts()[ImageState.REVIEWED] == 3

    # Paint a stroke on a predicted image.
    key = targets[0]
    window.show_image(key)
    doc = window.current_document()
    before = doc.mask.copy()
    value = next(v for v in range(4) if v not in (doc.mask[12, 20], doc.mask[30, 40]))
    window.palette.select(value)
    window.command_actions["tool_brush"].trigger()
    window.tools.set_radius(6)
    tools = window.tools
    tools.drag_start((10.5, 10.5), (20.5, 12.5))
    tools.drag_move((20.5, 12.5), (40.5, 30.5))
    tools.drag_finish((40.5, 30.5))
    assert doc.mask[12, 20] == value and doc.mask[30, 40] == value
    assert window.isWindowModified() and window.windowTitle().count("[*]") == 1
    painted = doc.mask.copy()

    window.command_actions["undo"].trigger()
    np.testing.assert_array_equal(doc.mask, before)
    window.command_actions["redo"].trigger()
    np.testing.assert_array_equal(doc.mask, painted)

    window.command_actions["save"].trigger()
    qtbot.waitUntil(lambda: not window.session.pending, timeout=10_000)
    assert not window.session.is_dirty(key)
    qtbot.waitUntil(lambda: not window.isWindowModified(), timeout=5_000)
    on_disk = read_label(project.label_path(project.entry(key)), project.classes)
    np.testing.assert_array_equal(on_disk, painted)

    # A person painted it: EDITED, with the stroke's pixels recorded as touched.
    assert project.state(project.entry(key)) is ImageState.EDITED
    assert project.touched(project.entry(key))[12, 20]

    # Mark reviewed, then fine-tune a few steps on the reviewed images.
    window.command_actions["mark_reviewed"].trigger()
    qtbot.waitUntil(lambda: project.state(project.entry(key)) is ImageState.REVIEWED,
                    timeout=10_000)
    window.finetune.steps.setValue(4)
    window.finetune.crop_h.setValue(64)
    window.finetune.crop_w.setValue(96)
    window.finetune.batch.setValue(2)
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Yes   # "unusual settings: start?"
    with qtbot.waitSignal(window.runs.train_finished, timeout=120_000) as sig:
        window.finetune.start_button.click()
    new = sig.args[0]
    assert new, dialogs.texts() + window.finetune.status.text()
    assert any("far from this project's defaults" in t for _, t in dialogs.shown)
    records = Project.open(sample_root).checkpoints
    assert len(records) == 1 and records[0]["arch"] == "enet"
    assert records[0]["status"] == "finished" and "miou" in records[0]["metrics"]
    # The tiny checkpoint was active: measured before training on the same images.
    assert records[0]["baseline_miou"] is not None
    assert len(window.finetune._loss) >= 1
    assert window.finetune._epochs[0] == 0          # epoch 0: the model before training
    if records[0]["miou"] >= records[0]["baseline_miou"]:
        assert window.model_dock.current_checkpoint().resolve() == Path(new).resolve()
        # The app offered to re-segment, saying what happens to each group.
        assert any("get the new prediction" in text for _, text in dialogs.shown)
    else:
        assert window.model_dock.current_checkpoint() == tiny_checkpoint
        assert any("the active model stays" in text for _, text in dialogs.shown)


def test_cancel_segmentation_and_fine_tune(window, qtbot, sample_root, tiny_checkpoint,
                                          dialogs):
    assert window.open_folder(sample_root)
    _use_checkpoint(window, tiny_checkpoint)
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000) as sig:
        window.command_actions["segment_all"].trigger()
        window.model_dock.cancel_button.click()
    assert sig.args[0].startswith("cancelled"), sig.args
    assert not window.model_dock.cancel_button.isEnabled()

    window.finetune.steps.setValue(5000)
    window.finetune.batch.setValue(2)
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Yes   # "unusual settings: start?"
    with qtbot.waitSignal(window.runs.train_finished, timeout=60_000) as sig:
        window.finetune.start_button.click()
        window.finetune.cancel_button.click()
    assert sig.args == [""]  # cancelled before an epoch ended: no checkpoint
    assert window.finetune.status.text() == "cancelled"
    assert window.finetune.start_button.isEnabled()
    assert Project.open(sample_root).checkpoints == []
    assert window.model_dock.current_checkpoint() == tiny_checkpoint


def test_failed_save_keeps_edits_and_says_why(window, qtbot, sample_root, dialogs, monkeypatch):
    from segstudio.core.errors import ProjectError

    assert window.open_folder(sample_root)
    doc = window.current_document()
    window.palette.select((int(doc.mask[5, 5]) + 1) % 4)
    window.tools.click((5.5, 5.5), False)
    assert doc.dirty
    project = window.session.project

    def fail(entry, *args, **kwargs):
        raise ProjectError(f"cannot save label: {project.label_path(entry)}: disk full")

    monkeypatch.setattr(project, "save_label", fail)
    key = window.current_key
    window.command_actions["save"].trigger()
    qtbot.waitUntil(lambda: "disk full" in dialogs.texts(), timeout=10_000)
    assert window.session.is_dirty(key)
    assert "disk full" in window.statusBar().currentMessage()
    assert window.isWindowModified()
    edited = doc.mask.copy()
    # Switching images tries again, fails again, and still keeps the edit in memory.
    window.command_actions["next_image"].trigger()
    qtbot.waitUntil(lambda: not window.session.pending, timeout=10_000)
    qtbot.waitUntil(lambda: dialogs.texts().count("disk full") == 2, timeout=10_000)
    assert window.session.is_dirty(key)
    np.testing.assert_array_equal(window.session.documents[key].mask, edited)


def test_undo_survives_switching_images(window, sample_root):
    assert window.open_folder(sample_root)
    first = window.current_key
    doc = window.current_document()
    window.palette.select((int(doc.mask[8, 8]) + 1) % 4)
    window.tools.click((8.5, 8.5), False)
    window.command_actions["next_image"].trigger()
    assert window.current_key != first
    window.command_actions["prev_image"].trigger()
    assert window.current_document() is doc
    assert doc.can_undo
    window.command_actions["undo"].trigger()
    assert window.session.is_dirty(first)  # saved on switching; the undo differs again


def test_segment_open_image_is_undoable_and_reviewed_asks(window, qtbot, sample_root,
                                                          tiny_checkpoint, dialogs):
    assert window.open_folder(sample_root)
    _use_checkpoint(window, tiny_checkpoint)
    key = _unlabeled_keys(window)[0]
    window.show_image(key)
    doc = window.current_document()
    assert (doc.mask == 255).all()  # no label yet: all void
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000) as sig:
        window.command_actions["segment_image"].trigger()
    assert sig.args[0].startswith("segmented 1 image(s)")
    assert (doc.mask != 255).all()  # the open document took the prediction
    assert window.canvas.label_item.array is doc.mask
    project = window.session.project
    qtbot.waitUntil(lambda: not window.session.pending, timeout=10_000)  # written async
    np.testing.assert_array_equal(project.read_label(project.entry(key)), doc.mask)
    window.command_actions["undo"].trigger()
    assert (doc.mask == 255).all() and doc.dirty

    # A reviewed image: segmenting asks first; "No" keeps the label.
    reviewed = project.reviewed_entries()[0]
    window.show_image(reviewed.key)
    before = window.current_document().mask.copy()
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.No
    window.command_actions["segment_image"].trigger()
    assert not window.runs.segment.busy
    assert any("is reviewed" in text for _, text in dialogs.shown)
    np.testing.assert_array_equal(window.current_document().mask, before)


def test_folder_without_labels_takes_the_checkpoint_classes(window, qtbot, tmp_path,
                                                            sample_root, tiny_checkpoint):
    import shutil

    from segstudio.core.sample import SAMPLE_CLASSES

    plain = tmp_path / "plain"
    plain.mkdir()
    for img in sorted((sample_root / "images").glob("*.png"))[:2]:
        shutil.copy(img, plain / img.name)
    assert window.open_folder(plain)
    assert window.session.project.classes.names != list(SAMPLE_CLASSES)
    _use_checkpoint(window, tiny_checkpoint)
    with qtbot.waitSignal(window.runs.segment_finished, timeout=60_000) as sig:
        window.command_actions["segment_all"].trigger()
    assert sig.args[0].startswith("segmented 2 image(s)"), sig.args
    project = Project.open(plain)  # as saved on disk
    assert project.classes.names == list(SAMPLE_CLASSES)
    assert project.counts()[ImageState.PREDICTED] == 2
    assert window.palette.list.count() == len(SAMPLE_CLASSES)
    doc = window.current_document()
    np.testing.assert_array_equal(doc.mask, project.read_label(project.entries[0]))


def test_switching_folders_mid_run_winds_the_run_up(window, qtbot, sample_root, tmp_path,
                                                    tiny_checkpoint, dialogs):
    import shutil

    other = Path(shutil.copytree(sample_root, tmp_path / "other"))
    assert window.open_folder(sample_root)
    _use_checkpoint(window, tiny_checkpoint)
    finished = []
    window.runs.segment_finished.connect(finished.append)
    window.command_actions["segment_all"].trigger()
    assert window.runs.segment.busy
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Yes   # "stop it?"
    assert window.open_folder(other)  # cancels and waits for the run
    assert not window.runs.segment.busy
    assert len(finished) == 1 and finished[0].startswith("cancelled")
    QtWidgets.QApplication.processEvents()  # the old run's late queued signals: no effect
    assert len(finished) == 1
    assert window.session.project.counts()[ImageState.PREDICTED] == 0
    assert not window.model_dock.cancel_button.isEnabled()


def test_fine_tune_from_a_checkpoint_with_other_classes(window, qtbot, sample_root, tmp_path,
                                                        dialogs):
    """A checkpoint with other classes cannot be the sample's active model, so ENet starts
    from the shipped CamVid model (the layers that fit, a fresh head), and says so."""
    assert window.open_folder(sample_root)
    assert window.model_dock.current_checkpoint() is None   # nothing fits the sample yet
    assert "shipped ENet" in window.finetune.start_note.text()
    assert "fresh head" in window.finetune.start_note.text()
    window.finetune.steps.setValue(3)
    window.finetune.batch.setValue(2)
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Yes   # start, and re-segment
    trained = []
    window.runs.train_finished.connect(trained.append)
    with qtbot.waitSignal(window.runs.segment_finished, timeout=120_000):
        window.finetune.start_button.click()
    assert trained and trained[0], window.finetune.status.text()
    log_text = "\n".join(window.finetune.run_log)
    assert "starting from the shipped ENet" in log_text
    assert "re-initialised" in log_text and "classes differ" in log_text, log_text
    assert "re-initialised" in window.finetune.status.toolTip()
    # Nothing was active: the new run is, the offered re-segmentation used it, and the
    # Segment buttons work now.
    assert window.model_dock.current_checkpoint().resolve() == Path(trained[0]).resolve()
    assert window.model_dock.segment_image_button.isEnabled()
    assert window.session.project.counts()[ImageState.UNLABELED] == 0
