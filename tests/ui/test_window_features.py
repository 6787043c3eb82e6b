"""The controls users of labelme, CVAT, napari and Cellpose expect (issue 10): keys for classes
beyond 9, hide/solo a class, the eyedropper, brightness/contrast/gamma (display only), the zoom
readout, the name filter, dropping a folder, renaming and deleting runs; and adding a class to
a CamVid-layout project (defect 4) with the user's consent."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.core.project import Project
from segstudio.ui.commands import shortcut_rows
from segstudio.ui.image_adjust import Adjustment, auto_adjustment
from segstudio.ui.main_window import MainWindow

YES = QtWidgets.QMessageBox.StandardButton.Yes
NO = QtWidgets.QMessageBox.StandardButton.No


@pytest.fixture
def open_window(qtbot):
    made = []

    def make(folder) -> MainWindow:
        w = MainWindow()
        qtbot.addWidget(w)
        w.resize(1152, 900)
        w.show()
        w.activateWindow()      # shortcuts need the active window
        qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=5000)
        assert w.open_folder(folder)
        w.canvas.view.viewport().setFocus()
        made.append(w)
        return w

    yield make
    for w in made:
        w.runs.cancel_all(wait=True)


def _view_pos(window, x: float, y: float) -> QtCore.QPoint:
    """Where image point (x, y) is on the canvas viewport."""
    scene = window.canvas.viewbox.mapViewToScene(QtCore.QPointF(x, y))
    return window.canvas.view.mapFromScene(scene)


# -- keys for classes beyond 9 --------------------------------------------------------------
def test_shift_digits_pick_classes_10_to_18_and_are_shown(open_window, camvid_like_root,
                                                         qtbot):
    w = open_window(camvid_like_root)
    canvas = w.canvas.view.viewport()
    qtbot.keyClick(canvas, QtCore.Qt.Key.Key_1, QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert w.palette.current() == 9 and w.tools.value == 9        # Pedestrian
    qtbot.keyClick(canvas, QtCore.Qt.Key.Key_2, QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert w.palette.current() == 10                               # Bicyclist
    qtbot.keyClick(canvas, QtCore.Qt.Key.Key_3, QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert w.palette.current() == 10 and "no class 12" in w.statusBar().currentMessage()
    assert w.palette.list.item(9).text().startswith("⇧1") and "Pedestrian" in \
        w.palette.list.item(9).text()
    assert w.palette.list.item(10).text().startswith("⇧2")
    rows = dict(shortcut_rows())
    assert rows["Pick class 10-18"] == "Shift+1 … Shift+9"


def test_shift_digit_works_where_the_platform_sends_the_shifted_character(
        open_window, camvid_like_root, monkeypatch):
    """X11 and Wayland send Shift+1 as "!" (US layout): the key's position decides."""
    w = open_window(camvid_like_root)
    monkeypatch.setattr(QtGui.QGuiApplication, "platformName", staticmethod(lambda: "xcb"))
    shift = QtCore.Qt.KeyboardModifier.ShiftModifier
    event = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, QtCore.Qt.Key.Key_Exclam, shift,
                            10, 0x21, 0, "!")      # evdev code 10 is the "1" key
    QtWidgets.QApplication.sendEvent(w.files.view, event)   # focus in the list: still a key
    assert w.palette.current() == 9
    w.files.name_filter.setFocus()
    typed = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, QtCore.Qt.Key.Key_At, shift,
                            11, 0x40, 0, "@")
    QtWidgets.QApplication.sendEvent(w.files.name_filter, typed)   # typing text: a character
    assert w.palette.current() == 9 and w.files.name_filter.text() == "@"


