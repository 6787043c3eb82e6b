"""Adding a class from the Classes panel, including where void is in the way.

Most class sets keep void at 255 and a class is simply appended. CamVid-style sets keep void
right after the last class (11 for 11 classes); there a new class needs void moved to 255 in
the label files (core.void_index). That rewrites the user's files, so it is never done
silently: the user is told what will change (how many files, where, that classes.json stays
as it is, that other tools must then read 255 as void) and asked; a read-only folder is
refused with the way out. The move runs on a worker with progress; the open images' documents
are saved first and dropped after (their masks and undo steps hold the old void value).
"""

from __future__ import annotations

from collections.abc import Callable

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.void_index import VoidMovePlan, pending_void_move, plan_void_move
from segstudio.ui.notifier import Notifier
from segstudio.ui.workers import TaskWorker, WorkerRunner


class ClassAdder(QtCore.QObject):
    """`classes_replaced(index)` after the project's classes object changed (void moved; the
    window re-shows the classes and the image; `index` is the new class or -1);
    `added(index)` after a plain append; `finished(error)` when a move ends ('' on success)."""

    classes_replaced = QtCore.Signal(int)
    added = QtCore.Signal(int)
    finished = QtCore.Signal(str)

    def __init__(self, notifier: Notifier, *, busy_elsewhere: Callable[[], bool],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.notify = notifier
        self.dialog_parent = parent
        self.session = None
        # Another part rewriting the labels (a run, the other class edit): wait for it.
        self.busy_elsewhere = busy_elsewhere
        self.runner = WorkerRunner(self)
        self._progress: QtWidgets.QProgressDialog | None = None
        self._pending_name = ""

    def set_session(self, session) -> None:
        self.session = session

    @property
    def busy(self) -> bool:
        return self.runner.busy

    # -- adding --------------------------------------------------------------------------
    def add(self, name: str) -> bool:
        """Add class `name`: appended at once, or after moving void with the user's consent."""
        from segstudio.core.errors import SegstudioError

        if self.session is None or self.busy:
            return False
        project = self.session.project
        plan = plan_void_move(project)
        if plan is None:
            try:
                index = project.classes.add(name)
            except SegstudioError as exc:
                self.notify.error(str(exc))
                return False
            self.session.persist()
            self.added.emit(index)
            return True
        return self._offer_move(plan, name)

    def project_opened(self) -> None:
        """A move that was interrupted (a crash, a full disk): offer to finish it now, since
        the label files not yet rewritten cannot be read until it is."""
        project = self.session.project
        pending = pending_void_move(project)
        if pending is None:
            return
        plan = plan_void_move(project)
        if plan.blocked:
            self.notify.error(plan.blocked, dialog=True)
            return
        if self.notify.ask("Finish moving void",
                           f"Moving void from {plan.old} to {plan.new} in {plan.labels_dir} was "
                           "interrupted; label files still holding "
                           f"{plan.old} cannot be opened until it is finished. Finish it now?"):
            self._start(plan, "")

    def _offer_move(self, plan: VoidMovePlan, name: str) -> bool:
        if plan.blocked:
            self.notify.error(f"Cannot add {name!r}: {plan.blocked}", dialog=True)
            return False
        if self.busy_elsewhere():
            self.notify.error(f"Cannot add {name!r} while a segmentation or fine-tune is "
                              "running (it reads the label files): wait for it or cancel it",
                              dialog=True)
            return False
        if not self.notify.ask("Make room for a new class", move_question(self.session.project,
                                                                         plan, name),
                               default_yes=False):
            self.notify.status(f"{name!r} not added; the label files are as they were")
            return False
        if self.session.dirty_keys() and not self.session.save_all(wait=True):
            self.notify.error("a label could not be saved; nothing was moved", dialog=True)
            return False
        self._start(plan, name)
        return True

    def _start(self, plan: VoidMovePlan, name: str) -> None:
        from segstudio.core.void_index import move_void

        project = self.session.project
        self._pending_name = name
        self._plan = plan
        self._before = project.classes

        def task(emit, cancel):
            return move_void(project, plan, progress=emit, cancel=cancel)

        worker = TaskWorker(task, "void move")
        worker.item.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.finished.connect(self._on_finished)
        self._rewritten = None
        dialog = QtWidgets.QProgressDialog(
            f"Checking the label files in {plan.labels_dir}…", "Cancel", 0,
            max(len(plan.files), 1), self.dialog_parent)
        dialog.setWindowTitle("Moving void")
        dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(self.runner.cancel)
        self._progress = dialog
        self.runner.start(worker)

    @QtCore.Slot(object)
    def _on_progress(self, event) -> None:
        dialog = self._progress
        if dialog is None:
            return
        if event.stage == "rewrite":
            dialog.setCancelButton(None)   # past the point of no return: it must finish
            dialog.setLabelText(f"Rewriting label files with void at {self._plan.new}…")
        dialog.setMaximum(max(event.total, 1))
        dialog.setValue(event.done)

    @QtCore.Slot(object)
    def _on_done(self, rewritten) -> None:
        self._rewritten = rewritten

    @QtCore.Slot(bool, str)
    def _on_finished(self, _cancelled: bool, error: str) -> None:
        self.runner.release(self.sender())
        if self._progress is not None:
            self._progress.reset()
            self._progress.deleteLater()
            self._progress = None
        session = self.session
        name, self._pending_name = self._pending_name, ""
        if session is None:
            return
        # The classes object is replaced once the move is recorded (and a resumed move
        # rewrites files under open documents): the documents hold the old void value.
        changed = session.project.classes is not self._before or self._plan.resuming
        if changed:
            session.forget_documents()
        if error:
            self.notify.error(error, dialog=True)
            if changed:
                self.classes_replaced.emit(-1)
            self.finished.emit(error)
            return
        if not changed:
            self.notify.status("cancelled: nothing was changed")
            self.finished.emit("")
            return
        index = -1
        if name:
            index = session.project.classes.add(name)
            session.persist()
        self.notify.status(f"void moved from {self._plan.old} to {self._plan.new} in "
                           f"{self._rewritten} label file(s)"
                           + (f"; class {index + 1} {name!r} added" if name else ""), 15000)
        self.classes_replaced.emit(index)
        self.finished.emit("")


def move_question(project, plan: VoidMovePlan, name: str) -> str:
    """What moving void changes, in words, for the user's consent."""
    classes = project.classes
    k = classes.num_classes
    classes_json = next((p for p in (project.root / "classes.json",
                                     project.root.parent / "classes.json") if p.is_file()), None)
    lines = [
        f"This project stores void (“{classes.ignore_name}”) as value {plan.old} in its label "
        f"files, right after its last class, so class {k + 1} “{name}” would need that value.",
        "",
        f"To add it, segstudio moves void to {plan.new} in the label files in "
        f"{plan.labels_dir} ({len(plan.files)} file(s) checked first; those with void pixels "
        "are rewritten, each replaced atomically and in the format it has). Nothing changes "
        "if one of them cannot be read.",
        "",
        "The classes and the images' states stay as they are. Other tools reading these "
        f"files must then take {plan.new} as void.",
    ]
    if classes_json is not None:
        lines.append(f"{classes_json} is left as it is (it still says void is {plan.old}); "
                     "segstudio.json records the project's classes.")
    lines += ["The open images' undo history is cleared, and models trained on the current "
              f"classes cannot segment with “{name}”: fine-tune one once some is labelled.", "",
              f"Move void to {plan.new} and add “{name}”?"]
    return "\n".join(lines)
