"""Fine-tune panel: one button, where the run starts from, live loss and validation mIoU
curves (epoch 0 is the model before training, measured on the same images), ETA and Cancel;
the project's settings (length in steps, crop size, batch, learning rate, class weights,
training on edited pixels) behind "Advanced", with values far from the defaults flagged."""

from __future__ import annotations

import math

import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.core import settings_schema as schema
from segstudio.engine.workflow.finetune import FinetuneSettings
from segstudio.ui.docks.model import format_eta


class FineTuneDock(QtWidgets.QDockWidget):
    """Emits `start()`, `cancel()` and `settings_changed()` (after any edit of a setting)."""

    start = QtCore.Signal()
    cancel = QtCore.Signal()
    settings_changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Fine-tune", parent)
        self.setObjectName("FineTuneDock")
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        row = QtWidgets.QHBoxLayout()
        self.start_button = QtWidgets.QPushButton("Fine-tune")
        self.start_button.setToolTip("Train the chosen network on the reviewed images (and the "
                                     "pixels you painted on edited ones); it becomes the active "
                                     "model only if it beats the current one")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.start_button, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.start_note = QtWidgets.QLabel("")
        self.start_note.setWordWrap(True)
        self.start_note.setStyleSheet("color: palette(mid);")
        layout.addWidget(self.start_note)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        # Sensible defaults; the settings stay folded away unless asked for.
        self.advanced = QtWidgets.QCheckBox("Advanced settings")
        form = QtWidgets.QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        base = FinetuneSettings()   # until a project's own settings are shown
        # Every range is core.settings_schema's, the one segstudio.json and the engine check.
        self.steps = _spin("steps", base.steps, step=50)
        self.steps.setToolTip("Optimiser steps; ten reviewed images need as many steps as a "
                              "thousand, so the length does not depend on the set's size")
        self.crop_h = _spin("height", base.height, step=16)
        self.crop_w = _spin("width", base.width, step=16)
        self.batch = _spin("batch", base.batch)
        self.lr = RateSpin()
        self.lr.setValue(base.lr)
        self.weighting = QtWidgets.QComboBox()
        self.weighting.addItems(list(schema.setting("weighting").choices))
        self.weighting.setToolTip("Class weights of the loss: none, median frequency, or ENet's "
                                  "1/ln(1.02 + p)")
        self.train_edited = QtWidgets.QCheckBox("Train on the pixels I painted on edited images")
        self.train_edited.setChecked(True)
        self.train_edited.setToolTip("Edited (not reviewed) images count only where you painted; "
                                     "their predicted rest is ignored")
        size = QtWidgets.QHBoxLayout()
        size.addWidget(self.crop_h)
        size.addWidget(QtWidgets.QLabel("×"))
        size.addWidget(self.crop_w)
        form.addRow("Steps", self.steps)
        form.addRow("Crop (h × w)", size)
        form.addRow("Batch", self.batch)
        form.addRow("Learning rate", self.lr)
        form.addRow("Class weights", self.weighting)
        form.addRow(self.train_edited)
        self.warnings = QtWidgets.QLabel("")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #d08020;")
        form.addRow(self.warnings)
        self._advanced_body = QtWidgets.QWidget()
        self._advanced_body.setLayout(form)
        self._advanced_body.setVisible(False)
        # A size policy that never asks the window to grow: the panel scrolls its own content
        # instead (the window must stay on a 1000-px screen with the status bar visible).
        self.advanced.toggled.connect(self._advanced_body.setVisible)
        layout.addWidget(self.advanced)
        layout.addWidget(self._advanced_body)
        for w in (self.steps, self.crop_h, self.crop_w, self.batch, self.lr):
            w.valueChanged.connect(self.settings_changed)
        self.weighting.currentIndexChanged.connect(self.settings_changed)
        self.train_edited.toggled.connect(self.settings_changed)

        self.loss_plot = _Plot(title="training loss")
        self.miou_plot = _Plot(title="val. mIoU")
        for plot in (self.loss_plot, self.miou_plot):
            plot.setMinimumHeight(110)
            plot.setMinimumWidth(110)
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
        self.loss_plot.setLabel("bottom", "step")
        self.miou_plot.setLabel("bottom", "epoch")
        self.miou_plot.setToolTip("Validation mIoU after each epoch; epoch 0 is the model "
                                  "before training, measured on the same images")
        self.miou_plot.setYRange(0, 1, padding=0.08)
        # Fixed ticks: the automatic ones crowd into each other on a short plot.
        self.miou_plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0, 0.5, 1)]])
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen((240, 160, 60), width=1.5))
        self.miou_curve = self.miou_plot.plot(
            pen=pg.mkPen((80, 200, 120), width=2), symbol="o", symbolSize=5
        )
        # Side by side: a panel is wider than the two plots need and shorter than stacked
        # plots would be, so they stay in view without scrolling.
        plots = QtWidgets.QHBoxLayout()
        plots.addWidget(self.loss_plot, 1)
        plots.addWidget(self.miou_plot, 1)
        layout.addLayout(plots, 1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self._loss: list[float] = []
        self._miou: list[float] = []
        self._epochs: list[float] = []
        # Step events overwrite the status line at once; the run's log messages (where it
        # started from, what was re-initialised) stay readable in its tooltip.
        self.run_log: list[str] = []
        self.set_running(False)

    # -- settings ------------------------------------------------------------------------
    def settings(self) -> FinetuneSettings:
        return FinetuneSettings(
            steps=self.steps.value(), height=self.crop_h.value(), width=self.crop_w.value(),
            batch=self.batch.value(), lr=self.lr.value(), weighting=self.weighting.currentText(),
            train_edited=self.train_edited.isChecked(),
            val_fraction=self._val_fraction,
        )

    _val_fraction = 0.2

    def apply_settings(self, s: FinetuneSettings) -> None:
        widgets = (self.steps, self.crop_h, self.crop_w, self.batch, self.lr, self.weighting,
                   self.train_edited)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.steps.setValue(s.steps)
            self.crop_h.setValue(s.height)
            self.crop_w.setValue(s.width)
            self.batch.setValue(s.batch)
            self.lr.setValue(s.lr)
            self.weighting.setCurrentText(s.weighting)
            self.train_edited.setChecked(s.train_edited)
            self._val_fraction = s.val_fraction
        finally:
            for w in widgets:
                w.blockSignals(False)

    def set_warnings(self, lines: list[str]) -> None:
        """Values far from the project's defaults; also shown on the folded panel's toggle."""
        self.warnings.setText("\n".join(f"⚠ {line}" for line in lines))
        self.advanced.setText("Advanced settings" + (f" ({len(lines)} unusual)" if lines else ""))

    def set_start_note(self, text: str) -> None:
        self.start_note.setText(text)

    # -- run state -----------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.advanced.setEnabled(not running)
        self._advanced_body.setEnabled(not running)

    def reset(self) -> None:
        """A new project: nothing of the previous one's run stays on screen."""
        self.reset_curves()
        self.status.setText("")
        self.start_note.setText("")
        self.set_warnings([])

    def reset_curves(self) -> None:
        self._loss, self._miou, self._epochs = [], [], []
        self.run_log = []
        self.status.setToolTip("")
        self.loss_curve.setData([], [])
        self.miou_curve.setData([], [])
        for plot in (self.loss_plot, self.miou_plot):
            _count_axis(plot, 0)

    def show_event(self, ev) -> None:
        """Update from a TrainEvent (kind step / epoch / done / log)."""
        kind = getattr(ev, "kind", "")
        epoch, epochs = getattr(ev, "epoch", 0), getattr(ev, "epochs", 0)
        eta = getattr(ev, "eta_s", None)
        eta_text = format_eta(-1 if eta is None else eta)
        if kind == "step" and ev.loss is not None:
            self._loss.append(float(ev.loss))
            self.loss_curve.setData(self._loss)
            # Steps count from 0; one point must not get pyqtgraph's -400..400 (x0.001) axis.
            _count_axis(self.loss_plot, len(self._loss) - 1)
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
                # At least a 0..1 range and integer ticks: one point must not get -6..8.
                _count_axis(self.miou_plot, max(self._epochs))
            if epoch == 0:
                text = "before training" + (f": val mIoU {miou:.3f}" if miou is not None else "")
                self.status.setText(text)
                return
            text = f"epoch {epoch}/{epochs} done"
            if miou is not None:
                text += f", val mIoU {miou:.3f}"
            self.status.setText(f"{text} · {eta_text}")
        elif kind == "log" and getattr(ev, "message", ""):
            self.status.setText(ev.message)
            self.run_log.append(ev.message)
            self.status.setToolTip("\n".join(self.run_log))


def _count_axis(plot: pg.PlotWidget, last: float) -> None:
    """An x axis of whole numbers from 0 to at least 1 (steps, epochs) with ticks at 1, 2 or 5
    times a power of ten: pyqtgraph's own range for one point is centred on it (-400..400
    scaled by 0.001 for step 0), which reads as broken."""
    top = max(1, math.ceil(last))
    plot.setXRange(0, top, padding=0.05)
    step = tick_step(top)
    plot.getAxis("bottom").setTicks([[(v, str(v)) for v in range(0, top + 1, step)]])


def tick_step(top: int, most: int = 6) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... that puts at most `most` intervals in 0..top."""
    scale = 1
    while True:
        for m in (1, 2, 5):
            if top <= most * m * scale:
                return m * scale
        scale *= 10


class _Plot(pg.PlotWidget):
    """A plot that asks for a modest height: pyqtgraph's 480-px size hint made the panel's
    scroll area (which sizes word-wrapped content by its hints) scroll past the plots."""

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(160, 150)


def _spin(name: str, value: int, step: int = 1) -> QtWidgets.QSpinBox:
    spec = schema.setting(name)
    s = QtWidgets.QSpinBox()
    s.setRange(int(spec.min), int(spec.max))
    s.setSingleStep(step)
    s.setValue(value)
    return s


class RateSpin(QtWidgets.QDoubleSpinBox):
    """A learning rate over the schema's whole range (1e-8..1), shown as 0.001 or 1e-06:
    fixed decimals would either hide the small rates or show "0.00100000". The arrows
    double or halve it, which is how rates are tried."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        spec = schema.setting("lr")
        self.setDecimals(12)   # the stored precision; the text is textFromValue's
        self.setRange(float(spec.min), float(spec.max))

    def textFromValue(self, value: float) -> str:
        return f"{value:.3g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            value = float(text)
        except ValueError:
            # Part of a number being typed ("1e-", "0.") is intermediate, not invalid.
            ok = all(c in "0123456789.eE-+" for c in text)
            state = QtGui.QValidator.State.Intermediate if ok else QtGui.QValidator.State.Invalid
            return state, text, pos
        inside = self.minimum() <= value <= self.maximum()
        state = QtGui.QValidator.State.Acceptable if inside else \
            QtGui.QValidator.State.Intermediate
        return state, text, pos

    def stepBy(self, steps: int) -> None:
        self.setValue(self.value() * 2.0 ** steps)
