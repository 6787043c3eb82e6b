"""A dialog that runs one core call (`export_labels` / `import_labels`, whose other arguments
are bound) on a worker thread: a form on top, then a progress bar with the stage, Start and
Cancel, and the call's report below. Subclasses build the form, `make_call()` and `on_done()`.
"""

from __future__ import annotations

from collections.abc import Callable

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.ui.workers import Worker, WorkerRunner

_STAGES = {"scan": "reading the source", "images": "images", "labels": "labels",
           "export": "exporting"}


class TransferWorker(Worker):
    """Runs `call(progress=..., cancel=...)` (export_labels / import_labels with its other
    arguments bound); `progress(stage, done, total)` while it runs, `done(report)` before
    `finished` when it returned."""

    progress = QtCore.Signal(str, int, int)
    done = QtCore.Signal(object)

    def __init__(self, call: Callable) -> None:
        super().__init__()
        self.call = call

    def work(self) -> None:
        report = self.call(progress=self._progress, cancel=self._cancel.is_set)
        self.done.emit(report)

    def _progress(self, event) -> None:
        self.progress.emit(event.stage, int(event.done), int(event.total))


class TransferDialog(QtWidgets.QDialog):
    """Form + progress bar + result text; Start runs `make_call()` on a worker thread."""

    def __init__(self, window, title: str) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle(title)
        self.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        self.report = None
        self.error = ""
        self.runner = WorkerRunner(self)
        self._worker: TransferWorker | None = None
        self.form = QtWidgets.QFormLayout()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        self.stage = QtWidgets.QLabel("")
        self.result = QtWidgets.QPlainTextEdit()
        self.result.setReadOnly(True)
        self.result.setVisible(False)
        self.result.setMinimumHeight(110)
        buttons = QtWidgets.QDialogButtonBox()
        box = QtWidgets.QDialogButtonBox
        self.start_button = buttons.addButton("Start", box.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(box.StandardButton.Cancel)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.stage)
        layout.addWidget(self.progress)
        layout.addWidget(self.result)
        layout.addWidget(buttons)
        self.resize(620, 0)

    # -- subclasses ------------------------------------------------------------------------
    def make_call(self) -> Callable | None:
        """The bound core call, or None (with a message shown) when the form is not ready."""
        raise NotImplementedError

    def on_done(self, report) -> None:
        raise NotImplementedError

    # -- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.runner.busy

    def say(self, text: str) -> None:
        self.result.setVisible(True)
        self.result.setPlainText(text)

    def start(self) -> None:
        if self.running:
            return
        call = self.make_call()
        if call is None:
            return
        self.report, self.error = None, ""
        worker = TransferWorker(call)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._set_running(True)
        self.runner.start(worker)

    def cancel_or_close(self) -> None:
        if self.running:
            self.runner.cancel()
            self.stage.setText("cancelling…")
        else:
            self.reject()

    def controls_restored(self) -> None:
        """After a run the form's fields are enabled again: a subclass disables what its
        choices rule out (a COCO-only option under another format)."""

    def _set_running(self, on: bool) -> None:
        for i in range(self.form.rowCount()):
            item = self.form.itemAt(i, QtWidgets.QFormLayout.ItemRole.FieldRole)
            if item is not None and item.widget() is not None:
                item.widget().setEnabled(not on)
        if not on:
            self.controls_restored()
        self.start_button.setEnabled(not on)
        self.cancel_button.setText("Cancel" if on else "Close")
        self.progress.setVisible(on)
        if on:
            self.progress.setRange(0, 0)
            self.stage.setText("starting…")
            self.result.setVisible(False)

    @QtCore.Slot(str, int, int)
    def _on_progress(self, stage: str, done: int, total: int) -> None:
        if self.sender() is not self._worker:
            return
        self.progress.setRange(0, total)  # (0, 0): busy, no count yet
        self.progress.setValue(done)
        name = _STAGES.get(stage, stage)
        self.stage.setText(f"{name} {done} / {total}" if total else f"{name}…")

    @QtCore.Slot(object)
    def _on_done(self, report) -> None:
        if self.sender() is self._worker:
            self.report = report

    @QtCore.Slot(bool, str)
    def _on_finished(self, cancelled: bool, error: str) -> None:
        worker = self.sender()
        self.runner.release(worker)
        if worker is not self._worker:
            return
        self._worker = None
        self._set_running(False)
        self.error = error
        if error:
            self.stage.setText("failed")
            self.say(error)
            return
        self.stage.setText("cancelled" if self.report.cancelled else "done")
        self.say("\n".join(self.report.summary()))
        self.on_done(self.report)

    def reject(self) -> None:
        if self.running:
            self.runner.cancel()
            self.runner.wait()
        super().reject()

    def closeEvent(self, event) -> None:
        if self.running:
            self.runner.cancel()
            self.runner.wait()
        super().closeEvent(event)
