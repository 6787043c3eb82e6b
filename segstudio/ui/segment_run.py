"""Segmenting from the window: thin wiring of engine.workflow's plan and run to the Model
panel, with the work on a generic worker thread.

The rules (what each state gets, class adoption) are the workflow's; this module only asks
the user where the workflow says a person must decide, shows progress, and hands predictions
for open images to the Session on the GUI thread.
"""

from __future__ import annotations

import time
from collections import Counter

from pyqtgraph.Qt import QtCore

from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageEntry, ImageState
from segstudio.ui.notifier import Notifier
from segstudio.ui.run_controller import RunController
from segstudio.ui.workers import TaskWorker

DONE_WORDS = {"predicted": "new prediction", "merged": "kept your edits, rest re-predicted",
              "replaced": "replaced (undo brings the old label back)", "kept": "kept reviewed"}


class SegmentRun(RunController):
    """`finished(summary)` when a run ends; `classes_adopted()` when a label-less project took
    the checkpoint's classes (the window re-shows the image with them)."""

    finished = QtCore.Signal(str)
    classes_adopted = QtCore.Signal()
    image_failed = QtCore.Signal(str, str)   # key, why (the Files list marks it)

    def __init__(self, model_dock, notifier: Notifier, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.dock = model_dock
        self.notify = notifier
        self._stats: Counter[str] = Counter()
        self._total = 0
        self._started = 0.0
        model_dock.cancel.connect(self.runner.cancel)

    # -- what to segment -----------------------------------------------------------------
    def segment_entry(self, entry: ImageEntry) -> bool:
        """One image (Segment image): a reviewed image is replaced only when the user says so
        (undoable); an edited one keeps its touched pixels."""
        state = self.session.state(entry)
        if state is ImageState.REVIEWED:
            if not self.notify.ask("Reviewed label", f"{entry.key} is reviewed. Replace its "
                                   "label with the prediction? (Undo brings it back.)",
                                   default_yes=False):
                return False
            return self.start([entry], replace=[entry.key])
        if state is ImageState.EDITED:
            self.notify.status(f"{entry.key} is edited: the pixels you painted are kept")
        return self.start([entry])

    def segment_unlabeled(self) -> bool:
        entries = [e for e in self.session.entries
                   if self.session.state(e) is ImageState.UNLABELED]
        if not entries:
            self.notify.status("every image has a label already (Re-segment… redoes "
                               "predicted and edited ones)")
            return False
        return self.start(entries)

    def offer_resegment(self, title: str, intro: str) -> bool:
        """Ask, with what will happen to each group and its counts, then re-segment every
        image that is not reviewed."""
        from segstudio.engine.workflow import plan_segmentation

        plan = plan_segmentation(self.session.project,
                                 [e for e in self.session.entries
                                  if self.session.state(e) is not ImageState.REVIEWED],
                                 state_of=self.session.state)
        if not plan.run:
            self.notify.status("nothing to re-segment: every image is reviewed")
            return False
        reviewed = sum(1 for e in self.session.entries
                       if self.session.state(e) is ImageState.REVIEWED)
        lines = plan.lines() + ([f"{reviewed} reviewed image(s) are left as they are"]
                                if reviewed else [])
        text = intro + "\n\n" + "\n".join(f"• {line}" for line in lines)
        if not self.notify.ask(title, text):
            return False
        return self.start(plan.run)

    # -- running -------------------------------------------------------------------------
    def start(self, entries: list[ImageEntry], *, replace: list[str] = ()) -> bool:
        from segstudio.engine.workflow import active_checkpoint
        from segstudio.engine.workflow.project_choices import predict_scale

        session = self.session
        # The project's active model, as the CLI's segment takes it (not the Model panel's
        # list, which only shows it).
        checkpoint = active_checkpoint(session.project)
        if checkpoint is None:
            self.notify.error("no model to segment with: this project's classes fit no "
                              "checkpoint yet; choose one in the Model panel or fine-tune",
                              dialog=True)
            return False
        if self.runner.busy:
            self.notify.status("a segmentation is already running")
            return False
        if session.link_problem:
            self.notify.error(f"{session.link_problem}; predictions are not saved", dialog=True)
            return False
        if session.read_only:
            self.notify.error(f"{session.project.root}: read-only folder, so predictions cannot "
                              "be saved here; copy the folder somewhere writable to segment it "
                              "(or use `segstudio segment IMAGES --out DIR`)", dialog=True)
            return False
        if session.dirty_keys() and not session.save_all(wait=True):
            self.notify.error("a label could not be saved; segmentation did not start",
                              dialog=True)
            return False
        project = session.project
        if not self._classes_fit(checkpoint):
            return False
        keys = {e.key for e in entries}
        scale = predict_scale(project)

        def task(emit, cancel):
            from segstudio.engine.checkpoint import CheckpointError, classes_mismatch
            from segstudio.engine.predict import Predictor
            from segstudio.engine.workflow import plan_segmentation, segment_project

            predictor = Predictor.from_checkpoint(checkpoint, scale=scale)
            problem = classes_mismatch(project.classes, predictor.meta.classes)
            if problem:   # the file changed since the header was read
                raise CheckpointError(checkpoint, problem)
            plan = plan_segmentation(project, [e for e in project.entries if e.key in keys],
                                     replace_reviewed=replace)
            for result in segment_project(project, predictor, plan,
                                          writer=session.write_prediction,
                                          progress=lambda p: emit(("progress", p)),
                                          cancel=cancel):
                emit(("result", result))

        worker = TaskWorker(task, "segment")
        worker.item.connect(self._on_item)
        worker.finished.connect(self._on_finished)
        self._stats = Counter()
        self._failed: list[str] = []
        self._total = len(entries)
        self._started = time.perf_counter()
        self.dock.set_running(True)
        self.dock.show_progress(0, len(entries), -1)
        self._launch(worker)
        return True

    def _classes_fit(self, checkpoint) -> bool:
        """On the GUI thread, from the checkpoint's header only: a project without labels
        takes the checkpoint's classes (its void documents are dropped and shown again);
        otherwise the classes must match (a dialog says what differs)."""
        from segstudio.engine.checkpoint_header import CheckpointHeaderError, read_classes
        from segstudio.engine.workflow import adopt_or_check_classes

        try:
            _, classes = read_classes(checkpoint)
            adopted = adopt_or_check_classes(self.session.project, classes, checkpoint,
                                             adopt=self.session.adopt_classes)
        except (CheckpointHeaderError, SegstudioError) as exc:
            self.notify.error(str(exc), dialog=True)
            return False
        if adopted:
            self.classes_adopted.emit()
            names = ", ".join(self.session.project.classes.names)
            self.notify.status(f"classes taken from the checkpoint: {names}", 15000)
        return True

    @QtCore.Slot(object)
    def _on_item(self, item) -> None:
        if not self._current():
            return
        kind, value = item
        if kind == "progress":
            tiles = None
            if getattr(value, "tiles_total", None):
                tiles = (value.tiles_done, value.tiles_total)
            self.dock.show_progress(value.done, value.total,
                                    -1 if value.eta_s is None else value.eta_s, tiles)
        elif kind == "result":
            self._result(value)

    def _result(self, result) -> None:
        status = result.status
        if status == "failed":
            self.notify.error(result.message)
            self._failed.append(result.entry.key)
            self.image_failed.emit(result.entry.key, result.message)
        elif status == "deferred":
            status = self.session.apply_prediction(result)
        else:
            self.session.prediction_stored(result.entry.key, result.confidence_map)
        self._stats[status] += 1

    @QtCore.Slot(bool, str)
    def _on_finished(self, cancelled: bool, error: str) -> None:
        if self._released():
            self._finish(cancelled, error)

    def _finish(self, cancelled: bool, error: str) -> None:
        self._worker = None
        self.dock.set_running(False)
        s = self._stats
        took = time.perf_counter() - self._started
        done = sum(n for k, n in s.items() if k != "failed")
        parts = [f"{s[k]} {w}" for k, w in DONE_WORDS.items() if s[k] and k != "predicted"]
        summary = f"segmented {done} image(s) in {took:.1f} s"
        if parts:
            summary += " (" + ", ".join(parts) + ")"
        if s["failed"]:
            names = ", ".join(self._failed[:3]) + (", …" if len(self._failed) > 3 else "")
            summary += f", {s['failed']} failed ({names}: ⚠ in the list)"
        if cancelled:
            summary = "cancelled: " + summary
        if error:
            self.notify.error(error, dialog=True)
            summary = f"segmentation failed: {error}"
        else:
            self.notify.status(summary, 15000)
        self.finished.emit(summary)

    def cancel(self, *, wait: bool = False) -> None:
        self.runner.cancel()
        if wait:
            self.runner.wait()
            if self._worker is not None:
                self._finish(True, "")

