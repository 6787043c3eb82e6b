"""Model runs started from the window: segmentation and fine-tuning on worker threads.

This is the glue between the docks, the Session and the workers; the GUI thread only
receives finished masks and events, never runs a network.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageEntry, ImageState
from segstudio.ui.workers import PredictWorker, TrainWorker, WorkerRunner

log = logging.getLogger(__name__)
DEFAULT_ARCH = "enet"


class Runs(QtCore.QObject):
    """`segment_finished(summary)` and `train_finished(checkpoint or '')` for tests/scripts."""

    segment_finished = QtCore.Signal(str)
    train_finished = QtCore.Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.predict = WorkerRunner(self)
        self.train = WorkerRunner(self)
        self._overwrite: set[str] = set()
        self._stats = {"done": 0, "skipped": 0, "failed": 0}
        self._batch = None
        self._started = 0.0
        self._predict_worker = None
        self._train_worker = None
        dock = window.model_dock
        dock.segment_image.connect(self.segment_current)
        dock.segment_all.connect(self.segment_unlabeled)
        dock.cancel.connect(self.predict.cancel)
        dock.checkpoint_changed.connect(self._checkpoint_chosen)
        window.finetune.start.connect(self.start_fine_tune)
        window.finetune.cancel.connect(self.train.cancel)

    @property
    def session(self):
        return self.w.session

    # -- models and checkpoints ----------------------------------------------------------
    def project_opened(self) -> None:
        from segstudio.engine.device import device_name, select_device
        from segstudio.models import list_models

        dock = self.w.model_dock
        arch = self.session.project.settings.get("arch") or self.w.settings.get(
            "model/arch", DEFAULT_ARCH, str
        )
        dock.set_architectures(list_models(), arch)
        try:
            dock.device.setText(device_name(select_device()))
        except SegstudioError as exc:
            dock.device.setText("CPU")
            self.w.show_error(str(exc))
        self.refresh_checkpoints()

    def checkpoint_items(self) -> list[tuple[str, Path]]:
        from segstudio.engine.checkpoint import default_checkpoint

        project = self.session.project
        items: list[tuple[str, Path]] = []
        for rec in reversed(project.checkpoints):
            miou = (rec.get("metrics") or {}).get("miou")
            score = f", mIoU {miou:.2f}" if isinstance(miou, int | float) else ""
            created = str(rec.get("created", ""))[:16].replace("T", " ")
            label = f"{rec.get('arch', '?')}{score} · {created}"
            items.append((label, project.checkpoint_path(rec)))
        default = default_checkpoint()
        if default.exists():
            items.append(("ENet, CamVid (shipped)", default))
        extra = project.settings.get("checkpoint")
        if extra and all(str(p) != extra for _, p in items) and Path(extra).exists():
            items.append((Path(extra).name, Path(extra)))
        return items

    def refresh_checkpoints(self, select: Path | None = None) -> None:
        current = select
        if current is None:
            chosen = self.session.project.settings.get("checkpoint")
            current = Path(chosen) if chosen else None
        self.w.model_dock.set_checkpoints(self.checkpoint_items(), current)

    def _checkpoint_chosen(self, path: str) -> None:
        if self.session is None:
            return
        self.session.project.settings["checkpoint"] = path
        self.session.persist()
        if path:
            self.refresh_checkpoints(Path(path))

    # -- segmentation --------------------------------------------------------------------
    def segment_current(self) -> None:
        w = self.w
        if self.session is None or w.current_key is None:
            return
        entry = self.session.entry(w.current_key)
        overwrite = False
        if self.session.state(entry) is ImageState.REVIEWED:
            buttons = QtWidgets.QMessageBox.StandardButton
            answer = QtWidgets.QMessageBox.question(
                w, "Reviewed label",
                f"{entry.key} is reviewed. Replace its label with the prediction? "
                "(Undo brings it back.)", buttons.Yes | buttons.No, buttons.No,
            )
            if answer != buttons.Yes:
                return
            overwrite = True
        self.segment([entry], overwrite=overwrite)

    def segment_unlabeled(self) -> None:
        if self.session is None:
            return
        entries = [e for e in self.session.entries
                   if self.session.state(e) is ImageState.UNLABELED]
        if not entries:
            self.w.show_status("every image has a label already")
            return
        self.segment(entries)

    def segment(self, entries: list[ImageEntry], *, overwrite: bool = False) -> bool:
        w, session = self.w, self.session
        checkpoint = w.model_dock.current_checkpoint()
        if checkpoint is None:
            w.show_error("no checkpoint chosen: choose a file in the Model panel or "
                         "fine-tune first", dialog=True)
            return False
        if self.predict.busy:
            w.show_status("a segmentation is already running")
            return False
        counts = session.project.counts()
        # A project without any label takes the checkpoint's classes (e.g. the shipped
        # CamVid ENet on a fresh folder); otherwise the classes must match.
        unlabeled = counts[ImageState.UNLABELED] == len(session.entries)
        self._adopt = unlabeled and not session.dirty_keys()
        self._adopted = False
        worker = PredictWorker(checkpoint, [e.path for e in entries],
                               expected=None if self._adopt else session.project.classes,
                               store=self._store, adopt=self._adopt_classes)
        # Bound slots of this GUI-thread object, so the calls are queued to the GUI thread (a
        # lambda would run on the worker thread). Each checks sender() is the current worker:
        # a cancelled run's queued signals may arrive after another run has started.
        worker.loaded.connect(self._on_loaded)
        worker.result.connect(self._on_result)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_segment_finished)
        self._overwrite = {e.key for e in entries} if overwrite else set()
        self._stats = {"done": 0, "skipped": 0, "failed": 0}
        self._batch = session.project.batch()
        self._batch.__enter__()
        self._started = time.perf_counter()
        w.model_dock.set_running(True)
        w.model_dock.show_progress(0, len(entries), -1)
        self._predict_worker = worker
        self.predict.start(worker)
        return True

    def _adopt_classes(self, meta) -> None:
        """Worker thread, before the first label is written: a project without any label
        takes the checkpoint's classes (the labels are then written with them)."""
        from segstudio.engine.checkpoint import classes_mismatch

        session = self.session
        if self._adopt and classes_mismatch(session.project.classes, meta.classes):
            session.adopt_classes(meta.classes.copy())
            self._adopted = True

    def _current(self, worker) -> bool:
        # sender() is None once a finished run's worker is gone: never "current".
        return worker is not None and worker is self._predict_worker

    @QtCore.Slot(object)
    def _on_loaded(self, meta) -> None:
        self._loaded(meta, self.sender())

    @QtCore.Slot(object, object)
    def _on_result(self, res, stored) -> None:
        self._result(res, stored, self.sender())

    @QtCore.Slot(int, int, float)
    def _on_progress(self, done: int, total: int, eta: float) -> None:
        if self._current(self.sender()):
            self.w.model_dock.show_progress(done, total, eta)

    @QtCore.Slot(bool, str)
    def _on_segment_finished(self, cancelled: bool, error: str) -> None:
        self._segment_finished(cancelled, error, self.sender())

    def _loaded(self, meta, worker) -> None:
        """GUI thread: show the adopted classes and reload the open image with them."""
        if not self._current(worker) or not self._adopted:
            return
        self.w.palette.set_classes(self.session.project.classes)
        key, self.w.current_key = self.w.current_key, None
        if key is not None:
            self.w.show_image(key)
        names = ", ".join(meta.classes.names)
        self.w.show_status(f"classes taken from the checkpoint: {names}")

    def _store(self, res):
        """Worker thread: write the label of an image that is not open in the window."""
        session = self.session
        entry = session.entry_for_path(res.path) if session is not None else None
        if entry is None:
            return None
        return session.store_prediction(entry, res.labels, res.confidence,
                                        overwrite_reviewed=entry.key in self._overwrite)

    def _result(self, res, stored, worker) -> None:
        if not self._current(worker):
            return
        session = self.session
        entry = session.entry_for_path(res.path) if session is not None else None
        if entry is None:
            return
        if res.error is not None or stored is None or stored.status == "failed":
            self._stats["failed"] += 1
            self.w.show_error(stored.message if stored is not None else str(res.error))
            return
        if stored.status == "skipped":
            self._stats["skipped"] += 1
            return
        if stored.status == "written":
            session.prediction_stored(entry, stored)
            self._stats["done"] += 1
            return
        applied, bbox = session.apply_prediction(
            entry, res.labels, stored, overwrite_reviewed=entry.key in self._overwrite
        )
        self._stats["done" if applied else "skipped"] += 1
        if applied and entry.key == self.w.current_key:
            self.w.refresh_current_mask(bbox)

    def _segment_finished(self, cancelled: bool, error: str, worker) -> None:
        self.predict.release(worker)
        if not self._current(worker):
            return
        self._predict_worker = None
        if self._batch is not None:
            try:
                self._batch.__exit__(None, None, None)
            except SegstudioError as exc:
                self.w.show_error(str(exc), dialog=True)
            self._batch = None
        self.w.model_dock.set_running(False)
        s = self._stats
        took = time.perf_counter() - self._started
        summary = f"segmented {s['done']} image(s) in {took:.1f} s"
        if s["skipped"]:
            summary += f", kept {s['skipped']} reviewed"
        if s["failed"]:
            summary += f", {s['failed']} failed"
        if cancelled:
            summary = "cancelled: " + summary
        if error:
            self.w.show_error(error, dialog=True)
            summary = f"segmentation failed: {error}"
        else:
            self.w.show_status(summary, 15000)
        self.w.files.update_counts()
        self.w.update_title()
        self.segment_finished.emit(summary)

    # -- fine-tuning ---------------------------------------------------------------------
    def start_fine_tune(self) -> bool:
        w, session = self.w, self.session
        if session is None or self.train.busy:
            return False
        if not session.save_all(wait=True):
            w.show_error("fine-tuning needs the labels on disk, and one could not be saved",
                         dialog=True)
            return False
        reviewed = session.project.reviewed_entries()
        if not reviewed:
            w.show_error("fine-tuning needs reviewed images and there are none yet: correct "
                         "some masks and mark them reviewed (Ctrl+R)", dialog=True)
            return False
        s = w.finetune.settings()
        arch = w.model_dock.arch.currentText() or DEFAULT_ARCH
        stamp = time.strftime("%Y%m%d-%H%M%S")
        settings = {
            # The folder, not the Project object: the trainer reads it on its own thread, and
            # every label and state is on disk after save_all().
            "arch": arch, "data": session.project.root,
            "out_dir": session.project.checkpoints_dir / f"{arch}-{stamp}",
            "epochs": s.epochs, "size": (s.height, s.width), "batch": s.batch, "lr": s.lr,
            "weighting": s.weighting,
        }
        session.project.settings["arch"] = arch
        session.project.settings["finetune"] = dict(s.__dict__)
        session.persist()
        worker = TrainWorker(settings, init=w.model_dock.current_checkpoint())
        worker.event.connect(self._on_train_event)
        worker.done.connect(self._on_trained)
        worker.finished.connect(self._on_train_finished)
        self._new_checkpoint = ""
        self._train_arch = arch
        w.finetune.reset_curves()
        w.finetune.set_running(True)
        w.finetune.status.setText(f"fine-tuning {arch} on {len(reviewed)} reviewed images…")
        self._train_worker = worker
        self.train.start(worker)
        return True

    def _train_current(self, worker) -> bool:
        return worker is not None and worker is self._train_worker

    @QtCore.Slot(object)
    def _on_train_event(self, event) -> None:
        if not self._train_current(self.sender()):
            return
        self.w.finetune.show_event(event)
        if event.kind == "log" and event.message:
            # The next step overwrites the panel's status line; the status bar keeps it a while.
            self.w.show_status(event.message, 30000)

    @QtCore.Slot(object)
    def _on_trained(self, result) -> None:
        if self._train_current(self.sender()):
            self._trained(result)

    @QtCore.Slot(bool, str)
    def _on_train_finished(self, cancelled: bool, error: str) -> None:
        self._train_finished(cancelled, error, self.sender())

    def _trained(self, result) -> None:
        if result.best is None:  # cancelled before the first epoch ended
            return
        project = self.session.project
        path = Path(result.best)
        metrics = dict(getattr(result, "metrics", {}) or {})
        known = {project.checkpoint_path(r).resolve() for r in project.checkpoints}
        if path.resolve() not in known:
            project.register_checkpoint(path, self._train_arch, metrics)
        project.settings["checkpoint"] = str(path)
        self.session.persist()
        self.refresh_checkpoints(path)
        self._new_checkpoint = str(path)

    def _train_finished(self, cancelled: bool, error: str, worker) -> None:
        self.train.release(worker)
        if not self._train_current(worker):
            return
        self._train_worker = None
        w = self.w
        w.finetune.set_running(False)
        if error:
            w.finetune.status.setText(f"failed: {error}")
            w.show_error(error, dialog=True)
        elif cancelled:
            new = self._new_checkpoint
            w.finetune.status.setText(f"cancelled; kept {Path(new).parent.name}" if new
                                      else "cancelled")
        elif self._new_checkpoint:
            w.finetune.status.setText(f"done: {Path(self._new_checkpoint).parent.name}, "
                                      "registered and selected")
            self._offer_resegment()
        self.train_finished.emit(self._new_checkpoint)

    def _offer_resegment(self) -> None:
        todo = [e for e in self.session.entries
                if self.session.state(e) is not ImageState.REVIEWED]
        if not todo or self.predict.busy:
            return
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self.w, "Fine-tuning finished",
            f"Re-segment the {len(todo)} image(s) that are not reviewed yet with the new model?",
            buttons.Yes | buttons.No, buttons.Yes,
        )
        if answer == buttons.Yes:
            self.segment(todo)

    def cancel_all(self, *, wait: bool = False) -> None:
        """Cancel both runs; with `wait`, also wind them up now (before a folder switch or
        close), so their late queued signals find nothing to do."""
        self.predict.cancel()
        self.train.cancel()
        if not wait:
            return
        self.predict.wait()
        self.train.wait()
        if self._predict_worker is not None:
            self._segment_finished(True, "", self._predict_worker)
        if self._train_worker is not None:
            self._train_finished(True, "", self._train_worker)
