"""Background work on QThreads, generic: a worker runs an engine task (the same functions
the CLI calls) and reports through Qt signals, which reach the GUI thread as queued calls.
Nothing here touches widgets or knows what the task does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Generator
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
            if isinstance(exc, SegstudioError):
                # The user's to fix (a checkpoint that does not fit, a full disk): one line,
                # shown to them; no traceback, it is not a bug.
                log.warning("%s: %s", type(self).__name__, exc)
            else:
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


class TaskWorker(Worker):
    """Runs any engine task on the worker thread: `task(emit, cancel)` where `emit(x)` sends
    `x` to the GUI thread as `item(x)` and `cancel()` says whether Cancel was pressed. A task
    that returns a generator has each yielded value emitted as `item` too. The task's return
    value (a generator's too) arrives as `done(value)` before `finished`.

    Workers know nothing of segmentation or training: the engine's workflow functions hold
    the rules, and the window's controllers turn items into what the user sees."""

    item = QtCore.Signal(object)
    done = QtCore.Signal(object)

    def __init__(self, task: Callable[[Callable[[Any], None], Callable[[], bool]], Any],
                 name: str = "task") -> None:
        super().__init__()
        self.task = task
        self.name = name

    def work(self) -> None:
        out = self.task(self.item.emit, self._cancel.is_set)
        if isinstance(out, Generator):
            while True:
                try:
                    value = next(out)
                except StopIteration as stop:
                    out = stop.value
                    break
                self.item.emit(value)
        self.done.emit(out)


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
