"""Deleting a class or merging one into another, from the Classes panel.

The rule and the rewrite are core.class_remap's (the CLI's `segstudio classes` runs the same).
It rewrites the user's label files, so it is never done silently: the question says what
changes (which pixels become what, how many files, that models trained on the old classes no
longer fit, that the open images' undo steps go) and defaults to No. The open images are saved
first and dropped after (their masks hold the old values); the rewrite runs on a worker with
progress. Ctrl+Z right after it (the image on screen has no undo step of its own) takes the
last change back in this window, as `segstudio classes --undo` does, while no label changed.
"""

from __future__ import annotations

from collections.abc import Callable

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.class_remap import RemapPlan
from segstudio.ui.notifier import Notifier
from segstudio.ui.workers import TaskWorker, WorkerRunner


class ClassRemapper(QtCore.QObject):
    """`classes_replaced(index)` after the project's classes changed (the window shows the
    classes and the image again; `index` is the class to select, or -1)."""

    classes_replaced = QtCore.Signal(int)

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
        self._plan: RemapPlan | None = None
        self._select = -1
        self._undo_armed = False     # a change of this window that Ctrl+Z may take back

    def set_session(self, session) -> None:
        self.session = session
        self._undo_armed = False

    @property
    def can_undo(self) -> bool:
        """The last class change was this window's and can still be taken back (its record
        is there; core.class_undo refuses it if a label changed since)."""
        from segstudio.core.class_undo import record_path

        return (self._undo_armed and self.session is not None and not self.busy
                and record_path(self.session.project).is_file())

    def undo_last(self) -> bool:
        """Ctrl+Z after a delete or merge: its classes and label files come back."""
        from segstudio.core.class_remap import undo_last_remap
        from segstudio.core.errors import SegstudioError

        if not self.can_undo:
            return False
        if self.busy_elsewhere():
            self.notify.error("Cannot undo the class change while a segmentation or fine-tune "
                              "is running: wait for it or cancel it", dialog=True)
            return False
        if self.session.dirty_keys() and not self.session.save_all(wait=True):
            self.notify.error("a label could not be saved; the class change stays", dialog=True)
            return False
        try:
            what = undo_last_remap(self.session.project)
        except SegstudioError as exc:
            self._undo_armed = False
            self.notify.error(str(exc), dialog=True)
            return False
        self._undo_armed = False
        self.session.forget_documents()
        self.notify.status(f"undone: {what}; classes now "
                           f"{', '.join(self.session.project.classes.names)}", 15000)
        self.classes_replaced.emit(-1)
        return True

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def project_opened(self) -> None:
        """Finish a class change a crash interrupted (its labels read wrong until it is)."""
        from segstudio.core.class_remap import PENDING_KEY, finish_pending_remap
        from segstudio.core.errors import SegstudioError

        project = self.session.project
        if project.read_only or not project.settings.get(PENDING_KEY):
            return
        try:
            finish_pending_remap(project)
        except SegstudioError as exc:
            self.notify.error(str(exc), dialog=True)
            return
        self.session.forget_documents()
        self.classes_replaced.emit(-1)

    # -- the two operations -------------------------------------------------------------
    def delete(self, index: int) -> bool:
        from segstudio.core.class_remap import plan_delete

        names = self.session.project.classes.names if self.session else []
        if not 0 <= index < len(names):
            return False
        return self._offer(lambda p: plan_delete(p, names[index]),
                           f"Its pixels become void (“{self.session.project.classes.ignore_name}”"
                           ", as the eraser paints), in every label file.", -1)

    def merge(self, source: int, target: int) -> bool:
        from segstudio.core.class_remap import plan_merge

        names = self.session.project.classes.names if self.session else []
        if not (0 <= source < len(names) and 0 <= target < len(names)):
            return False
        # The target's index after the source is gone, to select it afterwards.
        select = target - (source < target)
        return self._offer(lambda p: plan_merge(p, names[source], names[target]),
                           f"Pixels of “{names[source]}” become “{names[target]}” in every "
                           f"label file, then “{names[source]}” is removed.", select)

    def _offer(self, make_plan, effect: str, select: int) -> bool:
        from segstudio.core.errors import SegstudioError

        if self.session is None or self.busy:
            return False
        project = self.session.project
        try:
            plan = make_plan(project)
        except SegstudioError as exc:
            self.notify.error(str(exc), dialog=True)
            return False
        what = plan.what[0].upper() + plan.what[1:]
        if plan.blocked:
            self.notify.error(plan.blocked, dialog=True)
            return False
        if self.busy_elsewhere():
            self.notify.error(f"Cannot {plan.what} while a segmentation or fine-tune is running "
                              "(it reads the label files): wait for it or cancel it",
                              dialog=True)
            return False
        question = "\n\n".join([
            f"{what}? {effect} The classes after it move up one place (keys 1-9 follow).",
            f"{len(plan.files)} label file(s) in {plan.labels_dir} are checked first and "
            "rewritten where they hold these pixels; nothing changes if one cannot be read. "
            "The dataset's classes.json, if any, is left as it is.",
            "Ctrl+Z right after takes it back (while no label changes); the open images' undo "
            "steps are dropped, and models trained on the current classes no longer fit this "
            "project (fine-tune one after)."])
        if not self.notify.ask(what, question, default_yes=False):
            self.notify.status(f"not done ({plan.what}); the label files are as they were")
            return False
        if self.session.dirty_keys() and not self.session.save_all(wait=True):
            self.notify.error(f"a label could not be saved; did not {plan.what}", dialog=True)
            return False
        self._start(plan, select)
        return True

    def _start(self, plan: RemapPlan, select: int) -> None:
        from segstudio.core.class_remap import apply_remap

        project = self.session.project
        self._plan, self._select, self._before = plan, select, project.classes

        def task(emit, cancel):
            return apply_remap(project, plan, progress=emit, cancel=cancel)

        worker = TaskWorker(task, "class change")
        worker.item.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        dialog = QtWidgets.QProgressDialog(f"Checking the label files in {plan.labels_dir}…",
                                           "Cancel", 0, max(len(plan.files), 1),
                                           self.dialog_parent)
        dialog.setWindowTitle(plan.what[0].upper() + plan.what[1:])
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
            dialog.setCancelButton(None)   # recorded: it must finish
            dialog.setLabelText("Replacing the label files…")
        dialog.setMaximum(max(event.total, 1))
        dialog.setValue(event.done)

    @QtCore.Slot(bool, str)
    def _on_finished(self, _cancelled: bool, error: str) -> None:
        self.runner.release(self.sender())
        if self._progress is not None:
            self._progress.reset()
            self._progress.deleteLater()
            self._progress = None
        session, plan = self.session, self._plan
        if session is None or plan is None:
            return
        changed = session.project.classes is not self._before
        if changed:
            session.forget_documents()
        if error:
            self.notify.error(error, dialog=True)
        elif not changed:
            self.notify.status(f"cancelled: nothing was changed ({plan.what})")
        else:
            self._undo_armed = True
            self.notify.status(f"done: {plan.what}; classes now "
                               f"{', '.join(session.project.classes.names)} (Ctrl+Z takes it "
                               "back)", 15000)
        if changed:
            self.classes_replaced.emit(self._select)
