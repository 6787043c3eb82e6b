"""Graphics items that draw a numpy buffer through a QImage sharing its memory.

Refreshing a whole 8000x6000 overlay with `ImageItem.setImage` re-encodes every pixel (about
190 ms); these items wrap the buffer once and, after an edit, repaint only the changed box: the
mask *is* the `Format_Indexed8` image, its colour table holds the class colours.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

BBox = tuple[int, int, int, int]  # (y0, x0, y1, x1), half-open, mask pixels


def bbox_rect(bbox: BBox) -> QtCore.QRectF:
    y0, x0, y1, x1 = bbox
    return QtCore.QRectF(x0, y0, x1 - x0, y1 - y0)


class RasterItem(pg.GraphicsObject):
    """Paints a QImage in image-pixel coordinates, only over the exposed rectangle."""

    def __init__(self) -> None:
        super().__init__()
        self._array: np.ndarray | None = None
        self._qimage: QtGui.QImage | None = None
        # exposedRect is only filled in when this flag is set; without it every update
        # would repaint the whole bounding rect.
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.paint_count = 0
        self.painted_area = 0.0
        self._lut: np.ndarray | None = None

    @property
    def array(self) -> np.ndarray | None:
        return self._array

    def _wrap(self, array: np.ndarray, fmt: QtGui.QImage.Format) -> None:
        if not array.flags.c_contiguous:
            raise ValueError("RasterItem needs a C-contiguous array to share its memory")
        self.prepareGeometryChange()
        self._array = array
        self._qimage = pg.functions.ndarray_to_qimage(array, fmt)
        self.update()

    def set_rgb(self, rgb: np.ndarray) -> None:
        """Show an (H, W, 3) uint8 RGB image (shared, not copied)."""
        self._wrap(np.ascontiguousarray(rgb, dtype=np.uint8), QtGui.QImage.Format.Format_RGB888)

    def set_indexed(self, array: np.ndarray, color_table: list[int]) -> None:
        """Show an (H, W) uint8 index map (shared, not copied) through `color_table` (ARGB)."""
        self._wrap(array, QtGui.QImage.Format.Format_Indexed8)
        self.set_color_table(color_table)

    def set_color_table(self, color_table: list[int]) -> None:
        if self._qimage is not None:
            self._qimage.setColorTable(color_table)
            self.update()

    def set_lut(self, lut: np.ndarray | None) -> None:
        """Show an RGB image through a 256-entry uint8 lookup table (None: as it is).

        Display only: the array is never changed. The table is applied at paint time to the
        exposed part, sampled at screen resolution, so a change costs one repaint of the
        screen's pixels, not a pass over an 8000x6000 image."""
        self._lut = None if lut is None else np.ascontiguousarray(lut, np.uint8).reshape(256)
        self.update()

    @property
    def lut(self) -> np.ndarray | None:
        return self._lut

    def clear(self) -> None:
        self.prepareGeometryChange()
        self._array = None
        self._qimage = None
        self.update()

    def update_box(self, bbox: BBox | None) -> None:
        """Schedule a repaint of the changed box only."""
        if bbox is not None:
            self.update(bbox_rect(bbox))

    def boundingRect(self) -> QtCore.QRectF:
        if self._qimage is None:
            return QtCore.QRectF()
        return QtCore.QRectF(0, 0, self._qimage.width(), self._qimage.height())

    def paint(self, painter, option, widget=None) -> None:
        if self._qimage is None:
            return
        # Whole source pixels only: a fractional source rect makes Qt resample.
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        exposed = exposed.intersected(self._qimage.rect())
        if exposed.isEmpty():
            return
        self.paint_count += 1
        self.painted_area += exposed.width() * exposed.height()
        if self._lut is not None and self._array is not None and self._array.ndim == 3:
            self._paint_through_lut(painter, exposed)
            return
        painter.drawImage(QtCore.QRectF(exposed), self._qimage, QtCore.QRectF(exposed))

    def _paint_through_lut(self, painter, exposed: QtCore.QRect) -> None:
        # Image pixels per device pixel: when zoomed out, every step-th pixel is what the
        # screen shows anyway (Qt's fast transform samples the same way).
        t = painter.deviceTransform()
        scale = max(float(np.hypot(t.m11(), t.m12())), 1e-6)
        step = max(1, int(1.0 / scale))
        # Only what lands on the device: at 1:1 on an 8000x6000 image the exposed rect can be
        # the whole image, while the screen shows a window's worth of it.
        inverse, ok = t.inverted()
        device = painter.device()
        if ok and device is not None:
            dpr = device.devicePixelRatioF()    # whichever space the transform maps to
            seen = inverse.mapRect(QtCore.QRectF(0, 0, device.width() * dpr,
                                                 device.height() * dpr))
            exposed = exposed.intersected(seen.toAlignedRect())
            if exposed.isEmpty():
                return
        x0, y0 = exposed.x(), exposed.y()
        x1, y1 = x0 + exposed.width(), y0 + exposed.height()
        sub = self._array[y0:y1:step, x0:x1:step]
        shown = np.ascontiguousarray(self._lut[sub])
        h, w = shown.shape[:2]
        qimage = QtGui.QImage(shown.data, w, h, shown.strides[0],
                              QtGui.QImage.Format.Format_RGB888)
        painter.drawImage(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0), qimage,
                          QtCore.QRectF(0, 0, w, h * 1.0))


