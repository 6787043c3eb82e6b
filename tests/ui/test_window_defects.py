"""The window's numbered defects of issue 10, each as a user meets it (4, adding a class in the
CamVid layout, is in test_window_features.py; 2's scale factors also in test_layout.py)."""

from __future__ import annotations

import logging
import shutil
from types import SimpleNamespace

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.project import ImageState
from segstudio.ui import window_state
from segstudio.ui.main_window import MainWindow
from segstudio.ui.settings import Settings


def _plain_copy(sample_root, dest, n=2):
    dest.mkdir()
    for img in sorted((sample_root / "images").glob("*.png"))[:n]:
        shutil.copy(img, dest / img.name)
    return dest


# 1 -------------------------------------------------------------------------------------
def test_1_advanced_settings_scroll_inside_the_panel_instead_of_growing_the_window(
        make_window, sample_root):
    w = make_window(sample_root)
    QtWidgets.QApplication.processEvents()
    before = w.size()
    w.finetune.advanced.setChecked(True)
    for _ in range(5):
        QtWidgets.QApplication.processEvents()
    assert w.finetune._advanced_body.isVisible()
    assert w.size() == before                  # the status bar stays where it was
    w.finetune.advanced.setChecked(False)
    QtWidgets.QApplication.processEvents()
    assert w.size() == before


# 2 -------------------------------------------------------------------------------------
def test_2_layouts_are_kept_per_scale_factor_and_restored_only_where_they_fit(
        make_window, sample_root, monkeypatch):
    monkeypatch.setattr(window_state, "screen_scale", lambda _w: 1.5)
    at_15 = make_window(sample_root)
    at_15.resizeDocks([at_15.files], [500], QtCore.Qt.Orientation.Horizontal)
    at_15.state.save_layout()
    at_15.close()
    settings = Settings()
    assert settings.get("window/1.5x/state", None) is not None
    assert settings.get("window/1x/state", None) is None
    # Another scale: the 1.5 layout is not used; the default one is usable.
    monkeypatch.setattr(window_state, "screen_scale", lambda _w: 1.0)
    at_10 = make_window(sample_root)
    QtWidgets.QApplication.processEvents()
    assert at_10.state.docks_usable()
    assert at_10.files.width() < 400
    at_10.close()
    # A geometry bigger than the screen is not restored.
    settings.set("window/1x/geometry", _huge_geometry())
    settings.sync()
    again = make_window(size=None)          # as restored
    screen = again.screen().availableGeometry()
    assert again.width() <= screen.width() and again.height() <= screen.height()
    assert again.width() < 5000


def _huge_geometry():
    w = QtWidgets.QMainWindow()
    w.setGeometry(0, 0, 5000, 4000)
    data = w.saveGeometry()
    w.deleteLater()
    return data


def test_2_panels_menu_shows_hides_and_rearranges(make_window, sample_root):
    w = make_window()
    assert not w.panels_menu.isEnabled()          # nothing to show on the welcome page
    w.open_folder(sample_root)
    assert w.panels_menu.isEnabled()
    toggle = w.files.toggleViewAction()
    toggle.trigger()
    assert not w.files.isVisible()
    w.panels_menu.actions()[-1].trigger()         # default layout for this screen
    toggle.trigger()
    assert w.files.isVisible() and w.state.docks_usable()


# 3 -------------------------------------------------------------------------------------
def test_3_the_files_list_selects_only_the_image_on_screen_after_paging(make_window,
                                                                        sample_root, qtbot):
    w = make_window(sample_root)
    canvas = w.canvas.view.viewport()
    canvas.setFocus()
    for key in (QtCore.Qt.Key.Key_N, QtCore.Qt.Key.Key_N, QtCore.Qt.Key.Key_PageDown,
                QtCore.Qt.Key.Key_PageUp):
        qtbot.keyClick(canvas, key)
        rows = w.files.view.selectionModel().selectedRows()
        assert [r.data(QtCore.Qt.ItemDataRole.UserRole) for r in rows] == [w.current_key]
    assert w.current_key == w.files.ordered_keys()[2]


