"""Window behaviour around the loop: filters and sorting, keys, bad files, bad checkpoints,
closing with unsaved work, the shortcut list, settings persistence."""

from __future__ import annotations

import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.project import ImageState
from segstudio.ui.commands import COMMANDS, shortcut_rows
from segstudio.ui.main_window import MainWindow


@pytest.fixture
def window(window, sample_root):
    """The conftest's window with the sample project open."""
    assert window.open_folder(sample_root)
    return window


def test_filter_counts_and_worst_first(window):
    files = window.files
    assert "5 images: 2 unlabeled, 0 predicted, 0 edited, 3 reviewed" in files.counts.text()
    files.filter.setCurrentIndex(files.filter.findData(ImageState.REVIEWED))
    assert len(files.ordered_keys()) == 3
    files.filter.setCurrentIndex(0)
    project = window.session.project
    entries = project.entries
    for entry, conf in zip(entries, (0.9, 0.2, 0.6, None, 0.4), strict=True):
        if conf is not None:
            project.set_confidence(entry, conf)
    window.command_actions["sort_confidence"].trigger()      # a toggle
    assert files.sort_button.isChecked()
    order = files.ordered_keys()
    # The sample's images 0-2 are reviewed: they need no review and come last (in the
    # project's order), whatever their confidence; of the rest, no confidence comes last.
    assert order == [entries[4].key, entries[3].key, entries[0].key, entries[1].key,
                     entries[2].key]
    window.command_actions["sort_confidence"].trigger()
    assert files.ordered_keys() == [e.key for e in entries]  # back to the project's order
    files.name_filter.setText("_02")
    assert files.ordered_keys() == [e.key for e in entries if "_02" in e.key]
    assert "shown" in files.counts.text()


def test_review_queue_keeps_its_order(window, qtbot):
    """Worst first, then R (mark reviewed and next) through the list: the order stays put,
    every image ends up reviewed, and the confidence stays on each row."""
    project = window.session.project
    session = window.session
    for entry, conf in zip(project.entries, (0.9, 0.2, 0.6, 0.3, 0.4), strict=True):
        project.set_confidence(entry, conf)
    for e in project.entries:        # none reviewed: the queue covers all five
        if project.state(e) is ImageState.REVIEWED:
            project.set_state(e, ImageState.PREDICTED)
    window.files.set_session(session)
    window.files.sort_by_confidence(True)
    order = window.files.ordered_keys()
    window.show_image(order[0])
    for i in range(len(order)):
        assert window.current_key == order[i]
        window.command_actions["review_and_next"].trigger()
        assert window.files.ordered_keys() == order          # no reshuffle
        assert session.state(session.entry(order[i])) is ImageState.REVIEWED  # at once
    qtbot.waitUntil(lambda: not session.pending, timeout=10_000)
    assert all(project.state(e) is ImageState.REVIEWED for e in project.entries)
    assert [project.confidence(project.entry(k)) for k in order] == [0.2, 0.3, 0.4, 0.6, 0.9]
    # Un-reviewing keeps the confidence and the row; "next unreviewed" finds it.
    window.show_image(order[0])
    window.command_actions["mark_reviewed"].trigger()     # toggles the mark off
    qtbot.waitUntil(lambda: not session.pending, timeout=10_000)
    assert project.state(project.entry(order[0])) is not ImageState.REVIEWED
    assert project.confidence(project.entry(order[0])) == 0.2
    window.show_image(order[3])
    window.command_actions["next_unreviewed"].trigger()
    assert window.current_key == order[3]                 # none after it
    window.show_image(order[0])
    assert window.files.ordered_keys() == order


def test_worst_first_again_puts_the_reviewed_images_last(window, qtbot):
    """Reviewing keeps the order (above); sorting again afterwards is the workflow's queue:
    what was just reviewed (the least confident) goes to the end, not back to the top."""
    project, session = window.session.project, window.session
    for entry, conf in zip(project.entries, (0.9, 0.2, 0.6, 0.3, 0.4), strict=True):
        project.set_confidence(entry, conf)
        if project.state(entry) is ImageState.REVIEWED:
            project.set_state(entry, ImageState.PREDICTED)
    window.files.set_session(session)
    window.files.sort_by_confidence(True)
    order = window.files.ordered_keys()
    window.show_image(order[0])
    window.command_actions["review_and_next"].trigger()    # marked at once, saved later
    window.files.sort_by_confidence(False)
    window.files.sort_by_confidence(True)
    assert window.files.ordered_keys() == [*order[1:], order[0]]
    qtbot.waitUntil(lambda: not session.pending, timeout=10_000)


