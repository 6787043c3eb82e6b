"""What the two run controllers (segmentation, fine-tuning) share: one worker at a time on its
own thread, the open session, and telling their own worker's signals from a stale one's."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore

from segstudio.ui.workers import TaskWorker, WorkerRunner


class RunController(QtCore.QObject):
    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = None
        self.runner = WorkerRunner(self)
        self._worker: TaskWorker | None = None

    def set_session(self, session) -> None:
        self.session = session

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def _launch(self, worker: TaskWorker) -> None:
        self._worker = worker
        self.runner.start(worker)

    def _current(self) -> bool:
        """Whether the signal being handled comes from this controller's current worker: a
        cancelled run's queued signals may arrive after another run has started."""
        return self.sender() is not None and self.sender() is self._worker

    def _released(self) -> bool:
        """In a `finished` slot: the sender is done (not busy any more); True when it is the
        current worker, whose end the controller must now handle."""
        worker = self.sender()
        self.runner.release(worker)
        return worker is not None and worker is self._worker