# 5 -------------------------------------------------------------------------------------
def test_5_paint_only_over_starts_off_in_every_project_and_class_set(make_window,
                                                                     sample_root, tmp_path):
    w = make_window(sample_root)
    w.palette.protect_class.setCurrentIndex(2)
    w.palette.protect_box.setChecked(True)
    assert w.current_document().protect == 2
    plain = _plain_copy(sample_root, tmp_path / "plain")
    assert w.open_folder(plain)
    assert not w.palette.protect_box.isChecked()
    assert w.current_document().protect is None
    # Classes adopted from a checkpoint: still off, never silently another class.
    w.palette.protect_box.setChecked(True)
    assert w.current_document().protect == 0
    other = w.session.project.classes.copy()
    other.names[0] = "sky"
    w.session.adopt_classes(other)
    w.runs.segment.classes_adopted.emit()
    assert not w.palette.protect_box.isChecked()
    assert w.palette.list.item(0).text().endswith("sky")
    assert w.current_document().protect is None


# 6 -------------------------------------------------------------------------------------
def test_6_hover_readout_numbers_from_1_follows_edits_and_clears_between_projects(
        make_window, sample_root, tmp_path):
    w = make_window(sample_root)
    doc = w.current_document()
    value = int(doc.mask[5, 5])
    names = w.session.project.classes.names
    scene = w.canvas.viewbox.mapViewToScene(QtCore.QPointF(5.5, 5.5))
    w.canvas._mouse_moved(scene)                   # the mouse rests on pixel (5, 5)
    assert w.cursor_label.text() == f"x 5, y 5 · {value + 1} {names[value]}"
    new = (value + 1) % len(names)
    w.palette.select(new)
    w.command_actions["tool_fill"].trigger()
    w.tools.click((5.5, 5.5), False)               # fill under a still mouse
    assert w.cursor_label.text() == f"x 5, y 5 · {new + 1} {names[new]}"
    w.command_actions["undo"].trigger()
    assert w.cursor_label.text().endswith(f"{value + 1} {names[value]}")
    assert w.open_folder(_plain_copy(sample_root, tmp_path / "plain"))
    assert w.cursor_label.text() == ""


# 7 -------------------------------------------------------------------------------------
def test_7_fine_tune_status_and_curves_do_not_follow_into_the_next_project(make_window,
                                                                           sample_root,
                                                                           tmp_path):
    w = make_window(sample_root)
    ft = w.finetune
    ft.show_event(SimpleNamespace(kind="step", loss=0.9, epoch=1, epochs=3, step=1, steps=9,
                                  eta_s=10.0))
    ft.show_event(SimpleNamespace(kind="epoch", metrics={"miou": 0.4}, epoch=1, epochs=3,
                                  eta_s=5.0))
    assert ft._loss and ft._miou and ft.status.text()
    assert w.open_folder(_plain_copy(sample_root, tmp_path / "plain"))
    assert ft.status.text() == "" and ft._loss == [] and ft._miou == []
    assert len(ft.loss_curve.xData or []) == 0 and len(ft.miou_curve.xData or []) == 0


# 8 -------------------------------------------------------------------------------------
def test_8_expected_errors_are_logged_as_one_line_warnings(make_window, sample_root,
                                                           tmp_path, caplog, dialogs):
    from segstudio.core.classes import ClassSet
    from segstudio.engine.checkpoint import CheckpointError, CheckpointMeta, save_checkpoint
    from segstudio.models import build_model
    from segstudio.ui.workers import TaskWorker

    w = make_window(sample_root)
    # The sample starts where its first obvious click works: Fine-tune, not Segment.
    assert w.model_dock.current_checkpoint() is None
    assert not w.model_dock.segment_image_button.isEnabled()
    assert w.finetune.start_button.isEnabled()
    classes = ClassSet(["a", "b", "c"], [(1, 2, 3), (4, 5, 6), (7, 8, 9)])
    model = build_model("enet", 3)
    path = save_checkpoint(model, tmp_path / "other",
                           CheckpointMeta("enet", classes, model.info.mean, model.info.std))
    caplog.set_level(logging.INFO)
    w.runs.choose_checkpoint(str(path))          # classes differ: a message, not a bug
    worker = TaskWorker(lambda emit, cancel: (_ for _ in ()).throw(
        CheckpointError(path, "classes differ")))
    worker.run()                                  # a worker meeting the same, on its thread
    assert "classes differ" in dialogs.texts()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text and all(r.exc_info is None for r in caplog.records)
    assert any(r.levelno == logging.WARNING and "classes differ" in r.getMessage()
               for r in caplog.records)


