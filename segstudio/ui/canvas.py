"""The canvas: image, label overlay, contour and confidence views on a pyqtgraph ViewBox.

The canvas only draws. Mouse gestures in image coordinates go to a `handler` (the tool
controller), which edits the MaskDocument and tells the canvas which box changed.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.ui.raster import (
    BBox,
    RasterItem,
    boundaries,
    confidence_color_table,
    label_color_table,
)

Point = tuple[float, float]


class GestureHandler(Protocol):
    """What the canvas calls with image coordinates (x, y) in mask pixels."""

    def wants_drag(self, button: QtCore.Qt.MouseButton) -> bool: ...
    def drag_start(self, p0: Point, p1: Point) -> None: ...
    def drag_move(self, p0: Point, p1: Point) -> None: ...
    def drag_finish(self, p: Point) -> None: ...
    def click(self, p: Point, double: bool) -> None: ...
    def pick(self, p: Point) -> None: ...


class EditViewBox(pg.ViewBox):
    """A ViewBox that hands left-button gestures to the current tool; pans otherwise."""

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.handler: GestureHandler | None = None
        self._last: Point | None = None

    def _img(self, pos: QtCore.QPointF) -> Point:
        p = self.mapToView(pos)
        return (p.x(), p.y())

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() == QtCore.Qt.MouseButton.RightButton:
            # Right drag pans (pyqtgraph would zoom), so every tool can pan without switching.
            ev.accept()
            d = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
            self.translateBy(x=d.x(), y=d.y())
            return
        h = self.handler
        if h is None or not h.wants_drag(ev.button()):
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        p = self._img(ev.pos())
        if ev.isStart():
            self._last = self._img(ev.buttonDownPos())
            h.drag_start(self._last, p)
        elif ev.isFinish():
            if self._last is not None:
                h.drag_move(self._last, p)
            h.drag_finish(p)
            self._last = None
            return
        elif self._last is not None:
            h.drag_move(self._last, p)
        self._last = p

    def mouseClickEvent(self, ev) -> None:
        if self.handler is not None and ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            if ev.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier:
                self.handler.pick(self._img(ev.pos()))   # eyedropper with any tool
                return
            self.handler.click(self._img(ev.pos()), ev.double())
        elif (ev.button() == QtCore.Qt.MouseButton.RightButton and self.handler is not None
              and getattr(self.handler, "wants_right_click", lambda: False)()):
            ev.accept()                  # the SAM tool: a point off the object
            self.handler.right_click(self._img(ev.pos()))
        else:
            super().mouseClickEvent(ev)


class Canvas(QtWidgets.QWidget):
    """Image + overlay view. `cursor_moved(x, y, value)` reports the pixel under the mouse
    (value = mask class or -1) and `(-1, -1, -1)` when the mouse leaves the image;
    `zoom_changed(factor)` screen pixels per image pixel, when the view zooms."""

    cursor_moved = QtCore.Signal(int, int, int)
    zoom_changed = QtCore.Signal(float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsView(background=(40, 40, 40))
        self.viewbox = EditViewBox()
        self.view.setCentralItem(self.viewbox)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self.image_item = RasterItem()
        self.label_item = RasterItem()
        self.contour_item = RasterItem()
        self.confidence_item = RasterItem()
        for z, item in enumerate(
            (self.image_item, self.label_item, self.contour_item, self.confidence_item)
        ):
            item.setZValue(z)
            self.viewbox.addItem(item)
        self.contour_item.setVisible(False)
        self.confidence_item.setVisible(False)

        pen = pg.mkPen((255, 255, 255), width=1.5, cosmetic=True)
        self.brush_outline = QtWidgets.QGraphicsEllipseItem()
        self.brush_outline.setPen(pen)
        self.brush_outline.setZValue(10)
        self.brush_outline.setVisible(False)
        self.viewbox.addItem(self.brush_outline, ignoreBounds=True)

        self.polygon_preview = QtWidgets.QGraphicsPathItem()
        self.polygon_preview.setPen(pg.mkPen((255, 255, 0), width=1.5, cosmetic=True))
        self.polygon_preview.setZValue(11)
        self.viewbox.addItem(self.polygon_preview, ignoreBounds=True)

        self._mask: np.ndarray | None = None
        self._contours: np.ndarray | None = None
        self._ignore = 255
        self._label_table: list[int] = []
        self._hidden: frozenset[int] = frozenset()
        self._zoom = 0.0
        self._brush_radius: float | None = None
        self._overlay_visible = True
        self._contour_mode = False
        self._last_scene_pos: QtCore.QPointF | None = None
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)
        self.viewbox.sigRangeChanged.connect(self._range_changed)
        self.viewbox.sigResized.connect(self._range_changed)

    # -- content -------------------------------------------------------------------------
    def set_handler(self, handler: GestureHandler | None) -> None:
        self.viewbox.handler = handler

    def set_image(self, rgb: np.ndarray, *, fit: bool = True) -> None:
        self.image_item.set_rgb(rgb)
        if fit:
            self.fit()

    def set_mask(self, mask: np.ndarray, palette: np.ndarray, ignore_index: int) -> None:
        """Show `mask` (shared with the MaskDocument, which edits it in place)."""
        self._mask = mask
        self._ignore = ignore_index
        self._label_table = label_color_table(palette, ignore_index, self._hidden)
        self.label_item.set_indexed(mask, self._label_table)
        self._contours = None
        if self._contour_mode:
            self._rebuild_contours()

    def set_palette(self, palette: np.ndarray, ignore_index: int) -> None:
        self._ignore = ignore_index
        self._label_table = label_color_table(palette, ignore_index, self._hidden)
        self.label_item.set_color_table(self._label_table)
        self.contour_item.set_color_table(self._label_table)

    def set_hidden_classes(self, hidden, palette: np.ndarray, ignore_index: int) -> None:
        """Classes not drawn in the overlay (display only: they stay in the mask)."""
        self._hidden = frozenset(int(i) for i in hidden)
        self.set_palette(palette, ignore_index)

    def hidden_classes(self) -> frozenset[int]:
        return self._hidden

    def set_image_lut(self, lut: np.ndarray | None) -> None:
        """Brightness / contrast / gamma of the image on screen (None: as it is)."""
        self.image_item.set_lut(lut)

    def set_confidence(self, confidence: np.ndarray | None) -> None:
        """`confidence`: (H, W) uint8, 255 = certain; None hides the view's content."""
        if confidence is None:
            self.confidence_item.clear()
        else:
            self.confidence_item.set_indexed(confidence, confidence_color_table())

    def clear(self) -> None:
        for item in (self.image_item, self.label_item, self.contour_item, self.confidence_item):
            item.clear()
        self._mask = None
        self._contours = None
        self._last_scene_pos = None

    def refresh(self, bbox: BBox | None) -> None:
        """The mask changed inside `bbox`: repaint only that box."""
        if bbox is None:
            return
        self.label_item.update_box(bbox)
        if self._contour_mode and self._contours is not None and self._mask is not None:
            boundaries(self._mask, self._ignore, self._contours, bbox)
            self.contour_item.update_box(bbox)

    # -- view options --------------------------------------------------------------------
    def set_opacity(self, opacity: float) -> None:
        self.label_item.setOpacity(opacity)
        self.contour_item.setOpacity(max(opacity, 0.6))

    def set_overlay_visible(self, visible: bool) -> None:
        self._overlay_visible = visible
        self._apply_overlay_mode()

    def overlay_visible(self) -> bool:
        return self._overlay_visible

    def set_contour_mode(self, on: bool) -> None:
        self._contour_mode = on
        if on and self._contours is None and self._mask is not None:
            self._rebuild_contours()
        self._apply_overlay_mode()

    def set_confidence_visible(self, on: bool) -> None:
        self.confidence_item.setVisible(on)

    def _apply_overlay_mode(self) -> None:
        self.label_item.setVisible(self._overlay_visible and not self._contour_mode)
        self.contour_item.setVisible(self._overlay_visible and self._contour_mode)

    def _rebuild_contours(self) -> None:
        assert self._mask is not None
        self._contours = np.full_like(self._mask, self._ignore)
        boundaries(self._mask, self._ignore, self._contours)
        self.contour_item.set_indexed(self._contours, self._label_table)

    # -- zoom ----------------------------------------------------------------------------
    def fit(self) -> None:
        rect = self.image_item.boundingRect()
        if not rect.isEmpty():
            self.viewbox.setRange(rect, padding=0.02)

    def one_to_one(self) -> None:
        """One image pixel per screen pixel, centred where the view is now."""
        rect = self.viewbox.viewRect()
        size = self.viewbox.size()
        # Device pixels, so 1:1 means one image pixel per physical pixel on HiDPI screens.
        ratio = self.view.devicePixelRatioF() or 1.0
        w, h = size.width() * ratio, size.height() * ratio
        c = rect.center()
        self.viewbox.setRange(
            QtCore.QRectF(c.x() - w / 2, c.y() - h / 2, w, h), padding=0
        )

    def zoom(self, factor: float) -> None:
        self.viewbox.scaleBy((1 / factor, 1 / factor))

    def zoom_factor(self) -> float:
        """Screen (device) pixels per image pixel: 1.0 is 1:1, 0.25 shows 4x4 pixels as one."""
        rect = self.viewbox.viewRect()
        if rect.width() <= 0 or self.image_item.array is None:
            return 0.0
        ratio = self.view.devicePixelRatioF() or 1.0
        return self.viewbox.width() * ratio / rect.width()

    def _range_changed(self, *_args) -> None:
        zoom = self.zoom_factor()
        if zoom > 0 and abs(zoom - self._zoom) > 1e-9:
            self._zoom = zoom
            self.zoom_changed.emit(zoom)

    # -- cursor --------------------------------------------------------------------------
    def set_brush_radius(self, radius: float | None) -> None:
        """Show the brush outline of `radius` image pixels under the mouse; None hides it."""
        self._brush_radius = radius
        if radius is None:
            self.brush_outline.setVisible(False)
            self.view.setCursor(QtCore.Qt.CursorShape.ArrowCursor)
        else:
            self.view.setCursor(QtCore.Qt.CursorShape.CrossCursor)
            c = self.brush_outline.rect().center()
            self._place_outline(c.x(), c.y())

    def set_polygon_preview(self, points: list[Point], cursor: Point | None = None) -> None:
        path = QtGui.QPainterPath()
        pts = list(points) + ([cursor] if cursor is not None and points else [])
        if pts:
            path.moveTo(*pts[0])
            for p in pts[1:]:
                path.lineTo(*p)
        self.polygon_preview.setPath(path)

    def _place_outline(self, x: float, y: float) -> None:
        r = self._brush_radius
        if r is None:
            return
        self.brush_outline.setRect(QtCore.QRectF(x - r, y - r, 2 * r, 2 * r))

    def refresh_cursor(self) -> None:
        """Report the pixel under the mouse again (its class changed under a still mouse)."""
        if self._last_scene_pos is not None:
            self._mouse_moved(self._last_scene_pos)

    def _mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        self._last_scene_pos = scene_pos
        p = self.viewbox.mapSceneToView(scene_pos)
        x, y = p.x(), p.y()
        inside = self.viewbox.sceneBoundingRect().contains(scene_pos)
        if self._brush_radius is not None:
            self._place_outline(x, y)
            self.brush_outline.setVisible(inside)
        ix, iy = int(np.floor(x)), int(np.floor(y))
        m = self._mask
        if inside and m is not None and 0 <= iy < m.shape[0] and 0 <= ix < m.shape[1]:
            self.cursor_moved.emit(ix, iy, int(m[iy, ix]))
        elif inside and self.image_item.array is not None:
            a = self.image_item.array
            if 0 <= iy < a.shape[0] and 0 <= ix < a.shape[1]:
                self.cursor_moved.emit(ix, iy, -1)
            else:
                self.cursor_moved.emit(-1, -1, -1)
        else:
            self.cursor_moved.emit(-1, -1, -1)