# -- hide / solo ----------------------------------------------------------------------------
def test_hide_and_solo_change_the_overlay_only(open_window, sample_root):
    w = open_window(sample_root)
    doc = w.current_document()
    before = doc.mask.copy()
    table = w.canvas.label_item._qimage.colorTable
    alpha = [QtGui.qAlpha(c) for c in table()[:4]]
    assert alpha == [255, 255, 255, 255]
    w.palette.select(1)
    w.command_actions["hide_class"].trigger()                     # V
    assert [QtGui.qAlpha(c) for c in table()[:4]] == [255, 0, 255, 255]
    assert w.palette.list.item(1).checkState() == QtCore.Qt.CheckState.Unchecked
    w.palette.select(2)
    w.command_actions["solo_class"].trigger()                      # S: only class 3
    assert [QtGui.qAlpha(c) for c in table()[:4]] == [0, 0, 255, 0]
    w.command_actions["solo_class"].trigger()                      # S again: all
    assert [QtGui.qAlpha(c) for c in table()[:4]] == [255, 255, 255, 255]
    w.palette.list.item(3).setCheckState(QtCore.Qt.CheckState.Unchecked)   # the box
    assert w.canvas.hidden_classes() == frozenset({3})
    w.command_actions["contour_view"].trigger()                    # contours follow it
    assert QtGui.qAlpha(w.canvas.contour_item._qimage.colorTable()[3]) == 0
    w.command_actions["show_all_classes"].trigger()                # Shift+V
    assert w.canvas.hidden_classes() == frozenset()
    np.testing.assert_array_equal(doc.mask, before)               # display only
    assert not doc.dirty


# -- eyedropper -----------------------------------------------------------------------------
def test_eyedropper_tool_and_ctrl_click_pick_the_class_under_the_cursor(open_window,
                                                                       sample_root, qtbot):
    w = open_window(sample_root)
    doc = w.current_document()
    y, x = np.argwhere(doc.mask == 2)[0]
    w.command_actions["tool_fill"].trigger()
    w.palette.select(0)
    qtbot.keyClick(w.canvas.view.viewport(), QtCore.Qt.Key.Key_I)
    assert w.tools.tool.value == "pick"
    qtbot.mouseClick(w.canvas.view.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=_view_pos(w, x + 0.5, y + 0.5))
    assert w.palette.current() == 2 and w.tools.value == 2
    assert w.tools.tool.value == "fill" and w.command_actions["tool_fill"].isChecked()
    assert not doc.dirty                                   # picking paints nothing
    # Ctrl+click with a painting tool picks too, without painting.
    y, x = np.argwhere(doc.mask == 1)[0]
    w.command_actions["tool_brush"].trigger()
    qtbot.mouseClick(w.canvas.view.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     QtCore.Qt.KeyboardModifier.ControlModifier,
                     pos=_view_pos(w, x + 0.5, y + 0.5))
    assert w.palette.current() == 1 and not doc.dirty
    assert "picked class 2" in w.statusBar().currentMessage()


# -- brightness / contrast / gamma ---------------------------------------------------------
def _render(canvas) -> np.ndarray:
    img = QtGui.QImage(canvas.view.viewport().size(), QtGui.QImage.Format.Format_RGB888)
    painter = QtGui.QPainter(img)
    canvas.view.render(painter)
    painter.end()
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(
        img.height(), img.bytesPerLine())[:, : img.width() * 3].reshape(
        img.height(), img.width(), 3).copy()


def test_brightness_is_display_only_and_cheap_on_a_big_image(qtbot, shown_canvas):
    canvas = shown_canvas(800, 600)
    rgb = np.full((6000, 8000, 3), 40, np.uint8)       # a dark 8000x6000 image
    canvas.set_image(rgb)
    before = _render(canvas)
    adj = Adjustment(brightness=0.3, contrast=1.5, gamma=1.5)
    start = time.perf_counter()
    canvas.set_image_lut(adj.lut())
    after = _render(canvas)                            # the repaint of the whole view
    took = time.perf_counter() - start
    centre = (slice(250, 350), slice(350, 450))
    assert after[centre].mean() > before[centre].mean() + 60
    assert canvas.image_item.array is rgb and (rgb == 40).all()   # the data never changes
    assert took < 1.0, took                            # a table, not a pass over 48 Mpx
    canvas.one_to_one()                                # 1:1: only the part on screen
    _render(canvas)
    start = time.perf_counter()
    canvas.set_image_lut(Adjustment(gamma=2.0).lut())
    _render(canvas)
    assert time.perf_counter() - start < 0.5
    canvas.set_image_lut(None)
    canvas.fit()
    np.testing.assert_array_equal(_render(canvas)[centre], before[centre])


