"""The window as a demanding user found it (issue 19's last section), one test per item, each
as the user meets it."""

from __future__ import annotations

import pytest
from pyqtgraph.Qt import QtCore, QtTest, QtWidgets

from segstudio.core.formats import export_labels
from segstudio.core.project import Project


# 1 -------------------------------------------------------------------------------------
def test_1_a_path_typed_into_the_suggested_project_field_replaces_it_and_is_asked_for(
        make_window, qtbot, sample_root, tmp_path, dialogs):
    from segstudio.ui.dialogs.transfer import import_dialog

    w = make_window(sample_root)
    export_labels(sample_root, "cvat-mask", tmp_path / "task.zip")
    dialog = import_dialog(w)
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("cvat-mask"))
    dialog.source.setText(str(tmp_path / "task.zip"))
    dialog.source.editingFinished.emit()
    assert dialog.target.text() == str(tmp_path / "task-project")     # the suggestion
    typed = str(tmp_path / "mine" / "labels")
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is dialog, timeout=5000)
    QtTest.QTest.mouseClick(dialog.target, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.target.hasSelectedText(), timeout=3000)
    QtTest.QTest.keyClicks(dialog.target, typed)
    assert dialog.target.text() == typed                               # replaced, not appended
    # A folder that does not exist: asked first; No writes nothing and stays where it was.
    dialog.start_button.click()
    assert typed in dialogs.texts() and "does not exist" in dialogs.texts()
    assert not (tmp_path / "mine").exists() and not dialog.running
    assert w.session.project.root == sample_root.resolve()
    # Yes: the project is made where the user typed, and opened.
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Yes
    dialog.start_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30000)
    assert not dialog.error, dialog.error
    assert w.session.project.root == (tmp_path / "mine" / "labels").resolve()
    assert Project.open(tmp_path / "mine" / "labels").entries
    assert not (tmp_path / "task-project").exists()


def test_1_a_relative_project_path_is_refused_with_the_way_out(
        make_window, qtbot, sample_root, tmp_path, dialogs):
    from segstudio.ui.dialogs.transfer import import_dialog

    w = make_window(sample_root)
    dialog = import_dialog(w)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(tmp_path / "task.zip"))
    dialog.target.setText("relative/project")
    dialog.start_button.click()
    assert "full path" in dialog.result.toPlainText() and not dialogs.shown


# 2 -------------------------------------------------------------------------------------
def test_2_a_stopped_run_resumes_from_the_runs_menu_without_becoming_active(qtbot, tmp_path):
    from segstudio.engine.workflow.run_registry import ModelChoice
    from segstudio.ui.docks.model import ModelDock

    dock = ModelDock()
    qtbot.addWidget(dock)
    stopped, active = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    dock.set_choices([
        ModelChoice(stopped, "enet #2", "run", "enet", "cancelled", record={"name": "enet #2"},
                    resumable=True),
        ModelChoice(active, "enet #1", "run", "enet", active=True, record={"name": "enet #1"}),
    ])
    dock.runs_menu.aboutToShow.emit()
    resume = next(a.menu() for a in dock.runs_menu.actions() if a.text() == "Re&sume")
    assert [a.text() for a in resume.actions()] == ["enet #2"]   # only the resumable one
    asked, chosen = [], []
    dock.resume.connect(asked.append)
    dock.checkpoint_changed.connect(chosen.append)
    resume.actions()[0].trigger()
    assert asked == [{"name": "enet #2"}]
    assert not chosen and dock.current_checkpoint() == active    # the active model stays


# 3 -------------------------------------------------------------------------------------
def test_3_a_run_the_user_chose_after_the_verdict_no_longer_says_it_was_kept_inactive():
    from segstudio.engine.workflow.run_registry import describe_run

    record = {"status": "finished", "miou": 0.40, "baseline_miou": 0.45,
              "note": "not made active: val mIoU 40.0% is below the active model's 45.0% on "
                      "the same images; you can still choose it",
              "verdict": {"activated": False, "why": "val mIoU 40.0% is below the active "
                          "model's 45.0% on the same images; you can still choose it"}}
    assert "you can still choose it" in describe_run(record)
    chosen = describe_run(record, active=True)
    assert "you can still choose it" not in chosen and "not made active" not in chosen
    assert "active by your choice" in chosen and "below the active model's 45.0%" in chosen


