"""Each part of the window on its own, without the window: the image loader, the notifier,
the run controllers with their docks, the session's saving, the task worker."""

from __future__ import annotations

import pytest
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.project import ImageState, Project
from segstudio.ui.docks.finetune import FineTuneDock
from segstudio.ui.docks.model import ModelDock
from segstudio.ui.image_loader import ImageLoader
from segstudio.ui.notifier import Notifier
from segstudio.ui.runs import Runs
from segstudio.ui.session import Session
from segstudio.ui.workers import TaskWorker, WorkerRunner


@pytest.fixture
def session(qtbot, sample_root):
    s = Session(Project.open(sample_root))
    yield s
    s.close()


def test_image_loader_emits_what_it_loaded(qtbot, session, monkeypatch):
    from segstudio.ui import image_loader

    loader = ImageLoader()
    got = []
    loader.loaded.connect(got.append)
    first = session.entries[0]
    loader.request(session, first)               # small: at once
    assert got[0].key == first.key and got[0].rgb.shape[:2] == got[0].document.shape
    assert got[0].document is session.documents[first.key]
    # Big images go to the background; only the last wanted one is delivered.
    monkeypatch.setattr(image_loader, "BACKGROUND_LOAD_PIXELS", 0)
    started = []
    loader.started.connect(lambda key, w, h: started.append(key))
    loader.request(session, session.entries[1])
    loader.request(session, session.entries[2])
    qtbot.waitUntil(lambda: len(got) == 2, timeout=10_000)
    assert got[1].key == session.entries[2].key and started[-1] == session.entries[2].key
    # An unreadable image: the reason, no document.
    bad = session.project.images_dir / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n nope")
    session.project.refresh()
    loader.request(session, session.project.entry("broken.png"))
    qtbot.waitUntil(lambda: len(got) == 3, timeout=10_000)
    assert got[2].error and "broken.png" in got[2].error and got[2].document is None
    loader.shutdown()


def test_notifier_speaks_through_the_status_bar_and_dialogs(qtbot, dialogs):
    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    notify = Notifier(window)
    notify.status("hello")
    assert window.statusBar().currentMessage() == "hello"
    notify.error("bad thing", dialog=True)
    assert "bad thing" in window.statusBar().currentMessage()
    assert ("warning", "bad thing") in dialogs.shown
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.Yes
    assert notify.ask("Title", "Go?")
    dialogs.answer = QtWidgets.QMessageBox.StandardButton.No
    assert not notify.ask("Title", "Go?")


def test_runs_from_its_docks_and_a_notifier(qtbot, session, tiny_checkpoint, dialogs):
    """Runs is built from two docks and a notifier: no window needed to segment."""
    host = QtWidgets.QMainWindow()
    qtbot.addWidget(host)
    model_dock, finetune_dock = ModelDock(host), FineTuneDock(host)
    runs = Runs(model_dock, finetune_dock, Notifier(host), current_entry=lambda: None,
                parent=host)
    runs.set_session(session)
    runs.project_opened()
    assert model_dock.arch.currentText() == "enet"
    assert model_dock.current_checkpoint() is None        # nothing fits the sample yet
    runs.choose_checkpoint(str(tiny_checkpoint))
    assert model_dock.current_checkpoint() == tiny_checkpoint
    with qtbot.waitSignal(runs.segment_finished, timeout=60_000) as sig:
        model_dock.segment_all.emit()
    assert sig.args[0].startswith("segmented 2 image(s)")
    assert session.project.counts()[ImageState.PREDICTED] == 2
    runs.cancel_all(wait=True)


def test_session_saves_a_persons_edit_as_edited_with_its_pixels(qtbot, session):
    entry = next(e for e in session.entries
                 if session.state(e) is ImageState.UNLABELED)
    doc = session.document(entry, session.project.read_image(entry).shape[:2])
    doc.brush((10.5, 10.5), (20.5, 10.5), 3, 2)
    assert session.is_dirty(entry.key)
    assert session.save(entry, wait=True)
    assert session.project.state(entry) is ImageState.EDITED
    assert session.project.touched(entry)[10, 15]
    # Taking a reviewed mark back returns it to EDITED (it has touched pixels).
    shape = doc.shape
    session.set_reviewed(entry, True, shape)
    session.flush()
    assert session.project.state(entry) is ImageState.REVIEWED
    session.set_reviewed(entry, False, shape)
    session.flush()
    assert session.project.state(entry) is ImageState.EDITED


