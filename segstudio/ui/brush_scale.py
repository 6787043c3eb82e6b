"""The brush size follows the image (segstudio.core.brush_size): the Size slider shows image
pixels of the image on screen; when another image shows, the slider takes the same fraction of
that image's diagonal. The fraction is saved with the other settings as it changes."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.brush_size import pixel_size, relative_size
from segstudio.ui.settings import Settings

KEY = "tools/brush_fraction"


class BrushScale(QtCore.QObject):
    def __init__(self, slider: QtWidgets.QSlider, settings: Settings,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.slider = slider
        self.settings = settings
        value = settings.get(KEY, None, float)
        self.fraction: float | None = value if value is not None and value > 0 else None
        self.shape: tuple[int, int] | None = None
        self._following = False
        slider.valueChanged.connect(self._changed)

    def image_shown(self, shape: tuple[int, int]) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        if self.fraction is None:     # the first image: the size as it is now
            self._remember(self.slider.value())
            return
        # Set here, not by the user: the fraction stays what the user chose even where the
        # slider's range cuts it (a 2% brush on an 8000x6000 image is over 400 px).
        self._following = True
        try:
            self.slider.setValue(pixel_size(self.fraction, self.shape, self.slider.minimum(),
                                            self.slider.maximum()))
        finally:
            self._following = False

    def _changed(self, value: int) -> None:
        if not self._following and self.shape is not None:
            self._remember(value)

    def _remember(self, value: int) -> None:
        if self.shape is None:
            return
        self.fraction = relative_size(value, self.shape)
        self.settings.set(KEY, self.fraction)
        self.settings.sync()
