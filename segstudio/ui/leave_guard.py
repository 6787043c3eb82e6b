"""The questions before the open project is left (another folder, quitting, importing into it):
a run in progress and labels not yet saved. One place, so every way out asks the same."""

from __future__ import annotations

from collections.abc import Callable

from pyqtgraph.Qt import QtWidgets


class LeaveGuard:
    """`parent` hosts the dialogs; `runs` has `finetune` and `segment` (each `busy`, and the
    fine-tune's `describe()`); `session()` is the open session or None."""

    def __init__(self, parent: QtWidgets.QWidget, runs, notify, session: Callable[[], object]):
        self.parent = parent
        self.runs = runs
        self.notify = notify
        self.session = session

    def may_leave(self, what: str) -> bool:
        """Both questions, in order; False when the user keeps the project open."""
        return self.running(what) and self.unsaved()

    def running(self, what: str) -> bool:
        """A fine-tune or segmentation in progress: ask before stopping it (a stopped
        fine-tune keeps its last finished epoch and can be resumed)."""
        if self.runs.finetune.busy:
            where = self.runs.finetune.describe()   # "a fine-tune is at epoch 3 of 10"
            return self.notify.ask(
                f"{what}?", f"{where[:1].upper()}{where[1:]}. Stop it? Its last finished "
                "epoch is kept, and the run can be resumed from the Model panel.",
                default_yes=False)
        if self.runs.segment.busy:
            return self.notify.ask(
                f"{what}?", "A segmentation is running. Stop it? The images done so far are "
                "kept.", default_yes=False)
        return True

    def unsaved(self) -> bool:
        """Save or discard unsaved labels; False when the user cancels."""
        session = self.session()
        if session is None or not session.dirty_keys():
            return True
        n = len(session.dirty_keys())
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self.parent, "Unsaved labels", f"{n} label(s) have unsaved changes. Save them?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save,
        )
        if answer == buttons.Cancel:
            return False
        if answer == buttons.Save:
            return session.save_all(wait=True)
        return True