def test_3_the_model_note_keeps_its_height_and_shows_the_rest_on_hover(
        make_window, sample_root):
    w = make_window(sample_root)
    dock = w.model_dock
    QtWidgets.QApplication.processEvents()
    heights = (dock.height(), w.palette.height(), dock.note.height())
    long = "val mIoU 40.0% (was 45.0% before); " + "not made active: below the active " * 8
    dock.note.setText(long)
    for _ in range(5):
        QtWidgets.QApplication.processEvents()
    assert (dock.height(), w.palette.height(), dock.note.height()) == heights
    shown = dock.note.shown_text()
    assert shown.count("\n") <= 1 and shown.endswith("…")
    assert dock.note.toolTip() == long and dock.note.text() == long


# 4 -------------------------------------------------------------------------------------
def test_4_the_hover_readout_reads_the_next_image_after_r(make_window, qtbot, sample_root):
    w = make_window(sample_root)
    first = w.current_key
    doc = w.current_document()
    scene = w.canvas.viewbox.mapViewToScene(QtCore.QPointF(5.5, 5.5))
    w.canvas._mouse_moved(scene)                   # the mouse rests on pixel (5, 5)
    before = w.cursor_label.text()
    assert before.startswith("x 5, y 5 · ")
    w.command_actions["review_and_next"].trigger()
    qtbot.waitUntil(lambda: w.current_key != first and w.current_document() is not None,
                    timeout=10000)
    new = w.current_document()
    assert new.mask[5, 5] != doc.mask[5, 5]        # a reviewed image, then an unlabeled one
    value = int(new.mask[5, 5])
    classes = w.session.project.classes
    name = (f"{value + 1} {classes.names[value]}" if value < classes.num_classes
            else classes.ignore_name)
    assert w.cursor_label.text() == f"x 5, y 5 · {name}"
    assert w.view.zoom_label.text().startswith("zoom ")


def test_4_the_zoom_readout_comes_back_in_the_next_folder(make_window, sample_root, tmp_path):
    import shutil

    w = make_window(sample_root)
    assert w.view.zoom_label.text().startswith("zoom ")
    other = shutil.copytree(sample_root, tmp_path / "other")   # same image sizes: same zoom
    assert w.open_folder(other)
    for _ in range(50):
        QtWidgets.QApplication.processEvents()
        if w.current_document() is not None:
            break
    assert w.view.zoom_label.text().startswith("zoom ")


def test_4_the_counts_say_edited_as_soon_as_the_title_does(make_window, sample_root):
    from segstudio.core.project import ImageState

    w = make_window(sample_root)
    unlabeled = next(e.key for e in w.session.entries
                     if w.session.state(e) is ImageState.UNLABELED)
    w.show_image(unlabeled)
    for _ in range(50):
        QtWidgets.QApplication.processEvents()
        if w.current_key == unlabeled and w.current_document() is not None:
            break
    assert "0 edited" in w.files.counts.text()
    w.command_actions["tool_brush"].trigger()
    w.tools.drag_start((10.5, 10.5), (11.5, 11.5))
    w.tools.drag_finish((12.5, 12.5))
    assert "(edited)" in w.windowTitle()              # from the first stroke, before a save
    assert "1 edited" in w.files.counts.text()


def test_4_a_long_status_message_is_elided_before_the_readout(make_window, sample_root):
    w = make_window(sample_root, size=(900, 700))
    scene = w.canvas.viewbox.mapViewToScene(QtCore.QPointF(5.5, 5.5))
    w.canvas._mouse_moved(scene)
    long = "imported 3 labels as reviewed from /a/very/long/path/" + "x" * 300
    w.notify.status(long)
    QtWidgets.QApplication.processEvents()
    bar = w.statusBar()
    assert bar.currentMessage() == long and bar.message.toolTip() == long
    assert bar.message.shown_text().endswith("…")
    message = bar.message.geometry()
    assert message.right() < w.cursor_label.geometry().left()      # its own space
    assert bar.message.fontMetrics().horizontalAdvance(bar.message.shown_text()) \
        <= message.width()
    bar.clearMessage()
    assert bar.currentMessage() == "" and bar.message.toolTip() == ""


# 5 -------------------------------------------------------------------------------------
def test_5_brush_size_is_kept_relative_to_the_image_diagonal():
    from segstudio.core.brush_size import pixel_size, relative_size

    fraction = relative_size(119, (4000, 6000))
    assert pixel_size(fraction, (360, 480)) == 10           # 119 * 600 / 7211
    assert pixel_size(fraction, (4000, 6000)) == 119
    assert pixel_size(fraction, (60000, 80000), hi=400) == 400    # within the slider
    assert pixel_size(1e-9, (10, 10)) == 1