def test_task_worker_runs_a_generator_and_returns_its_value(qtbot):
    def task(emit, cancel):
        emit("first")
        yield "second"
        return 42

    worker = TaskWorker(lambda emit, cancel: task(emit, cancel))
    items, done = [], []
    worker.item.connect(items.append)
    worker.done.connect(done.append)
    runner = WorkerRunner()
    with qtbot.waitSignal(worker.finished, timeout=10_000) as sig:
        runner.start(worker)
    assert sig.args == [False, ""]
    qtbot.waitUntil(lambda: done == [42], timeout=5_000)
    assert items == ["first", "second"]
    runner.wait()


def test_task_worker_reports_errors_in_one_line(qtbot):
    from segstudio.core.errors import ProjectError

    def task(emit, cancel):
        raise ProjectError("/x: cannot do that")

    worker = TaskWorker(task)
    runner = WorkerRunner()
    with qtbot.waitSignal(worker.finished, timeout=10_000) as sig:
        runner.start(worker)
    assert sig.args == [False, "/x: cannot do that"]
    runner.wait()


def test_model_dock_lists_choices_with_the_active_one_marked(qtbot, tmp_path):
    from segstudio.engine.workflow.run_registry import ModelChoice

    dock = ModelDock()
    qtbot.addWidget(dock)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    dock.set_choices([
        ModelChoice(a, "enet #2", "run", "enet", "cancelled", 0.4, note="cancelled at 3",
                    record={"name": "enet #2"}, resumable=True),
        ModelChoice(b, "enet #1", "run", "enet", active=True, record={"name": "enet #1"}),
    ])
    assert dock.current_checkpoint() == b
    assert dock.checkpoint.currentText().startswith("●")
    dock.checkpoint.setCurrentIndex(dock.checkpoint.findData(str(a)))
    assert dock.note.text() == "cancelled at 3"
    dock.runs_menu.aboutToShow.emit()
    assert [a.text() for a in dock.runs_menu.actions()] == ["&Rename", "&Delete", "Re&sume"]
    picked = []
    dock.checkpoint_changed.connect(picked.append)
    dock.checkpoint.activated.emit(dock.checkpoint.findData(str(a)))
    assert picked == [str(a)]


