"""Canvas and tools with real mouse events: left drag paints through the MaskDocument, right
drag pans, fill / polygon / eraser / protect, contour and confidence views, cursor readout."""

from __future__ import annotations

import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.core.editing import MaskDocument
from segstudio.ui.tools import Tool, ToolController

H, W = 120, 160


@pytest.fixture
def setup(qtbot, shown_canvas):
    canvas = shown_canvas(640, 480)
    palette = np.zeros((256, 3), np.uint8)
    palette[:4] = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0)]
    doc = MaskDocument(np.zeros((H, W), np.uint8), 255)
    canvas.set_image(np.full((H, W, 3), 90, np.uint8))
    canvas.set_mask(doc.mask, palette, 255)
    tools = ToolController()
    tools.set_document(doc)
    tools.changed.connect(canvas.refresh)
    canvas.set_handler(tools)
    canvas.fit()
    QtWidgets.QApplication.processEvents()
    return canvas, tools, doc


def _send(widget, kind, pos, button, buttons):
    pos = QtCore.QPointF(pos)
    ev = QtGui.QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons,
                           QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, ev)


def _drag(canvas, points, button=QtCore.Qt.MouseButton.LeftButton):
    """Press at the first image point, move through the rest, release at the last."""
    vp = canvas.view.viewport()

    def screen(p):
        scene = canvas.viewbox.mapViewToScene(QtCore.QPointF(*p))
        return canvas.view.mapFromScene(scene)

    none = QtCore.Qt.MouseButton.NoButton
    _send(vp, QtCore.QEvent.Type.MouseButtonPress, screen(points[0]), button, button)
    for p in points[1:]:
        _send(vp, QtCore.QEvent.Type.MouseMove, screen(p), none, button)
    _send(vp, QtCore.QEvent.Type.MouseButtonRelease, screen(points[-1]), button, none)


def test_left_drag_paints_one_undo_step(setup):
    canvas, tools, doc = setup
    tools.value = 2
    tools.set_radius(3)
    _drag(canvas, [(20, 60), (40, 60), (80, 62), (120, 64)])
    assert doc.mask[62, 80] == 2 and doc.mask[64, 118] == 2
    assert doc.mask[10, 10] == 0
    assert not tools.stroke_active
    doc.undo()
    assert not doc.mask.any()  # the whole drag was one step


def test_right_drag_pans_and_does_not_paint(setup):
    canvas, _tools, doc = setup
    before = canvas.viewbox.viewRect()
    _drag(canvas, [(80, 60), (70, 60), (40, 50)], QtCore.Qt.MouseButton.RightButton)
    after = canvas.viewbox.viewRect()
    assert after.center().x() > before.center().x() + 10
    assert not doc.mask.any()


def test_pan_tool_moves_view_with_left_drag(setup):
    canvas, tools, doc = setup
    tools.set_tool(Tool.PAN)
    before = canvas.viewbox.viewRect()
    _drag(canvas, [(80, 60), (60, 60), (40, 60)])
    assert canvas.viewbox.viewRect().center().x() > before.center().x() + 10
    assert not doc.mask.any()


def test_fill_polygon_eraser_and_protect(setup):
    _canvas, tools, doc = setup
    doc.mask[:, 80:] = 1
    tools.set_tool(Tool.FILL)
    tools.value = 3
    tools.click((10.5, 10.5), False)
    assert (doc.mask[:, :80] == 3).all() and (doc.mask[:, 80:] == 1).all()

    tools.set_tool(Tool.POLYGON)
    tools.value = 2
    for p in [(90, 10), (150, 10), (150, 50)]:
        tools.click(p, False)
    tools.click((150, 50), True)  # double click closes
    assert doc.mask[15, 140] == 2 and doc.mask[45, 95] == 1

    doc.protect = 3  # paint only over class 3
    tools.set_tool(Tool.BRUSH)
    tools.set_radius(5)
    tools.drag_start((70, 100), (90, 100))
    tools.drag_finish((90, 100))
    assert doc.mask[100, 75] == 2 and doc.mask[100, 85] == 1
    doc.protect = None

    tools.set_tool(Tool.ERASER)
    tools.click((140.5, 15.5), False)
    assert doc.mask[15, 140] == 255


def test_contour_view_and_confidence_and_cursor(setup, qtbot):
    canvas, _tools, doc = setup
    doc.mask[40:80, 40:100] = 1
    canvas.refresh((0, 0, H, W))
    canvas.set_contour_mode(True)
    assert canvas.contour_item.isVisible() and not canvas.label_item.isVisible()
    contours = canvas.contour_item.array
    assert contours[40, 50] == 1 and contours[60, 70] == 255  # edge kept, inside cleared
    # An edit updates the contours of its box.
    doc.mask[60:62, 60:62] = 2
    canvas.refresh((60, 60, 62, 62))
    assert contours[60, 60] == 2
    canvas.set_contour_mode(False)
    assert canvas.label_item.isVisible()

    conf = np.full((H, W), 255, np.uint8)
    conf[:10] = 20
    canvas.set_confidence(conf)
    canvas.set_confidence_visible(True)
    assert canvas.confidence_item.isVisible()
    table = canvas.confidence_item._qimage.colorTable()
    assert table[20] >> 24 > 120 and table[255] >> 24 == 0  # unsure: opaque, sure: clear

    scene = canvas.viewbox.mapViewToScene(QtCore.QPointF(50.5, 60.5))
    with qtbot.waitSignal(canvas.cursor_moved, timeout=1000) as sig:
        canvas.view.scene().sigMouseMoved.emit(scene)
    assert sig.args == [50, 60, 1]