# 9 -------------------------------------------------------------------------------------
def test_9_title_plot_menus_welcome_keys_and_worst_first(make_window, sample_root, qtbot):
    w = make_window()
    edit = next(m for m in w.menuBar().findChildren(QtWidgets.QMenu)
                if m.title() == "&Edit")
    assert edit.actions() and not any(a.isEnabled() for a in edit.actions())
    # Keys pressed on the welcome page do nothing, now or later.
    for key in (QtCore.Qt.Key.Key_3, QtCore.Qt.Key.Key_F, QtCore.Qt.Key.Key_N):
        qtbot.keyClick(w, key)
    assert w.open_folder(sample_root)
    assert w.tools.value == 0 and w.tools.tool.value == "brush"
    assert w.current_key == w.session.entries[0].key
    assert all(a.isEnabled() for a in edit.actions() if a.text() not in ("&Undo", "&Redo"))
    # One modified mark in the title, whatever the state.
    w.tools.click((3.5, 3.5), False)
    title = w.windowTitle()
    assert title.count("[*]") == 1 and title.replace("[*]", "").count("*") == 0
    assert w.isWindowModified() and "(reviewed)" in title
    # One mIoU point: a 0..1 epoch axis with integer ticks, not -6..8.
    w.finetune.show_event(SimpleNamespace(kind="epoch", metrics={"miou": 0.3}, epoch=0,
                                          epochs=5, eta_s=None))
    x0, x1 = w.finetune.miou_plot.getViewBox().viewRange()[0]
    assert -0.2 < x0 <= 0 and 1 <= x1 < 1.2
    ticks = w.finetune.miou_plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["0", "1"]
    # The loss plot too (found on a real window: step 0 alone drew -400..400, x0.001), and
    # a long run gets round ticks.
    w.finetune.show_event(SimpleNamespace(kind="step", loss=0.5, epoch=1, epochs=5, step=1,
                                          steps=20, eta_s=None))
    x0, x1 = w.finetune.loss_plot.getViewBox().viewRange()[0]
    assert -0.2 < x0 <= 0 and 1 <= x1 < 1.2
    for _ in range(299):
        w.finetune.show_event(SimpleNamespace(kind="step", loss=0.4, epoch=1, epochs=5,
                                              step=1, steps=20, eta_s=None))
    ticks = w.finetune.loss_plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["0", "50", "100", "150", "200", "250"]
    # "Worst first" is a toggle, in the menu and on the panel.
    action = w.command_actions["sort_confidence"]
    assert action.isCheckable()
    action.trigger()
    assert w.files.sort_button.isChecked()
    action.trigger()
    assert not w.files.sort_button.isChecked()


# 10 ------------------------------------------------------------------------------------
def test_10_settings_are_written_as_they_change(make_window, sample_root, qtbot):
    w = make_window(sample_root)
    w.toolbar.brush_size.setValue(37)
    w.toolbar.opacity.setValue(21)
    # A crash now: another reader of the file already sees them.
    fresh = Settings()
    assert fresh.get("tools/brush", 0, int) == 37
    assert fresh.get("view/opacity", 0, int) == 21
    w.resize(1000, 700)
    key = f"window/{window_state.screen_scale(w):g}x/state"
    qtbot.waitUntil(lambda: Settings().get(key, None) is not None,
                    timeout=5 * window_state.LAYOUT_SAVE_MS)
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.toolbar.brush_size.value() == 37 and again.toolbar.opacity.value() == 21
    assert w.session.project.counts()[ImageState.REVIEWED] == 3