def test_adjust_panel_auto_and_reset(open_window, sample_root):
    w = open_window(sample_root)
    panel = w.toolbar.adjust
    dark = (np.random.default_rng(0).integers(10, 60, (120, 160, 3))).astype(np.uint8)
    panel.image = dark
    panel.auto_button.click()
    adj = panel.adjustment()
    lut = adj.lut()
    assert adj.contrast > 2 and lut[10] < 40 and lut[60] > 200
    assert w.canvas.image_item.lut is not None and "•" in w.toolbar.adjust_button.text()
    panel.reset_button.click()
    assert panel.adjustment().identity and w.canvas.image_item.lut is None
    assert w.toolbar.adjust_button.text() == "Image"
    assert auto_adjustment(np.full((10, 10, 3), 7, np.uint8)).identity   # flat: nothing


# -- zoom readout, name filter --------------------------------------------------------------
def test_zoom_readout_follows_the_view(open_window, sample_root):
    w = open_window(sample_root)
    w.command_actions["zoom_1to1"].trigger()
    assert w.view.zoom_label.text() == "zoom 100%"
    w.command_actions["zoom_in"].trigger()
    assert w.view.zoom_label.text() == "zoom 125%"
    w.command_actions["zoom_fit"].trigger()
    assert w.view.zoom_label.text() == f"zoom {w.canvas.zoom_factor() * 100:.0f}%"


def test_name_filter_narrows_the_list_and_paging(open_window, sample_root):
    w = open_window(sample_root)
    w.files.name_filter.setText("_0")
    keys = w.files.ordered_keys()
    assert keys and all("_0" in k for k in keys)
    w.files.name_filter.setText("nothing-like-this")
    assert w.files.ordered_keys() == [] and "0 shown" in w.files.counts.text()


