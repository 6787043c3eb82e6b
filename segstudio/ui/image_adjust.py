"""Brightness, contrast and gamma of the image on screen, for dark or low-contrast images.

Display only: the adjustment is one 256-entry lookup table that the canvas applies while it
paints (see RasterItem.set_lut); the image data, the labels and what is saved never change.
A change costs a repaint, not a pass over an 8000x6000 array. "Auto" stretches the 1st..99th
percentile of a sample of the image to the full range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

SAMPLE_PIXELS = 250_000   # "Auto" looks at about this many pixels of any image
MAX_CONTRAST = 8.0


@dataclass(frozen=True)
class Adjustment:
    brightness: float = 0.0   # added to the input, -0.5 .. 0.5 of the range
    contrast: float = 1.0     # slope around mid-grey, 1/8 .. 8
    gamma: float = 1.0        # > 1 brightens the shadows, 0.2 .. 5

    @property
    def identity(self) -> bool:
        return self == Adjustment()

    def lut(self) -> np.ndarray:
        """The (256,) uint8 table: out = ((x + brightness - .5) * contrast + .5) ** (1/gamma).

        Brightness moves the input before the contrast stretches it around mid-grey, so any
        display range [lo, hi] is brightness .5 - (lo + hi) / 2 and contrast 1 / (hi - lo)
        (ImageJ's and napari's "contrast limits", as two sliders)."""
        x = np.arange(256, dtype=np.float64) / 255.0
        y = np.clip((x + self.brightness - 0.5) * self.contrast + 0.5, 0.0, 1.0)
        y = y ** (1.0 / self.gamma)
        return np.round(y * 255.0).astype(np.uint8)


def auto_adjustment(rgb: np.ndarray) -> Adjustment:
    """Contrast and brightness that stretch the 1st..99th percentile of the image's luminance
    (from a strided sample) over the full range."""
    h, w = rgb.shape[:2]
    step = max(1, int(np.sqrt(h * w / SAMPLE_PIXELS)))
    sample = rgb[::step, ::step].astype(np.float32)
    luma = sample[..., 0] * 0.299 + sample[..., 1] * 0.587 + sample[..., 2] * 0.114
    lo, hi = np.percentile(luma, (1, 99)) / 255.0
    if hi - lo < 1e-3:
        return Adjustment()
    contrast = float(np.clip(1.0 / (hi - lo), 1 / MAX_CONTRAST, MAX_CONTRAST))
    brightness = float(np.clip(0.5 - (lo + hi) / 2, -0.5, 0.5))
    return Adjustment(round(brightness, 2), round(contrast, 2), 1.0)


class AdjustPanel(QtWidgets.QWidget):
    """Three sliders, Auto and Reset; `changed(Adjustment)` as they move. Shown from the tool
    bar's "Image" button; the sliders work with the keyboard too."""

    changed = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: np.ndarray | None = None     # what "Auto" measures (set by the window)
        form = QtWidgets.QFormLayout(self)
        self.brightness = _slider(-50, 50, "Brightness: added to every pixel before the "
                                  "contrast (display only)")
        self.contrast = _slider(-100, 100, "Contrast: slope around mid-grey, 1/8x to 8x")
        self.gamma = _slider(-100, 100, "Gamma 0.2 to 5; right brightens the shadows")
        self.values = {s: QtWidgets.QLabel() for s in (self.brightness, self.contrast,
                                                        self.gamma)}
        for text, s in (("Brightness", self.brightness), ("Contrast", self.contrast),
                        ("Gamma", self.gamma)):
            row = QtWidgets.QHBoxLayout()
            row.addWidget(s, 1)
            self.values[s].setMinimumWidth(self.fontMetrics().horizontalAdvance("0.00x") + 4)
            row.addWidget(self.values[s])
            form.addRow(text, row)
            s.valueChanged.connect(self._moved)
        buttons = QtWidgets.QHBoxLayout()
        self.auto_button = QtWidgets.QPushButton("Auto")
        self.auto_button.setToolTip("Stretch this image's 1st..99th percentile over the range")
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.auto_button.clicked.connect(self.auto)
        self.reset_button.clicked.connect(lambda: self.set_adjustment(Adjustment()))
        buttons.addWidget(self.auto_button)
        buttons.addWidget(self.reset_button)
        form.addRow(buttons)
        self._show_values()

    def adjustment(self) -> Adjustment:
        return Adjustment(self.brightness.value() / 100.0,
                          float(MAX_CONTRAST ** (self.contrast.value() / 100.0)),
                          float(5.0 ** (self.gamma.value() / 100.0)))

    def set_adjustment(self, adj: Adjustment) -> None:
        for s, v in ((self.brightness, round(adj.brightness * 100)),
                     (self.contrast, round(100 * np.log(adj.contrast) / np.log(MAX_CONTRAST))),
                     (self.gamma, round(100 * np.log(adj.gamma) / np.log(5.0)))):
            s.blockSignals(True)
            s.setValue(int(v))
            s.blockSignals(False)
        self._moved()

    def auto(self) -> None:
        if self.image is not None:
            self.set_adjustment(auto_adjustment(self.image))

    def _moved(self, *_args) -> None:
        self._show_values()
        self.changed.emit(self.adjustment())

    def _show_values(self) -> None:
        adj = self.adjustment()
        self.values[self.brightness].setText(f"{adj.brightness:+.2f}")
        self.values[self.contrast].setText(f"{adj.contrast:.2f}x")
        self.values[self.gamma].setText(f"{adj.gamma:.2f}")


def _slider(lo: int, hi: int, tip: str) -> QtWidgets.QSlider:
    s = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(0)
    s.setToolTip(tip)
    s.setMinimumWidth(140)
    return s
