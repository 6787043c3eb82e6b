"""Model dock: architecture, checkpoint (shipped default, the project's own, or a file), the
device, and the segmentation buttons with progress, ETA and Cancel."""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

CHOOSE_FILE = "__choose__"


def format_eta(seconds: float) -> str:
    if seconds < 0:
        return "estimating…"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s left"
    return f"{seconds // 60} min {seconds % 60:02d} s left"


class ModelDock(QtWidgets.QDockWidget):
    """Emits `segment_image`, `segment_all`, `cancel` and `checkpoint_changed(path or '')`."""

    segment_image = QtCore.Signal()
    segment_all = QtCore.Signal()
    cancel = QtCore.Signal()
    checkpoint_changed = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.setObjectName("ModelDock")
        body = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(body)
        self.arch = QtWidgets.QComboBox()
        self.arch.setToolTip("Architecture that fine-tuning trains")
        self.checkpoint = QtWidgets.QComboBox()
        self.checkpoint.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.checkpoint.setMinimumContentsLength(12)
        self.checkpoint.activated.connect(self._checkpoint_activated)
        self.device = QtWidgets.QLabel("…")
        self.device.setWordWrap(True)
        form.addRow("Network", self.arch)
        form.addRow("Weights", self.checkpoint)
        form.addRow("Device", self.device)
        buttons = QtWidgets.QHBoxLayout()
        self.segment_image_button = QtWidgets.QPushButton("Segment image")
        self.segment_all_button = QtWidgets.QPushButton("Segment all unlabeled")
        self.segment_image_button.clicked.connect(self.segment_image)
        self.segment_all_button.clicked.connect(self.segment_all)
        buttons.addWidget(self.segment_image_button)
        buttons.addWidget(self.segment_all_button)
        form.addRow(buttons)
        progress = QtWidgets.QHBoxLayout()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.cancel_button)
        form.addRow(progress)
        self.eta = QtWidgets.QLabel("")
        form.addRow(self.eta)
        body.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred,
                           QtWidgets.QSizePolicy.Policy.Maximum)
        self.setWidget(body)
        self.set_running(False)
        self._last_path = ""

    def set_architectures(self, names: list[str], current: str | None = None) -> None:
        self.arch.clear()
        self.arch.addItems(names)
        if current in names:
            self.arch.setCurrentText(current)

    def set_checkpoints(self, items: list[tuple[str, Path]], current: Path | None) -> None:
        """`items`: (label, path) pairs; a last entry lets the user pick a file."""
        self.checkpoint.blockSignals(True)
        self.checkpoint.clear()
        for label, path in items:
            self.checkpoint.addItem(label, str(path))
            self.checkpoint.setItemData(self.checkpoint.count() - 1, str(path),
                                        QtCore.Qt.ItemDataRole.ToolTipRole)
        if not items:
            self.checkpoint.addItem("(none: fine-tune to make one)", "")
        self.checkpoint.addItem("Choose file…", CHOOSE_FILE)
        index = self.checkpoint.findData(str(current)) if current is not None else -1
        self.checkpoint.setCurrentIndex(max(index, 0))
        self._last_path = self.checkpoint.currentData() or ""
        self.checkpoint.blockSignals(False)
        has = bool(self.current_checkpoint())
        tip = "" if has else "Choose a checkpoint file or fine-tune a model first"
        for b in (self.segment_image_button, self.segment_all_button):
            b.setToolTip(tip)
        self._update_buttons()

    def current_checkpoint(self) -> Path | None:
        data = self.checkpoint.currentData()
        return Path(data) if data and data != CHOOSE_FILE else None

    def _checkpoint_activated(self, index: int) -> None:
        if self.checkpoint.itemData(index) == CHOOSE_FILE:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Choose checkpoint", "", "Checkpoints (*.safetensors)"
            )
            if not path:
                i = self.checkpoint.findData(self._last_path)
                self.checkpoint.setCurrentIndex(max(i, 0))
                return
            self.checkpoint_changed.emit(path)
            return
        self._last_path = self.checkpoint.itemData(index) or ""
        self._update_buttons()
        self.checkpoint_changed.emit(self._last_path)

    def set_running(self, running: bool) -> None:
        self._running = running
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        if not running:
            self.eta.setText("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        ok = not getattr(self, "_running", False) and self.current_checkpoint() is not None
        self.segment_image_button.setEnabled(ok)
        self.segment_all_button.setEnabled(ok)

    def show_progress(self, done: int, total: int, eta_s: float) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")
        self.eta.setText(format_eta(eta_s) if done < total else "finishing…")
