"""Editing tools: turn canvas gestures into MaskDocument calls.

No painting or undo logic lives here; the MaskDocument does both. The controller only picks
which document call a gesture means and reports the changed box so the canvas repaints it.
"""

from __future__ import annotations

import enum
import math

from pyqtgraph.Qt import QtCore

from segstudio.core.editing import MaskDocument
from segstudio.ui.assist_tools import AssistTools
from segstudio.ui.sam_tool import SamTool

Point = tuple[float, float]


class Tool(enum.Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    FILL = "fill"
    POLYGON = "polygon"
    PAN = "pan"
    PICK = "pick"
    BOX = "box"              # GrabCut: a box becomes the object; clicks refine it
    SCISSORS = "scissors"    # a polygon whose edges follow image edges
    REGIONS = "regions"      # a brush that paints whole edge-bounded regions
    SAM = "sam"              # Segment Anything: points become the object's mask
    OBJECT_FILL = "object_fill"  # fill the object under a click, not the whole region

BRUSHES = (Tool.BRUSH, Tool.ERASER, Tool.REGIONS)
SAM_TOOLS = (Tool.SAM, Tool.OBJECT_FILL)     # the tools that have SAM encode the image


class ToolController(QtCore.QObject):
    """`changed(bbox)` after every edit (bbox may be None when nothing changed);
    `polygon_preview(points, cursor)` while a polygon is being drawn; `picked(value)` when the
    eyedropper took the class under the cursor (the pick tool, or Ctrl+click with any tool),
    and `tool_changed(tool)` whenever the tool changes (a key, the toolbar, or the pick tool
    handing back to the tool used before it)."""

    changed = QtCore.Signal(object)
    polygon_preview = QtCore.Signal(list, object)
    picked = QtCore.Signal(int)
    tool_changed = QtCore.Signal(object)
    # The cursor's circle: its radius, or None for none (the box tool shows one only while
    # a box is there to refine).
    outline_changed = QtCore.Signal(object)

    MIN_RADIUS, MAX_RADIUS = 0.5, 500.0

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.document: MaskDocument | None = None
        self.tool = Tool.BRUSH
        self.radius = 8.0
        self.value = 0
        self._stroke = False
        self._polygon: list[Point] = []
        self._before_pick = Tool.BRUSH
        self.assist = AssistTools()
        self._box_start: Point | None = None
        self.sam = SamTool(self)
        self.sam.committed.connect(self.changed)

    # -- settings ------------------------------------------------------------------------
    def set_document(self, document: MaskDocument | None) -> None:
        self._end_stroke()
        self.cancel_polygon()
        self.document = document

    def set_image(self, rgb) -> None:
        """The image the assisted tools look at (the one whose document is shown)."""
        self.cancel_polygon()
        self.assist.set_image(rgb)
        self.sam.set_image(rgb)

    def set_tool(self, tool: Tool) -> None:
        changed = tool is not self.tool
        if changed:
            self.cancel_polygon()
        want = (tool in SAM_TOOLS, tool is Tool.OBJECT_FILL)     # (on, quiet)
        if want != (self.sam.active, self.sam.quiet):
            self.sam.activate(*want)
        if tool is Tool.PICK and self.tool is not Tool.PICK:
            self._before_pick = self.tool
        self.tool = tool
        if changed:
            self.tool_changed.emit(tool)

    def set_radius(self, radius: float) -> None:
        self.radius = min(max(float(radius), self.MIN_RADIUS), self.MAX_RADIUS)

    def grow(self, factor: float) -> float:
        self.set_radius(self.radius * factor)
        return self.radius

    @property
    def stroke_active(self) -> bool:
        return self._stroke

    def brush_outline_radius(self) -> float | None:
        # The box tool's refining clicks mark a seed of the brush's size: its circle shows
        # once there is a box to refine.
        if self.tool is Tool.BOX and self.assist.box_active:
            return self.radius
        return self.radius if self.tool in BRUSHES else None

    # -- gestures (GestureHandler) -------------------------------------------------------
    def wants_drag(self, button: QtCore.Qt.MouseButton) -> bool:
        return (
            self.document is not None
            and button == QtCore.Qt.MouseButton.LeftButton
            and self.tool in (*BRUSHES, Tool.BOX)
        )

    def drag_start(self, p0: Point, p1: Point) -> None:
        if self.document is None:
            return
        if self.tool is Tool.BOX:
            self._box_start = p0
            self._preview_box(p0, p1)
            return
        self.document.begin_stroke()
        self._stroke = True
        self._segment(p0, p1)

    def drag_move(self, p0: Point, p1: Point) -> None:
        if self._stroke:
            self._segment(p0, p1)
        elif self._box_start is not None:
            self._preview_box(self._box_start, p1)

    def drag_finish(self, p: Point) -> None:
        start, self._box_start = self._box_start, None
        if start is not None and self.document is not None:
            if self.assist.box(self.document, self.value, start, p):
                self._poll_assist()
            else:
                self.polygon_preview.emit([], None)
            return
        self._end_stroke()

    def _poll_assist(self) -> None:
        # GrabCut runs on the assist worker; the GUI thread looks every 10 ms and commits
        # the result here, on its own thread, so the window never waits for it.
        bbox = self.assist.poll()
        if self.assist.busy:
            QtCore.QTimer.singleShot(10, self._poll_assist)
            return
        self.changed.emit(bbox)
        self.polygon_preview.emit(self.assist.box_outline(), None)
        self.outline_changed.emit(self.brush_outline_radius())

    def finish_assist(self) -> None:
        """Wait for a box or click being computed and commit it (tests, scripts)."""
        if self.assist.busy:
            self.changed.emit(self.assist.poll(wait=True))
            self.polygon_preview.emit(self.assist.box_outline(), None)
            self.outline_changed.emit(self.brush_outline_radius())

    def _preview_box(self, p0: Point, p1: Point) -> None:
        (x0, y0), (x1, y1) = p0, p1
        self.polygon_preview.emit([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)], None)

    def click(self, p: Point, double: bool) -> None:
        doc = self.document
        if doc is None:
            return
        if self.tool in BRUSHES:
            doc.begin_stroke()
            self._stroke = True
            self._segment(p, p)
            self._end_stroke()
        elif self.tool is Tool.FILL:
            x, y = int(p[0]), int(p[1])
            h, w = doc.mask.shape
            if 0 <= x < w and 0 <= y < h:
                self.changed.emit(doc.fill(x, y, self.value))
        elif self.tool is Tool.PICK:
            self.pick(p)
            # One pick, then back to painting with the class picked.
            self.set_tool(self._before_pick)
        elif self.tool is Tool.BOX:
            if self.assist.refine(p, self.radius):
                self._poll_assist()
        elif self.tool is Tool.SAM:
            self.sam.click(p, positive=True)
        elif self.tool is Tool.OBJECT_FILL:
            if self.assist.object_fill(doc, self.value, p, self.sam.point_mask()):
                self._poll_assist()
        elif self.tool is Tool.SCISSORS:
            if double:
                self.finish_polygon()
            else:
                self.polygon_preview.emit(self.assist.anchor(p), None)
        elif self.tool is Tool.POLYGON:
            if double:
                self.finish_polygon()
            else:
                self._polygon.append(p)
                self.polygon_preview.emit(list(self._polygon), None)

    def pick(self, p: Point) -> None:
        """Take the value under `p` (a class, or void) as the one to paint with."""
        doc = self.document
        if doc is None:
            return
        x, y = math.floor(p[0]), math.floor(p[1])
        h, w = doc.mask.shape
        if 0 <= x < w and 0 <= y < h:
            self.picked.emit(int(doc.mask[y, x]))

    def wants_right_click(self) -> bool:
        """The SAM tool takes right clicks (a point off the object); others leave them."""
        return self.document is not None and self.tool is Tool.SAM

    def right_click(self, p: Point) -> None:
        if self.tool is Tool.SAM:
            self.sam.click(p, positive=False)

    def hover(self, p: Point) -> None:
        if self.tool is Tool.SAM:
            self.sam.hover(p)
        elif self.tool is Tool.SCISSORS and self.assist.scissors_active:
            self.polygon_preview.emit(self.assist.outline(p), None)
        elif self._polygon:
            self.polygon_preview.emit(list(self._polygon), p)

    # -- polygon -------------------------------------------------------------------------
    def finish_polygon(self) -> None:
        """Enter / double click: close the polygon or the scissors' outline; commit SAM's
        mask."""
        if self.tool is Tool.SAM:
            if self.document is not None:
                self.sam.commit(self.document, self.value)
            return
        if self.assist.scissors_active:
            self.polygon_preview.emit([], None)
            if self.document is not None:
                self.changed.emit(self.assist.finish_scissors(self.document, self.value))
            return
        points, self._polygon = self._polygon, []
        self.polygon_preview.emit([], None)
        if self.document is not None and len(points) >= 3:
            self.changed.emit(self.document.polygon(points, self.value))

    def cancel_polygon(self) -> None:
        """Esc, undo, another tool or image: drop the outline being drawn; a box's object
        stays as it is and clicks no longer refine it; SAM's points go."""
        self.sam.cancel()
        if self.assist.scissors_active or self.assist.box_active:
            self.assist.cancel_scissors()
            self.assist.end_box()
            self.polygon_preview.emit([], None)
            self.outline_changed.emit(self.brush_outline_radius())
        if self._polygon:
            self._polygon = []
            self.polygon_preview.emit([], None)

    # -- internals -----------------------------------------------------------------------
    def _segment(self, p0: Point, p1: Point) -> None:
        doc = self.document
        assert doc is not None
        if self.tool is Tool.ERASER:
            bbox = doc.erase(p0, p1, self.radius)
        elif self.tool is Tool.REGIONS:
            bbox = self.assist.regions(doc, self.value, p0, p1, self.radius)
        else:
            bbox = doc.brush(p0, p1, self.radius, self.value)
        if bbox is not None:
            self.changed.emit(bbox)

    def _end_stroke(self) -> None:
        if self._stroke and self.document is not None:
            self.document.end_stroke()
            self.changed.emit(None)
        self._stroke = False