def test_window_state_restores_only_what_fits(qtbot, tmp_path, monkeypatch):
    """Settings written as they change come back; a saved geometry that does not fit the
    screen (or cannot be read) gives way to the default, sized from the screen."""
    from segstudio.ui.main_window import MainWindow
    from segstudio.ui.window_state import screen_scale

    monkeypatch.setenv("SEGSTUDIO_SETTINGS", str(tmp_path / "s.ini"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.toolbar.brush_size.setValue(33)          # saved as it changes, no clean exit needed
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.toolbar.brush_size.value() == 33
    key = f"window/{screen_scale(again):g}x/geometry"
    again.settings.set(key, QtCore.QByteArray(b"not a geometry"))
    again.settings.sync()
    third = MainWindow()
    qtbot.addWidget(third)
    screen = third.screen().availableGeometry()
    assert 0 < third.width() <= screen.width() and 0 < third.height() <= screen.height()


def test_a_read_only_folder_says_so_once_and_keeps_the_edits(qtbot, sample_root):
    project = Project.open(sample_root)
    session = Session(project)
    session.read_only = True            # as for a dataset whose folder has no write bit
    messages = []
    session.save_failed.connect(messages.append)
    entry = session.entries[0]
    doc = session.document(entry, project.read_image(entry).shape[:2])
    before = project.read_label(entry).copy()
    doc.brush((5.5, 5.5), (9.5, 5.5), 2, 3)
    for _ in range(3):                   # autosave, switching images, Ctrl+S
        assert not session.save(entry)
    assert len(messages) == 1 and "read-only" in messages[0]
    assert session.is_dirty(entry.key)
    assert (project.read_label(entry) == before).all()
    session.close()


def test_eta_text_never_says_zero_seconds_while_work_goes_on():
    from segstudio.ui.docks.model import format_eta

    assert format_eta(-1) == "estimating…"
    assert format_eta(0.0) == format_eta(0.4) == "finishing…"
    assert format_eta(1.4) == "1 s left" and format_eta(75) == "1 min 15 s left"


def test_leave_guard_asks_about_runs_then_unsaved_labels(qtbot, session, monkeypatch):
    from types import SimpleNamespace

    from segstudio.ui.leave_guard import LeaveGuard

    asked: list[str] = []
    answers = {"value": False}
    notify = SimpleNamespace(ask=lambda title, text, default_yes=True:
                             asked.append(text) or answers["value"])
    where = "a fine-tune is at epoch 3 of 10"
    runs = SimpleNamespace(finetune=SimpleNamespace(busy=True, describe=lambda: where),
                           segment=SimpleNamespace(busy=False))
    parent = QtWidgets.QWidget()
    qtbot.addWidget(parent)
    guard = LeaveGuard(parent, runs, notify, lambda: session)
    assert not guard.may_leave("Quit")
    assert asked[-1].startswith("A fine-tune is at epoch 3 of 10. Stop it?")
    runs.finetune.busy, runs.segment.busy = False, True
    assert not guard.running("Quit") and "segmentation is running" in asked[-1]
    answers["value"] = True
    assert guard.running("Quit")
    runs.segment.busy = False
    # Unsaved labels: Cancel keeps the project, Save writes them, nothing dirty asks nothing.
    doc = session.document(session.entries[0], (64, 96))
    doc.brush((5, 5), (9, 5), 2, 1)
    box = QtWidgets.QMessageBox
    monkeypatch.setattr(box, "question", staticmethod(lambda *a, **k: box.StandardButton.Cancel))
    assert not guard.may_leave("Quit") and session.dirty_keys()
    monkeypatch.setattr(box, "question", staticmethod(lambda *a, **k: box.StandardButton.Save))
    assert guard.may_leave("Quit") and not session.dirty_keys()
    monkeypatch.setattr(box, "question", staticmethod(lambda *a, **k: pytest.fail("asked")))
    assert guard.may_leave("Quit")


def test_commands_see_the_window_only_through_its_protocol():
    """The commands get their parts by name; of the window they use only `WindowView`'s
    members (no reaching through `self.w` for a dock or the canvas)."""
    import ast
    import inspect

    from segstudio.ui import commands
    from segstudio.ui.window_parts import WindowView

    allowed = {n for n in vars(WindowView) if not n.startswith("_")} \
        | set(WindowView.__annotations__)
    used = set()
    for node in ast.walk(ast.parse(inspect.getsource(commands))):
        # self.w.X, w.X (w = self.w) and c.w.X in the table
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "w":
            used.add(node.attr)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "w":
            used.add(node.attr)
    assert used, "the check found no use of the window at all: it no longer looks right"
    assert used <= allowed, f"commands reach into the window for {sorted(used - allowed)}"


def test_no_part_gets_a_callback_after_it_was_built():
    """Collaborators are passed in when a part is built: no module of the window assigns a
    function to another object's attribute afterwards (`x.part.callback = lambda: ...`),
    which hid a part's dependencies behind placeholder lambdas."""
    import ast
    from pathlib import Path

    import segstudio.ui

    found = []
    for path in Path(segstudio.ui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                nested = isinstance(target, ast.Attribute) \
                    and isinstance(target.value, ast.Attribute)
                if nested and (isinstance(node.value, ast.Lambda) or (isinstance(
                        node.value, ast.Attribute) and target.attr in (
                        "current_entry", "offer_resegment", "dialog_parent",
                        "busy_elsewhere", "show_tool"))):
                    found.append(f"{path.name}:{node.lineno} {ast.unparse(target)}")
    assert not found, found