def test_5_a_big_images_brush_becomes_as_big_on_a_small_one(make_window, qtbot, tmp_path):
    import numpy as np
    from PIL import Image

    from segstudio.core.brush_size import pixel_size, relative_size

    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(np.zeros((800, 1200, 3), np.uint8)).save(folder / "a_big.png")
    Image.fromarray(np.zeros((90, 120, 3), np.uint8)).save(folder / "b_small.png")
    w = make_window(folder)

    def show(key):
        w.show_image(key)
        qtbot.waitUntil(lambda: w.current_key == key and w.image_shape is not None,
                        timeout=10000)

    show("a_big.png")
    w.toolbar.brush_size.setValue(119)
    show("b_small.png")
    small = pixel_size(relative_size(119, (800, 1200)), (90, 120))
    assert w.toolbar.brush_size.value() == small == 12
    assert w.tools.radius == small / 2 and w.toolbar.size_label.text() == f"{small} px"
    show("a_big.png")
    assert w.toolbar.brush_size.value() == 119           # not 12 scaled back up with rounding
    # The next session starts with the same fraction of the picture.
    again = make_window(folder)
    qtbot.waitUntil(lambda: again.image_shape is not None, timeout=10000)
    assert again.toolbar.brush_size.value() == 119


# 6 -------------------------------------------------------------------------------------
def test_6_the_opacity_slider_shows_its_value(make_window, sample_root):
    w = make_window(sample_root)
    w.toolbar.opacity.setValue(60)
    assert w.toolbar.opacity_label.text().strip() == "60%"
    assert w.toolbar.opacity_label.isVisible()


# 7 -------------------------------------------------------------------------------------
def _images_only(sample_root, dest, n=2):
    import shutil

    dest.mkdir()
    for img in sorted((sample_root / "images").glob("*.png"))[:n]:
        shutil.copy(img, dest / img.name)
    return dest


def test_7_a_new_folder_shows_the_classes_segment_will_use(make_window, sample_root,
                                                           tmp_path):
    from segstudio.engine.workflow.run_registry import shipped_checkpoint

    if shipped_checkpoint() is None:
        pytest.skip("installed without the shipped model")
    w = make_window(_images_only(sample_root, tmp_path / "plain"))
    names = [w.palette.list.item(i).text() for i in range(w.palette.list.count())]
    assert len(names) == 11 and "Sky" in names[0]           # the active model's, not bg/obj
    assert w.palette.origin.isVisible()
    assert w.palette.origin.text().startswith("From the model enet_camvid")
    assert "Choosing another model replaces them" in w.palette.origin.toolTip()
    # Opening a folder writes nothing into it: the classes are in memory until a label
    # needs them.
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == \
        sorted(p.name for p in (sample_root / "images").glob("*.png"))[:2]
    # Labelled: the classes stay the project's, saved before the label; the note says so.
    w.command_actions["tool_brush"].trigger()
    w.tools.drag_start((3.5, 3.5), (4.5, 4.5))
    w.tools.drag_finish((5.5, 5.5))
    assert w.session.save_all(wait=True)
    assert Project.open(tmp_path / "plain").classes.names == w.session.project.classes.names
    QtWidgets.QApplication.processEvents()
    assert w.palette.origin.text().startswith("Classes from enet_camvid")
    # The user's own (an added class): nothing to say.
    w.session.project.classes.rename(0, "my sky")     # as Rename… does
    w.palette.classes_edited.emit()
    assert not w.palette.origin.isVisible()


def test_7_without_an_active_model_the_placeholder_is_called_one(make_window, sample_root,
                                                                 tmp_path):
    from segstudio.engine.workflow import set_active

    folder = _images_only(sample_root, tmp_path / "plain")
    project = Project.open(folder)
    set_active(project, None)             # the user chose no model
    w = make_window(folder)
    assert w.palette.list.count() == 2                     # background, object
    assert w.palette.origin.text().startswith("Placeholder classes")
    assert "no classes of its own yet" in w.palette.origin.toolTip()


def test_7_a_project_with_its_own_classes_says_nothing(make_window, sample_root):
    w = make_window(sample_root)
    assert not w.palette.origin.isVisible() and w.palette.origin.text() == ""