def argb(color: tuple[int, int, int], alpha: int = 255) -> int:
    r, g, b = (int(c) for c in color[:3])
    return QtGui.qRgba(r, g, b, alpha)


def label_color_table(palette: np.ndarray, ignore_index: int,
                      hidden: frozenset[int] = frozenset()) -> list[int]:
    """Class colours from ClassSet.palette(); void and `hidden` classes are transparent so the
    image shows through."""
    table = [argb(tuple(palette[i])) for i in range(256)]
    for i in (ignore_index, *hidden):
        table[i] = QtGui.qRgba(0, 0, 0, 0)
    return table


def confidence_color_table(color: tuple[int, int, int] = (255, 0, 255)) -> list[int]:
    """Index i = round(255 * confidence): strongest at low confidence, clear above 0.9."""
    table = []
    for i in range(256):
        conf = i / 255.0
        alpha = 0.0 if conf >= 0.9 else min(1.0, (0.9 - conf) / 0.5)
        # At most ~2/3 opaque: the image must stay visible under a highlight.
        table.append(argb(color, round(170 * alpha)))
    return table


def boundaries(
    mask: np.ndarray, ignore_index: int, out: np.ndarray, bbox: BBox | None = None
) -> None:
    """Write into `out` the mask where a 4-neighbour has another class, else ignore_index.

    Only `bbox` (grown by one pixel, since an edit changes its neighbours' edges too) is
    recomputed, so the contour view costs as little per stroke as the filled view.
    """
    h, w = mask.shape
    if bbox is None:
        bbox = (0, 0, h, w)
    y0, x0 = max(bbox[0] - 1, 0), max(bbox[1] - 1, 0)
    y1, x1 = min(bbox[2] + 1, h), min(bbox[3] + 1, w)
    if y0 >= y1 or x0 >= x1:
        return
    # Read one more pixel around the region so its border pixels see their neighbours.
    ry0, rx0, ry1, rx1 = max(y0 - 1, 0), max(x0 - 1, 0), min(y1 + 1, h), min(x1 + 1, w)
    region = mask[ry0:ry1, rx0:rx1]
    edge = np.zeros(region.shape, dtype=bool)
    vert = region[1:, :] != region[:-1, :]
    horiz = region[:, 1:] != region[:, :-1]
    edge[1:, :] |= vert
    edge[:-1, :] |= vert
    edge[:, 1:] |= horiz
    edge[:, :-1] |= horiz
    inner = (slice(y0 - ry0, y1 - ry0), slice(x0 - rx0, x1 - rx0))
    out[y0:y1, x0:x1] = np.where(edge[inner], region[inner], np.uint8(ignore_index))
