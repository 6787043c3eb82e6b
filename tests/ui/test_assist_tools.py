"""The assisted tools through the canvas with real mouse events: a dragged box becomes the
object (one undo step) and a click fixes it, scissors anchors and Enter fill an
edge-following outline, the region brush paints regions up to the object's edge; "Paint
only over" holds for each; the command table gives them keys and help rows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.editing import MaskDocument
from segstudio.ui.tools import Tool, ToolController
from tests.ui.test_canvas_tools import _drag, _send

H, W = 120, 160


def _scene() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    img = rng.integers(20, 60, (H, W, 3)).astype(np.uint8)
    obj = np.zeros((H, W), np.uint8)
    cv2.circle(obj, (80, 60), 30, 1, -1)
    img[obj > 0] = rng.integers(180, 230, (int(obj.sum()), 3))
    return img, obj > 0


@pytest.fixture
def setup(qtbot, shown_canvas):
    canvas = shown_canvas(640, 480)
    palette = np.zeros((256, 3), np.uint8)
    palette[:4] = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0)]
    img, obj = _scene()
    doc = MaskDocument(np.zeros((H, W), np.uint8), 255)
    canvas.set_image(img)
    canvas.set_mask(doc.mask, palette, 255)
    tools = ToolController()
    tools.set_document(doc)
    tools.set_image(img)
    tools.changed.connect(canvas.refresh)
    tools.polygon_preview.connect(canvas.set_polygon_preview)
    canvas.set_handler(tools)
    canvas.fit()
    QtWidgets.QApplication.processEvents()
    return canvas, tools, doc, obj


def _click(canvas, p, double: bool = False) -> None:
    vp = canvas.view.viewport()
    pos = canvas.view.mapFromScene(canvas.viewbox.mapViewToScene(QtCore.QPointF(*p)))
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton
    kinds = [QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseButtonRelease]
    if double:
        kinds += [QtCore.QEvent.Type.MouseButtonDblClick, QtCore.QEvent.Type.MouseButtonRelease]
    for kind in kinds:
        pressed = kind != QtCore.QEvent.Type.MouseButtonRelease
        _send(vp, kind, pos, left, left if pressed else none)


def _iou(a, b) -> float:
    return (a & b).sum() / (a | b).sum()


def test_box_becomes_the_object_and_a_click_fixes_it(setup, qtbot):
    canvas, tools, doc, obj = setup
    tools.set_tool(Tool.BOX)
    tools.value = 2
    _drag(canvas, [(46, 26), (80, 60), (114, 94)])
    assert tools.assist.busy or doc.mask.any()           # GrabCut runs off the GUI thread
    qtbot.waitUntil(lambda: not tools.assist.busy and doc.mask.any(), timeout=5000)
    assert _iou(doc.mask == 2, obj) > 0.9
    assert doc.touched is not None and doc.touched[60, 80]
    assert not canvas.polygon_preview.path().isEmpty()     # the box stays outlined
    _click(canvas, (80.5, 60.5))                           # on the object: takes it away
    qtbot.waitUntil(lambda: doc.mask[60, 80] == 0, timeout=5000)
    doc.undo()                                             # the click, then the box
    assert doc.mask[60, 80] == 2
    doc.undo()
    assert not doc.mask.any()


def test_box_respects_paint_only_over(setup):
    _canvas, tools, doc, obj = setup
    doc.mask[:, 80:] = 3
    doc.protect = 0
    tools.set_tool(Tool.BOX)
    tools.value = 2
    tools.drag_start((46, 26), (46, 26))
    tools.drag_finish((114, 94))
    tools.finish_assist()
    assert (doc.mask[:, 80:] == 3).all()
    assert (doc.mask[obj & (np.arange(W) < 80)] == 2).mean() > 0.9


def test_scissors_anchors_follow_the_edge_and_enter_fills(setup):
    canvas, tools, doc, obj = setup
    tools.set_tool(Tool.SCISSORS)
    tools.value = 1
    for p in ((50.5, 60.5), (80.5, 30.5), (110.5, 60.5), (80.5, 90.5)):
        _click(canvas, p)
    tools.hover((60.5, 85.5))
    assert tools.assist.scissors_active and not doc.mask.any()
    tools.finish_polygon()
    # Four anchors of a disc: a straight polygon would be a square of IoU 0.64.
    assert _iou(doc.mask == 1, obj) > 0.85
    assert not tools.assist.scissors_active and canvas.polygon_preview.path().isEmpty()


def test_a_box_dropped_before_it_is_computed_is_never_committed(setup):
    _canvas, tools, doc, _obj = setup
    tools.set_tool(Tool.BOX)
    tools.drag_start((46, 26), (46, 26))
    tools.drag_finish((114, 94))
    tools.cancel_polygon()                                 # Esc, undo, another image
    tools.finish_assist()
    assert not doc.mask.any() and not tools.assist.busy


def test_escape_and_other_tools_cancel_the_scissors(setup):
    _canvas, tools, doc, _obj = setup
    tools.set_tool(Tool.SCISSORS)
    tools.click((50.5, 60.5), False)
    tools.click((80.5, 30.5), False)
    tools.set_tool(Tool.BRUSH)
    assert not tools.assist.scissors_active and not doc.mask.any()


def test_region_brush_paints_up_to_the_edge(setup):
    canvas, tools, doc, obj = setup
    tools.set_tool(Tool.REGIONS)
    tools.value = 3
    tools.set_radius(6)
    _drag(canvas, [(70, 60), (80, 60), (90, 60)])
    painted = doc.mask == 3
    assert painted.sum() > 3 * np.pi * 36 and (painted & ~obj).sum() < 0.1 * painted.sum()
    doc.undo()
    assert not doc.mask.any()
    assert tools.brush_outline_radius() == 6


def test_the_tools_have_keys_and_help_rows():
    from segstudio.ui.commands import COMMANDS, TOOL_NAMES, shortcut_rows

    keys = {c.name: c.keys for c in COMMANDS}
    assert keys["tool_box"] == ("G",) and keys["tool_scissors"] == ("X",)
    assert keys["tool_regions"] == ("M",)
    assert {"tool_box", "tool_scissors", "tool_regions"} <= set(TOOL_NAMES)
    every = [k for c in COMMANDS for k in c.keys]
    assert len(every) == len(set(every))
    texts = " ".join(text for text, _ in shortcut_rows())
    assert "Scissors" in texts and "Region brush" in texts and "Box to object" in texts


def test_box_clicks_seed_the_brush_size_and_show_its_circle(setup, qtbot):
    # A refining click marks a disk of the brush's radius (a large wrong part, one click),
    # and the cursor shows that disk while there is a box to refine.
    canvas, tools, doc, _obj = setup
    shown = []
    tools.outline_changed.connect(shown.append)
    tools.set_tool(Tool.BOX)
    assert tools.brush_outline_radius() is None            # nothing to refine yet
    tools.value = 2
    tools.set_radius(10)
    _drag(canvas, [(46, 26), (80, 60), (114, 94)])
    qtbot.waitUntil(lambda: not tools.assist.busy and doc.mask.any(), timeout=5000)
    assert shown[-1] == 10 and tools.brush_outline_radius() == 10
    _click(canvas, (80.5, 60.5))                           # "not object" for 10 px around
    qtbot.waitUntil(lambda: doc.mask[60, 80] == 0, timeout=5000)
    assert not (doc.mask[60, 72:89] == 2).any()             # the whole disk, not 5 px of it
    tools.cancel_polygon()                                 # Esc: the box is done
    assert shown[-1] is None
