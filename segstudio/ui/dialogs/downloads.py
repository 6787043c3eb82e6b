"""Weights transfers off the GUI thread: the size query, download or import as `Worker`s, and a
panel (label, progress bar, Cancel) that runs one at a time. The network and the hashing never
run on the GUI thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.ui.workers import Worker, WorkerRunner


class SizeWorker(Worker):
    """Asks the server how large `name`'s file is (HTTP HEAD): `size(int or None)`."""

    size = QtCore.Signal(object)

    def __init__(self, name: str, mirror: str | None) -> None:
        super().__init__()
        self.name, self.mirror = name, mirror

    def work(self) -> None:
        from segstudio.engine.weights import remote_size

        self.size.emit(remote_size(self.name, self.mirror))


class TransferWorker(Worker):
    """Downloads `name` (source None) or imports the local file `source`, verified.
    `progress(done, total or None)` in bytes; `done(Path)` before `finished` on success."""

    progress = QtCore.Signal(object, object)
    done = QtCore.Signal(object)

    def __init__(self, name: str, mirror: str | None = None, source: Path | None = None) -> None:
        super().__init__()
        self.name, self.mirror, self.source = name, mirror, source

    def work(self) -> None:
        from segstudio.engine.weights import WeightsUnreachable, fetch, import_file

        report = self._report
        if self.source is None:
            try:
                path = fetch(self.name, self.mirror, progress=report,
                             cancel=self._cancel.is_set)
            except WeightsUnreachable as exc:
                raise WeightsUnreachable(
                    exc.path, f"{exc.problem}. Without access to it: give a mirror under "
                    "Download from, or copy the file over and use Import from file "
                    "(Model > Pretrained weights…)") from None
        else:
            path = import_file(self.name, self.source, progress=report,
                               cancel=self._cancel.is_set)
        self.done.emit(path)

    def _report(self, p: Any) -> None:
        self.progress.emit(p.done, p.total)


class TransferPanel(QtWidgets.QWidget):
    """Runs one worker at a time with a progress bar and Cancel. `completed(ok, message)`
    when it has ended (message: what happened, in one line)."""

    completed = QtCore.Signal(bool, str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = WorkerRunner(self)
        self.label = QtWidgets.QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setTextVisible(False)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addLayout(row)
        self._what = ""
        self._set_running(False)

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def run(self, worker: Worker, what: str) -> None:
        """Start `worker`; `what` ("downloading x.pth") heads the progress text."""
        self._what = what
        self.label.setText(f"{what}…")
        self.bar.setRange(0, 0)  # busy until the size is known
        if isinstance(worker, TransferWorker):
            worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        self._set_running(True)
        self.runner.start(worker)

    def cancel(self) -> None:
        self.runner.cancel()

    def shutdown(self, ms: int = 30000) -> bool:
        """Cancel any transfer and wait for its thread (before the panel goes away: a QThread
        destroyed while running aborts the process). True when every thread has ended."""
        self.runner.cancel()
        return self.runner.wait(ms)

    def _set_running(self, running: bool) -> None:
        self.bar.setVisible(running)
        self.cancel_button.setVisible(running)

    @QtCore.Slot(object, object)
    def _on_progress(self, done: int, total: int | None) -> None:
        from segstudio.engine.weights import format_size

        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(min(1000, int(1000 * done / total)))
            self.label.setText(f"{self._what}: {format_size(done)} of {format_size(total)}")
        else:
            self.label.setText(f"{self._what}: {format_size(done)}")

    @QtCore.Slot(bool, str)
    def _on_finished(self, cancelled: bool, error: str) -> None:
        self.runner.release(self.sender())
        self._set_running(False)
        if cancelled:
            message, ok = f"{self._what}: cancelled, nothing was kept", False
        elif error:
            message, ok = error, False
        else:
            message, ok = f"{self._what}: done", True
        self.label.setText(message)
        self.completed.emit(ok, message)


class DownloadDialog(QtWidgets.QDialog):
    """Modal: downloads `name` as soon as it is shown, closes itself when done (accepted on
    success). Errors are shown in a message box; Cancel or closing the dialog cancels."""

    def __init__(self, parent: QtWidgets.QWidget | None, name: str,
                 mirror: str | None = None) -> None:
        super().__init__(parent)
        from segstudio.engine.weights import status

        self.name, self.mirror = name, mirror
        self.error = ""
        self.setWindowTitle(f"Downloading {status(name).file}")
        self.setModal(True)
        self.panel = TransferPanel(self)
        self.panel.completed.connect(self._on_completed)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.panel)
        self.resize(480, self.sizeHint().height())
        QtCore.QTimer.singleShot(0, self._start)

    def _start(self) -> None:
        from segstudio.engine.weights import status

        what = f"downloading {status(self.name).file}"
        self.panel.run(TransferWorker(self.name, self.mirror), what)

    @QtCore.Slot(bool, str)
    def _on_completed(self, ok: bool, message: str) -> None:
        if ok:
            self.accept()
            return
        self.error = message
        if "cancelled" not in message:
            QtWidgets.QMessageBox.warning(self, "Download failed", message)
        super().reject()

    def reject(self) -> None:
        # Closing the dialog (Esc, the window's X) cancels the download: nothing is kept.
        if self.panel.busy:
            self.panel.cancel()
            return  # _on_completed closes the dialog once the worker has stopped
        super().reject()

    def done(self, result: int) -> None:
        self.panel.shutdown()
        super().done(result)
