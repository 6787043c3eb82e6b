"""Background work on QThreads: segmentation and fine-tuning.

Workers drive the engine's generators/callbacks (the same code the CLI runs) and report
through Qt signals, which reach the GUI thread as queued calls. Nothing here touches widgets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyqtgraph.Qt import QtCore

from segstudio.core.errors import SegstudioError

log = logging.getLogger(__name__)


def describe_error(exc: BaseException) -> str:
    """One line for the user: typed errors speak for themselves, the rest get a hint."""
    if isinstance(exc, SegstudioError):
        return str(exc)
    name = type(exc).__name__
    if "OutOfMemory" in name or "out of memory" in str(exc).lower():
        return ("out of memory on the device: lower the batch size or the training size, "
                "or use the CPU")
    return f"{name}: {exc}"


class Worker(QtCore.QObject):
    """Base: `run()` runs in the worker thread, `cancel()` may be called from any thread.
    `finished(cancelled, error)` is emitted exactly once; error is '' on success."""

    finished = QtCore.Signal(bool, str)

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @QtCore.Slot()
    def run(self) -> None:
        _lower_priority()
        try:
            self.work()
        except BaseException as exc:  # a worker must always report, never die silently
            log.error("%s failed:\n%s", type(self).__name__, traceback.format_exc())
            self.finished.emit(self.cancelled, describe_error(exc))
            return
        self.finished.emit(self.cancelled, "")

    def work(self) -> None:
        raise NotImplementedError


def _lower_priority() -> None:
    """Nice the calling worker thread so the GUI thread wins the CPU on a busy machine.

    On Linux nice values are per thread and inherited by threads created later, so torch's
    intra-op pool started from this thread is niced too. Elsewhere QThread.LowPriority
    (set at start) does the job.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class PredictWorker(Worker):
    """Segments `paths` with a checkpoint. `result(PredictResult, stored)` per image as soon
    as it is done, where `stored` is what `store(result)` returned on this thread (None
    without a store); `progress(done, total, eta_s)` with eta_s = -1 when unknown."""

    result = QtCore.Signal(object, object)
    progress = QtCore.Signal(int, int, float)
    loaded = QtCore.Signal(object)  # CheckpointMeta, before the first image

    def __init__(
        self, checkpoint: Path, paths: list[Path], *, expected: Any = None,
        device: str | None = None, store: Callable[[Any], Any] | None = None,
        adopt: Callable[[Any], None] | None = None,
    ) -> None:
        """`expected`: the project's ClassSet; a checkpoint with other classes is refused.
        Without it, `adopt(meta)` runs on this thread before any `store` (a project without
        labels takes the checkpoint's classes)."""
        super().__init__()
        self.checkpoint = Path(checkpoint)
        self.paths = list(paths)
        self.expected = expected
        self.device = device
        self.store = store
        self.adopt = adopt

    def work(self) -> None:
        from segstudio.engine.checkpoint import CheckpointError, classes_mismatch
        from segstudio.engine.predict import Predictor, predict_paths

        self.progress.emit(0, len(self.paths), -1.0)
        predictor = Predictor.from_checkpoint(self.checkpoint, self.device)
        if self.expected is not None:
            problem = classes_mismatch(self.expected, predictor.meta.classes)
            if problem:
                raise CheckpointError(
                    self.checkpoint, f"{problem}; pick a checkpoint trained on these classes "
                    "or fine-tune one"
                )
        elif self.adopt is not None:
            self.adopt(predictor.meta)
        self.loaded.emit(predictor.meta)
        for res in predict_paths(
            predictor, self.paths, progress=self._progress, cancel=self._cancel.is_set
        ):
            stored = None
            if self.store is not None and res.error is None:
                stored = self.store(res)
            self.result.emit(res, stored)

    def _progress(self, p: Any) -> None:
        eta = -1.0 if p.eta_s is None else float(p.eta_s)
        self.progress.emit(int(p.done), int(p.total), eta)


