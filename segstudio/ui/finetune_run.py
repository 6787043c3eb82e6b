"""Fine-tuning from the window: thin wiring of engine.workflow.run_finetune to the Fine-tune
panel on a generic worker thread. The workflow decides where the run starts, records it, and
whether the new model becomes active; this module asks where a person must decide (settings
far from the defaults, a missing ImageNet encoder, quitting mid-run) and shows the outcome."""

from __future__ import annotations

from collections.abc import Callable

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.project import ImageState
from segstudio.ui.notifier import Notifier
from segstudio.ui.run_controller import RunController
from segstudio.ui.workers import TaskWorker


class FinetuneRun(RunController):
    """`finished(checkpoint path or '')` when a run ends; `models_changed()` when the
    project's runs or its active model changed (the Model panel re-lists them)."""

    finished = QtCore.Signal(str)
    models_changed = QtCore.Signal()

    def __init__(self, finetune_dock, notifier: Notifier, *,
                 offer_resegment: Callable[[str, str], bool],
                 dialog_parent: QtWidgets.QWidget | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.dock = finetune_dock
        self.notify = notifier
        self._last_event = None
        # What to do once a new model became active: offer to re-segment (SegmentRun's).
        self.offer_resegment = offer_resegment
        self.dialog_parent = dialog_parent     # asks about a missing ImageNet encoder
        finetune_dock.cancel.connect(self.runner.cancel)

    def describe(self) -> str:
        """Where the running fine-tune is, for the question before quitting."""
        ev = self._last_event
        if ev is None:
            return "a fine-tune is starting"
        return f"a fine-tune is at epoch {max(ev.epoch, 1)} of {ev.epochs}"

    # -- starting ------------------------------------------------------------------------
    def start(self, arch: str, *, resume: dict | None = None) -> bool:
        from segstudio.core.errors import ProjectError
        from segstudio.engine.workflow import (
            default_finetune,
            starting_point,
            unusual_settings,
        )
        from segstudio.engine.workflow.finetune import check_trainable, run_recipe

        session = self.session
        if session is None or self.runner.busy:
            return False
        if session.read_only:
            self.notify.error(f"{session.project.root}: read-only folder, so a fine-tune cannot "
                              "record its model here; copy the folder somewhere writable, or "
                              "train with `segstudio train DATA --out DIR`", dialog=True)
            return False
        if not session.save_all(wait=True):
            self.notify.error("fine-tuning needs the labels on disk, and one could not be saved",
                              dialog=True)
            return False
        project = session.project
        settings = self.dock.settings()
        counts = project.counts()
        if resume is None:
            try:
                check_trainable(project, settings)   # the workflow's rule, not a copy
            except ProjectError as exc:
                self.notify.error(str(exc), dialog=True)
                return False
        if resume is None:
            odd = unusual_settings(settings, default_finetune(project))
            if odd and not self.notify.ask(
                    "Unusual fine-tune settings",
                    "These settings are far from this project's defaults:\n• "
                    + "\n• ".join(odd) + "\n\nA model trained with them is often worse; "
                    "it only becomes the active model if it beats the current one. Start?",
                    default_yes=False):
                return False
            start = starting_point(project, arch)
            if start.missing_backbone and self.dialog_parent is not None:
                from segstudio.ui.dialogs.weights import offer_backbone_download

                offer_backbone_download(self.dialog_parent, arch)
                start = starting_point(project, arch)
            recipe = run_recipe(project, start, settings)
            # The case in a few words (the whole recipe would give the panel a scroll bar,
            # seen on a real window); the rest on hover and in the status bar's log line.
            self.dock.set_start_note(f"Starts {start.note}: {recipe.summary()}.")
            self.dock.start_note.setToolTip(recipe.describe())
        else:
            start = None
        reviewed = counts[ImageState.REVIEWED]

        def task(emit, cancel):
            from segstudio.engine.workflow import run_finetune

            # `start` as shown in the panel: worked out once per click (and again only after
            # the encoder was fetched); run_finetune keeps the settings and the architecture.
            return run_finetune(project, arch, None if resume else settings, progress=emit,
                                cancel=cancel, resume=resume, start=start)

        worker = TaskWorker(task, "fine-tune")
        worker.item.connect(self._on_event)
        worker.done.connect(self._on_done)
        worker.finished.connect(self._on_finished)
        self._outcome = None
        self._last_event = None
        self.dock.reset_curves()
        self.dock.set_running(True)
        what = f"resuming {resume.get('name', 'the run')}" if resume else \
            f"fine-tuning {arch} on {reviewed} reviewed image(s)"
        if not resume and settings.train_edited and counts[ImageState.EDITED]:
            what += f" and the touched pixels of {counts[ImageState.EDITED]} edited one(s)"
        self.dock.status.setText(what + "…")
        self._launch(worker)
        self.models_changed.emit()
        return True

    # -- progress ------------------------------------------------------------------------
    @QtCore.Slot(object)
    def _on_event(self, event) -> None:
        if not self._current():
            return
        self._last_event = event
        self.dock.show_event(event)
        if event.kind == "log" and event.message:
            # The next step overwrites the panel's status line; the status bar keeps it a while.
            self.notify.status(event.message, 30000)

    @QtCore.Slot(object)
    def _on_done(self, outcome) -> None:
        if self._current():
            self._outcome = outcome

    @QtCore.Slot(bool, str)
    def _on_finished(self, cancelled: bool, error: str) -> None:
        if self._released():
            self._finish(error)

    def _finish(self, error: str) -> None:
        self._worker = None
        self.dock.set_running(False)
        outcome, self._outcome = self._outcome, None
        self.models_changed.emit()
        if error:
            self.dock.status.setText(f"failed: {error}")
            self.notify.error(error, dialog=True)
            self.finished.emit("")
            return
        if outcome is None:     # wound up by a folder switch or quit
            self.dock.status.setText("stopped; resume it from the Model panel")
            self.finished.emit("")
            return
        rec, result = outcome.record, outcome.result
        name = rec.get("name", "the run")
        path = "" if result.best is None else str(self.session.project.checkpoint_path(rec))
        if result.status == "cancelled":
            self.dock.status.setText(f"cancelled: {name} kept; resume it from the Model "
                                     "panel's ⋯ menu" if path else "cancelled")
        elif result.status == "diverged":
            self.dock.status.setText(f"diverged: {result.message}")
            self.notify.error(f"{name}: {result.message}", dialog=True)
        elif outcome.activated:
            self.dock.status.setText(_verdict_line(name, outcome))
            self.finished.emit(path)
            self.offer_resegment("Fine-tuning finished",
                                 f"{name} is the active model now ({_why(outcome)}). "
                                 "Re-segment the images that are not reviewed with it?")
            return
        else:
            self.dock.status.setText(_verdict_line(name, outcome))
            self.notify.inform("Fine-tuning finished", f"{name} finished but the active model "
                               f"stays: {_why(outcome)}.")
        self.finished.emit(path)

    # -- stopping ------------------------------------------------------------------------
    def cancel(self, *, wait: bool = False) -> None:
        self.runner.cancel()
        if wait:
            self.runner.wait(120_000)
            if self._worker is not None:
                self._finish("")


def _verdict_line(name: str, outcome) -> str:
    """The panel's one or two lines on the outcome: the figures, when both were measured (the
    dialog and the Model panel say the rest); the panel must not grow a scroll bar for it."""
    rec = outcome.record
    miou, base = rec.get("miou"), rec.get("baseline_miou")
    head = "is now the active model" if outcome.activated else "kept, not active"
    if miou is None or base is None:
        return f"done: {name} {head}: {outcome.verdict.why}"
    other = "the model it replaces" if outcome.activated else "the active model"
    line = f"done: {name} {head}: val mIoU {100 * miou:.1f}% vs {100 * base:.1f}% for {other}"
    sure = outcome.verdict.certainty
    return line + (f"\n({sure.short()})" if sure is not None else "")


def _why(outcome) -> str:
    """The verdict's reason and how sure it is (the status line says made active or not in
    its own words)."""
    v = outcome.verdict
    return v.why + (f"; {v.certainty.describe()}" if v.certainty is not None else "")