# -- dropping a folder ----------------------------------------------------------------------
def _drop(target: QtWidgets.QWidget, path) -> QtGui.QDropEvent:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    pos = QtCore.QPointF(target.rect().center())
    action = QtCore.Qt.DropAction.CopyAction
    # QDragEnterEvent takes a QPoint (PySide6 6.12 also took the QPointF QDropEvent takes).
    enter = QtGui.QDragEnterEvent(pos.toPoint(), action, mime,
                                  QtCore.Qt.MouseButton.LeftButton,
                                  QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QtGui.QDropEvent(pos, action, mime, QtCore.Qt.MouseButton.LeftButton,
                            QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(target, drop)
    return drop


def test_dropping_a_folder_opens_it(qtbot, sample_root, camvid_like_root):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    _drop(w.welcome, sample_root)                        # on the welcome page
    assert w.session is not None and w.session.project.root == sample_root.resolve()
    _drop(w.canvas.view.viewport(), camvid_like_root)    # on the image
    assert w.session.project.root == camvid_like_root.resolve()
    image = next((camvid_like_root / "images").iterdir())
    _drop(w, image)                                      # a file: says what to do
    assert w.session.project.root == camvid_like_root.resolve()
    assert "drop the folder" in w.statusBar().currentMessage()


# -- runs: rename, delete -------------------------------------------------------------------
def _fake_run(project: Project, name: str) -> str:
    folder = project.checkpoints_dir / f"enet-{name}"
    folder.mkdir(parents=True)
    (folder / "best.safetensors").write_bytes(b"x")
    project.register_checkpoint(folder / "best.safetensors", "enet", {"miou": 0.5},
                                name=name, status="finished", miou=0.5)
    return str(folder / "best.safetensors")


def test_runs_are_renamed_and_deleted_from_the_model_panel(open_window, sample_root,
                                                          tiny_checkpoint, dialogs,
                                                          monkeypatch):
    from segstudio.engine.workflow import set_active

    project = Project.open(sample_root)
    keep, gone = _fake_run(project, "first"), _fake_run(project, "second")
    set_active(project, tiny_checkpoint)
    active = _fake_run(project, "active")
    set_active(project, active)
    w = open_window(sample_root)
    dock = w.model_dock
    dock.runs_menu.aboutToShow.emit()
    rename, delete = (a.menu() for a in dock.runs_menu.actions()[:2])
    deletes = {a.text(): a for a in delete.actions()}
    assert not deletes["active (active model)"].isEnabled()        # refused, with why
    # Rename asks for the name; the list shows it at once.
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText",
                        staticmethod(lambda *a, **k: ("night scenes", True)))
    next(a for a in rename.actions() if a.text() == "first…").trigger()
    labels = [dock.checkpoint.itemText(i) for i in range(dock.checkpoint.count())]
    assert any(t.startswith("night scenes · ") for t in labels)
    assert Project.open(sample_root).checkpoints[0]["name"] == "night scenes"
    # Delete asks first; "No" keeps everything.
    dialogs.answer = NO
    deletes["second…"].trigger()
    assert "cannot be undone" in dialogs.shown[-1][1]
    assert os.path.exists(gone)
    dialogs.answer = YES
    deletes["second…"].trigger()
    assert not os.path.exists(os.path.dirname(gone)) and os.path.exists(keep)
    names = [r["name"] for r in Project.open(sample_root).checkpoints]
    assert names == ["night scenes", "active"]
    assert dock.current_checkpoint() == Project.open(sample_root).checkpoint_path(
        "checkpoints/enet-active/best.safetensors")
    # Deleting the active model through the workflow is refused, and said.
    w.runs.delete_run(next(c.record for c in dock.runs() if c.active))
    assert "cannot be deleted" in dialogs.texts()
    assert os.path.exists(active)


# -- adding a class (defect 4) --------------------------------------------------------------
def _label_values(root) -> dict[str, set[int]]:
    return {p.name: set(np.unique(np.asarray(Image.open(p))).tolist())
            for p in sorted((root / "labels").glob("*.png"))}


def test_adding_a_class_to_a_camvid_layout_asks_then_moves_void(open_window, camvid_like_root,
                                                                dialogs, qtbot):
    w = open_window(camvid_like_root)
    before = _label_values(camvid_like_root)
    raw = {p.name: p.read_bytes() for p in (camvid_like_root / "labels").glob("*.png")}
    # "No": nothing changes, and nothing was written.
    dialogs.answer = NO
    w.palette.add_requested.emit("Bus")
    question = dialogs.shown[-1][1]
    assert "value 11" in question and "255" in question and "classes.json" in question
    assert w.palette.list.count() == 11
    assert {p.name: p.read_bytes() for p in (camvid_like_root / "labels").glob("*.png")} == raw
    # "Yes": void moves to 255 in every label, then the class is added and selected.
    dialogs.answer = YES
    with qtbot.waitSignal(w.classes.finished, timeout=30_000) as sig:
        w.palette.add_requested.emit("Bus")
    assert sig.args == [""]
    after = _label_values(camvid_like_root)
    for name, values in before.items():
        assert after[name] == {255 if v == 11 else v for v in values}
    project = Project.open(camvid_like_root)
    assert project.classes.ignore_index == 255 and project.classes.names[11] == "Bus"
    assert w.palette.list.count() == 12 and w.palette.current() == 11
    assert w.palette.list.item(11).text().startswith("⇧3")
    doc = w.current_document()
    assert doc is not None and doc.ignore_index == 255 and 11 not in np.unique(doc.mask)
    # Painting the new class and saving writes 11 as Bus now.
    w.tools.click((3.5, 3.5), False)
    assert doc.mask[3, 3] == 11
    w.session.save_all(wait=True)
    saved = project.read_label(project.entry(w.current_key))
    assert saved[3, 3] == 11
    # And a plain add afterwards needs no question.
    shown = len(dialogs.shown)
    w.palette.add_requested.emit("Tram")
    assert len(dialogs.shown) == shown and w.palette.list.count() == 13


def test_adding_a_class_with_a_read_only_labels_folder_is_refused_with_a_way_out(
        open_window, camvid_like_root, dialogs):
    labels = camvid_like_root / "labels"
    os.chmod(labels, 0o555)
    try:
        w = open_window(camvid_like_root)
        w.palette.add_requested.emit("Bus")
        text = dialogs.texts()
        assert "read-only" in text and "copy the project folder" in text
        assert w.palette.list.count() == 11
    finally:
        os.chmod(labels, 0o755)


def test_adding_a_class_where_void_is_255_is_immediate(open_window, sample_root, dialogs):
    w = open_window(sample_root)
    n = w.palette.list.count()
    w.palette.add_requested.emit("tree")
    assert w.palette.list.count() == n + 1 and w.palette.current() == n
    assert not dialogs.shown
    assert Project.open(sample_root).classes.names[-1] == "tree"