class TrainWorker(Worker):
    """Fine-tunes: builds the TrainConfig and picks the starting weights on the worker thread
    (importing the engine and reading a checkpoint would stall the GUI), then runs
    engine.train. `event(TrainEvent)` for every step/epoch/log event; `done(TrainResult)`
    before `finished` when training produced a checkpoint."""

    event = QtCore.Signal(object)
    done = QtCore.Signal(object)

    def __init__(self, settings: dict[str, Any], init: Path | None = None) -> None:
        """`settings`: TrainConfig fields; `init`: a checkpoint to start from when it has the
        same architecture (otherwise training starts from scratch). With other classes the
        engine loads what fits and re-initialises the head, and says so in a "log" event."""
        super().__init__()
        self.settings = dict(settings)
        self.init = init
        self.config: Any = None  # the TrainConfig the run was given, once it has started

    def work(self) -> None:
        from segstudio.engine.train import TrainConfig, TrainEvent, train

        init, note = self._usable_init()
        message = f"starting from {init.name}" if init is not None else "starting from scratch"
        self.event.emit(TrainEvent("log", message=f"{message}{note}"))
        config = TrainConfig(**self.settings, init=init)
        self.config = config
        result = train(config, progress=self.event.emit, cancel=self._cancel.is_set)
        if result is not None:
            self.done.emit(result)

    def _usable_init(self) -> tuple[Path | None, str]:
        """(checkpoint to start from or None, a note for the user on why / how)."""
        from segstudio.core.project import Project
        from segstudio.engine.checkpoint import CheckpointError, classes_mismatch, read_checkpoint

        if self.init is None:
            return None, ""
        try:
            _, meta = read_checkpoint(self.init)
        except (CheckpointError, OSError) as exc:
            log.warning("not starting from %s: %s", self.init, exc)
            return None, f" ({self.init.name} cannot be read: {exc})"
        if meta.arch != self.settings["arch"]:
            # The engine refuses another architecture outright; scratch is the useful answer.
            return None, f" ({self.init.name} is a {meta.arch!r} network)"
        # Other classes still start from the checkpoint: the backbone carries over, and the
        # engine re-initialises the head (its "log" event says which tensors).
        classes = Project.open(self.settings["data"]).classes
        if classes_mismatch(classes, meta.classes):
            return self.init, " (other classes: its head is re-initialised)"
        return self.init, ""


class WorkerRunner(QtCore.QObject):
    """Owns one worker at a time and its QThread. Not busy once the worker has reported
    `finished` (its thread may still be winding down: it is kept until it has stopped, so a
    new run can start right away without destroying a running QThread)."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.worker: Worker | None = None
        self.thread: QtCore.QThread | None = None
        self._winding_down: list[QtCore.QThread] = []

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def start(self, worker: Worker) -> None:
        if self.busy:
            raise RuntimeError("a worker is already running")
        thread = QtCore.QThread()
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # Direct: QThread.quit is thread-safe, and a queued quit would wait for the GUI loop,
        # which is blocked in wait() when the window closes.
        worker.finished.connect(thread.quit, QtCore.Qt.ConnectionType.DirectConnection)
        # Callers connected their own slots first; those call release() themselves so they
        # may start the next run at once. This one covers callers that do not. (A bound slot:
        # a lambda would be called on the worker thread.)
        worker.finished.connect(self._on_finished)
        thread.finished.connect(self._on_thread_finished)
        self.worker, self.thread = worker, thread
        thread.start(QtCore.QThread.Priority.LowPriority)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def wait(self, ms: int = 30000) -> bool:
        """Block until every thread has ended (used on close); True when they did."""
        ok = True
        for thread in [*self._winding_down, self.thread]:
            if thread is None:
                continue
            if thread.wait(ms):
                self._stopped(thread)
            else:
                ok = False
        if ok:
            self.worker = None
        return ok

    @QtCore.Slot()
    def _on_thread_finished(self) -> None:
        self._stopped(self.sender())

    @QtCore.Slot(bool, str)
    def _on_finished(self, _cancelled: bool, _error: str) -> None:
        self.release(self.sender())

    def release(self, worker: Worker | None) -> None:
        """`worker` has finished (GUI thread): no longer busy. Idempotent; None (a sender
        that is gone) and stale workers change nothing."""
        if worker is not None and self.worker is worker:
            self.worker = None
            if self.thread is not None:
                self._winding_down.append(self.thread)
                self.thread = None

    def _stopped(self, thread: QtCore.QThread) -> None:
        # The queued `finished` of a thread may arrive after wait() has handled it.
        if thread in self._winding_down:
            self._winding_down.remove(thread)
        if self.thread is thread:
            self.thread, self.worker = None, None