def test_list_selection_follows_paging(window):
    keys = window.files.ordered_keys()
    window.command_actions["next_image"].trigger()
    window.command_actions["next_image"].trigger()
    rows = window.files.view.selectionModel().selectedRows()
    assert [r.data(QtCore.Qt.ItemDataRole.UserRole) for r in rows] == [keys[2]]


def test_keys_pick_classes_tools_and_brush_size(window, qtbot):
    canvas = window.canvas.view.viewport()
    canvas.setFocus()
    qtbot.keyClick(canvas, QtCore.Qt.Key.Key_3)
    assert window.tools.value == 2
    size = window.toolbar.brush_size.value()
    qtbot.keyClick(canvas, QtCore.Qt.Key.Key_BracketRight)
    assert window.toolbar.brush_size.value() > size
    assert window.tools.radius == window.toolbar.brush_size.value() / 2
    qtbot.keyClick(canvas, QtCore.Qt.Key.Key_F)
    assert window.tools.tool.value == "fill"
    assert window.canvas._brush_radius is None  # no brush outline for fill
    first = window.current_key
    qtbot.keyClick(canvas, QtCore.Qt.Key.Key_PageDown)
    assert window.current_key != first


def test_a_folder_link_out_of_the_project_is_said_and_stays_said(qtbot, sample_root, tmp_path,
                                                                 caplog):
    """A link to /usr inside images/ once listed thousands of system images; it is not
    followed, and the window says so (log, status bar) and keeps saying it (Files counts)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (sample_root / "images" / "escape").symlink_to(outside, target_is_directory=True)
    w = MainWindow()
    qtbot.addWidget(w)
    with caplog.at_level("WARNING"):
        assert w.open_folder(sample_root)
    assert any("folder link leads outside the project" in r.getMessage() for r in caplog.records)
    assert "1 folder(s) left out" in w.files.counts.text()
    assert "escape" in w.files.counts.toolTip() and "not followed" in w.files.counts.toolTip()
    assert not any(e.key.startswith("escape/") for e in w.session.entries)


def test_unreadable_image_is_marked_and_explained(qtbot, sample_root, dialogs):
    (sample_root / "images" / "scene_00_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.open_folder(sample_root)
    # The list selects it, and the canvas says why instead of showing another image.
    assert w.current_key == "scene_00_broken.png"
    assert w.stack.currentWidget() is w.canvas_message
    assert "scene_00_broken.png" in w.canvas_message.text()
    assert "scene_00_broken.png" in w.statusBar().currentMessage()
    assert "scene_00_broken.png" in w.windowTitle()
    model = w.files.model
    row = model.row_of("scene_00_broken.png")
    tip = model.data(model.index(row, 0), QtCore.Qt.ItemDataRole.ToolTipRole)
    assert "⚠" in tip and "scene_00_broken.png" in tip
    assert model.data(model.index(row, 1)) == "unreadable"
    assert "1 unreadable" in w.files.counts.text()
    w.show_image(w.session.entries[1].key)
    assert w.current_document() is not None and w.stack.currentWidget() is w.canvas


def test_broken_files_are_marked_when_the_folder_opens_not_only_once_visited(qtbot,
                                                                             sample_root):
    """A background header scan marks every file that cannot be an image (empty, not an
    image, over the pixel limit) as soon as the folder opens; a file that becomes readable
    loses its mark when shown."""
    images = sample_root / "images"
    (images / "zz_empty.png").write_bytes(b"")
    (images / "zz_text.png").write_text("not an image")
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.open_folder(sample_root)
    assert w.current_key == w.session.entries[0].key    # the first image is shown, as before
    qtbot.waitUntil(lambda: {"zz_empty.png", "zz_text.png"} <= set(w.files.model.broken),
                    timeout=10_000)
    assert "2 unreadable" in w.files.counts.text()
    assert "zz_text.png" in w.files.model.broken["zz_text.png"]
    # Repaired meanwhile: shown, and no longer marked.
    good = next(p for p in images.iterdir() if p.name.startswith("scene"))
    (images / "zz_empty.png").write_bytes(good.read_bytes())
    w.show_image("zz_empty.png")
    assert w.stack.currentWidget() is w.canvas
    assert "zz_empty.png" not in w.files.model.broken and "1 unreadable" in w.files.counts.text()


def test_checkpoint_with_other_classes_is_refused(window, qtbot, tmp_path, dialogs):
    from segstudio.core.classes import ClassSet
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model

    classes = ClassSet(names=["a", "b", "c"], colors=[(1, 2, 3), (4, 5, 6), (7, 8, 9)])
    model = build_model("enet", 3)
    path = save_checkpoint(
        model, tmp_path / "other", CheckpointMeta("enet", classes, model.info.mean, model.info.std)
    )
    window.runs.choose_checkpoint(str(path))
    assert "classes differ" in dialogs.texts()
    assert window.model_dock.current_checkpoint() != path     # not made active
    assert window.session.project.counts()[ImageState.PREDICTED] == 0


def test_close_with_unsaved_work_asks(window, dialogs):
    doc = window.current_document()
    window.palette.select((int(doc.mask[3, 3]) + 1) % 4)
    window.tools.click((3.5, 3.5), False)
    assert doc.dirty
    buttons = QtWidgets.QMessageBox.StandardButton
    dialogs.answer = buttons.Cancel
    assert not window.close()
    assert window.isVisible() and window.session.is_dirty(window.current_key)
    dialogs.answer = buttons.Save
    assert window.close()
    assert not window.session.is_dirty(window.current_key)
    project = window.session.project
    saved = project.read_label(project.entry(window.current_key))
    np.testing.assert_array_equal(saved, doc.mask)


def test_settings_persist_between_windows(qtbot, sample_root):
    w = MainWindow()
    qtbot.addWidget(w)
    # A first start lists no recent folders, and shows no empty list box for them.
    assert w.welcome.recent.isHidden() and w.welcome.recent_label.isHidden()
    w.open_folder(sample_root)
    w.toolbar.opacity.setValue(30)
    w.toolbar.brush_size.setValue(40)
    w.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.toolbar.opacity.value() == 30
    assert again.toolbar.brush_size.value() == 40
    assert again.settings.recent_folders()[0] == sample_root.resolve()
    assert again.welcome.recent.item(0).text() == str(sample_root.resolve())
    assert not again.welcome.recent.isHidden()
    again.recent_menu.aboutToShow.emit()
    again.recent_menu.actions()[0].trigger()  # File > Open recent
    assert again.session is not None and again.session.project.root == sample_root.resolve()


def test_every_shortcut_is_listed_for_help():
    rows = dict(shortcut_rows())
    for cmd in COMMANDS:
        if cmd.keys:
            assert rows[cmd.text.replace("&", "")] == ", ".join(cmd.keys)
    assert "Pick class 1-9" in rows


def test_unexpected_errors_go_to_a_dialog(qtbot, monkeypatch):
    import sys

    from segstudio.ui.app import install_excepthook

    w = MainWindow()
    qtbot.addWidget(w)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook(w)
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    boxes = [b for b in w.findChildren(QtWidgets.QMessageBox) if b.isVisible()]
    assert len(boxes) == 1
    assert "RuntimeError: boom in a slot" in boxes[0].text()
    assert "Traceback" in boxes[0].detailedText()
    boxes[0].close()


def test_try_a_sample_project_from_the_welcome_page(qtbot, tmp_path, monkeypatch):
    from segstudio.core.sample import SAMPLE_CLASSES

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.stack.currentWidget() is w.welcome
    w.welcome.sample_button.click()
    assert w.session is not None
    project = w.session.project
    assert project.root.is_relative_to(tmp_path / "data")
    assert project.classes.names == list(SAMPLE_CLASSES)
    counts = project.counts()
    assert counts[ImageState.REVIEWED] == 12 and counts[ImageState.UNLABELED] == 4
    assert w.stack.currentWidget() is w.canvas
    assert w.finetune.steps.value() == 100  # the sample's own fine-tune settings
    # Nothing fits the sample yet: Segment is off, with the reason; Fine-tune is the first
    # click that works.
    assert w.model_dock.current_checkpoint() is None
    assert not w.model_dock.segment_image_button.isEnabled()
    assert w.finetune.start_button.isEnabled()


def test_big_images_load_in_the_background(window, qtbot, monkeypatch):
    from segstudio.ui import image_loader

    monkeypatch.setattr(image_loader, "BACKGROUND_LOAD_PIXELS", 0)  # treat every image as big
    first = window.current_key
    keys = [e.key for e in window.session.entries]
    window.show_image(keys[1])
    window.show_image(keys[2])  # paged on before the first load finished: only this one shows
    qtbot.waitUntil(lambda: window.current_key == keys[2], timeout=10_000)
    assert first != keys[2]
    doc = window.current_document()
    assert window.canvas.label_item.array is doc.mask
    assert window.tools.document is doc
    assert window.files.ordered_keys()[window.files.view.currentIndex().row()] == keys[2]


def test_try_a_sample_project_lands_in_the_users_data_folder(qtbot, tmp_path, monkeypatch):
    """~/.local/share/segstudio/sample-project, not .../segstudio/segstudio/... (seen in the
    status bar of a real window)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.command_actions["sample_project"].trigger()
    root = w.session.project.root
    assert root == (tmp_path / "data" / "segstudio" / "sample-project").resolve()
    assert len(w.session.entries) == 16
