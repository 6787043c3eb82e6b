"""The window as a demanding user found it (issue 19's last section), one test per item, each
as the user meets it."""

from __future__ import annotations

import pytest
from pyqtgraph.Qt import QtCore, QtTest, QtWidgets

from segstudio.core.formats import export_labels
from segstudio.core.project import Project
from segstudio.ui.main_window import MainWindow


@pytest.fixture
def make_window(qtbot):
    made = []

    def make(folder=None, size=(1152, 900)) -> MainWindow:
        w = MainWindow()
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        w.activateWindow()     # shortcuts need the active window
        qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=5000)
        if folder is not None:
            assert w.open_folder(folder)
        made.append(w)
        return w

    yield make
    for w in made:
        w.runs.cancel_all(wait=True)


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
