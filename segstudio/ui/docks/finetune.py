"""Fine-tune panel: one button, live loss and validation mIoU curves, epoch, ETA, Cancel; the
settings (epochs, size, batch, learning rate, class weighting) behind "Advanced"."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.ui.docks.model import format_eta


@dataclass
class FineTuneSettings:
    epochs: int = 15
    height: int = 192
    width: int = 256
    batch: int = 4
    lr: float = 1e-3
    weighting: str = "none"


class FineTuneDock(QtWidgets.QDockWidget):
    """Emits `start()` and `cancel()`; the window builds the TrainConfig from `settings()`."""

    start = QtCore.Signal()
    cancel = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Fine-tune", parent)
        self.setObjectName("FineTuneDock")
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        row = QtWidgets.QHBoxLayout()
        self.start_button = QtWidgets.QPushButton("Fine-tune")
        self.start_button.setToolTip("Train the chosen network on the reviewed images, starting "
                                     "from the current weights")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.start_button, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        # Sensible defaults; the settings stay folded away unless asked for.
        self.advanced = QtWidgets.QCheckBox("Advanced settings")
        form = QtWidgets.QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.epochs = _spin(1, 1000, 15)
        self.height = _spin(32, 4096, 192, step=32)
        self.width = _spin(32, 4096, 256, step=32)
        self.batch = _spin(1, 256, 4)
        self.lr = QtWidgets.QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(1e-3)
        self.weighting = QtWidgets.QComboBox()
        self.weighting.addItems(["none", "median", "enet"])
        self.weighting.setToolTip("Class weights of the loss: none, median frequency, or ENet's "
                                  "1/ln(1.02 + p)")
        size = QtWidgets.QHBoxLayout()
        size.addWidget(self.height)
        size.addWidget(QtWidgets.QLabel("×"))
        size.addWidget(self.width)
        form.addRow("Epochs", self.epochs)
        form.addRow("Size (h × w)", size)
        form.addRow("Batch", self.batch)
        form.addRow("Learning rate", self.lr)
        form.addRow("Class weights", self.weighting)
        self._advanced_body = QtWidgets.QWidget()
        self._advanced_body.setLayout(form)
        self._advanced_body.setVisible(False)
        self.advanced.toggled.connect(self._advanced_body.setVisible)
        layout.addWidget(self.advanced)
        layout.addWidget(self._advanced_body)

        self.loss_plot = pg.PlotWidget(title="training loss")
        self.miou_plot = pg.PlotWidget(title="validation mIoU")
        for plot in (self.loss_plot, self.miou_plot):
            plot.setMinimumHeight(110)
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
        self.loss_plot.setLabel("bottom", "step")
        self.miou_plot.setLabel("bottom", "epoch")
        self.miou_plot.setYRange(0, 1, padding=0.08)
        # Fixed ticks: the automatic ones crowd into each other on a short plot.
        self.miou_plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0, 0.5, 1)]])
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen((240, 160, 60), width=1.5))
        self.miou_curve = self.miou_plot.plot(
            pen=pg.mkPen((80, 200, 120), width=2), symbol="o", symbolSize=5
        )
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.miou_plot, 1)
        self.setWidget(body)
        self._loss: list[float] = []
        self._miou: list[float] = []
        self._epochs: list[float] = []
        # Step events overwrite the status line at once; the run's log messages (where it
        # started from, what was re-initialised) stay readable in its tooltip.
        self.run_log: list[str] = []
        self.set_running(False)

    # -- settings ------------------------------------------------------------------------
    def settings(self) -> FineTuneSettings:
        return FineTuneSettings(
            epochs=self.epochs.value(), height=self.height.value(), width=self.width.value(),
            batch=self.batch.value(), lr=self.lr.value(), weighting=self.weighting.currentText(),
        )

    def apply_settings(self, s: FineTuneSettings) -> None:
        self.epochs.setValue(s.epochs)
        self.height.setValue(s.height)
        self.width.setValue(s.width)
        self.batch.setValue(s.batch)
        self.lr.setValue(s.lr)
        self.weighting.setCurrentText(s.weighting)

    # -- run state -----------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.advanced.setEnabled(not running)
        self._advanced_body.setEnabled(not running)

    def reset_curves(self) -> None:
        self._loss, self._miou, self._epochs = [], [], []
        self.run_log = []
        self.status.setToolTip("")
        self.loss_curve.setData([], [])
        self.miou_curve.setData([], [])

    def show_event(self, ev) -> None:
        """Update from a TrainEvent (kind step / epoch / done / log)."""
        kind = getattr(ev, "kind", "")
        epoch, epochs = getattr(ev, "epoch", 0), getattr(ev, "epochs", 0)
        eta = getattr(ev, "eta_s", None)
        eta_text = format_eta(-1 if eta is None else eta)
        if kind == "step" and ev.loss is not None:
            self._loss.append(float(ev.loss))
            self.loss_curve.setData(self._loss)
            step = getattr(ev, "step", 0)
            steps = getattr(ev, "steps", 0)
            self.status.setText(f"epoch {epoch}/{epochs}, step {step}/{steps}, "
                                f"loss {ev.loss:.3f} · {eta_text}")
        elif kind == "epoch":
            miou = (ev.metrics or {}).get("miou")
            if miou is not None:
                self._epochs.append(float(epoch))
                self._miou.append(float(miou))
                self.miou_curve.setData(self._epochs, self._miou)
            text = f"epoch {epoch}/{epochs} done"
            if miou is not None:
                text += f", val mIoU {miou:.3f}"
            self.status.setText(f"{text} · {eta_text}")
        elif kind == "log" and getattr(ev, "message", ""):
            self.status.setText(ev.message)
            self.run_log.append(ev.message)
            self.status.setToolTip("\n".join(self.run_log))


def _spin(lo: int, hi: int, value: int, step: int = 1) -> QtWidgets.QSpinBox:
    s = QtWidgets.QSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setValue(value)
    return s
