"""The window's commands, and the one table that gives each its text, keys, menu and the
callable that runs it. `actions.py` turns the table into QActions, menus and the shortcut
list of the help dialog, so the three never disagree.

Each command is a thin call into a part of the window (canvas, tools, session, runs, docks).
The parts are passed in by name (`CommandParts`); of the window itself the commands see only
the small `WindowView` protocol (project, image on screen, show/open/close).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageState
from segstudio.ui.tools import Tool

if TYPE_CHECKING:
    from segstudio.ui.canvas import Canvas
    from segstudio.ui.class_remapping import ClassRemapper
    from segstudio.ui.docks.files import FilesDock
    from segstudio.ui.docks.model import ModelDock
    from segstudio.ui.docks.palette import PaletteDock
    from segstudio.ui.notifier import Notifier
    from segstudio.ui.other_writers import OtherWriters
    from segstudio.ui.runs import Runs
    from segstudio.ui.toolbar import ViewToolbar
    from segstudio.ui.tools import ToolController
    from segstudio.ui.window_parts import WindowView


@dataclass(frozen=True)
class CommandParts:
    """The window's parts the commands call; each is built before the commands are."""

    dialog_parent: QtWidgets.QWidget
    canvas: Canvas
    tools: ToolController
    palette: PaletteDock
    files: FilesDock
    model_dock: ModelDock
    runs: Runs
    toolbar: ViewToolbar
    other_writers: OtherWriters
    remapper: ClassRemapper
    notify: Notifier


class Commands:
    """The handlers: `w` is the window as `WindowView`; the parts are attributes by name."""

    def __init__(self, window: WindowView, parts: CommandParts) -> None:
        self.w = window
        self.dialog_parent = parts.dialog_parent
        self.canvas = parts.canvas
        self.tools = parts.tools
        self.palette = parts.palette
        self.files = parts.files
        self.model_dock = parts.model_dock
        self.runs = parts.runs
        self.toolbar = parts.toolbar
        self.other_writers = parts.other_writers
        self.remapper = parts.remapper
        self.notify = parts.notify

    # -- file ----------------------------------------------------------------------------
    def open_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.dialog_parent,
                                                            "Open a folder of images")
        if folder:
            self.w.open_folder(Path(folder))

    def sample_project(self) -> None:
        from segstudio.core.sample import make_sample_project

        # ~/.local/share/segstudio/sample-project (AppDataLocation would say segstudio twice:
        # organisation and application share the name).
        base = QtCore.QStandardPaths.writableLocation(
            QtCore.QStandardPaths.StandardLocation.GenericDataLocation
        )
        folder = (Path(base) / "segstudio" if base else Path.home() / ".segstudio") \
            / "sample-project"
        try:
            if not (folder / "segstudio.json").is_file():
                make_sample_project(folder)
        except (SegstudioError, OSError) as exc:
            self.notify.error(f"{folder}: cannot create the sample project ({exc})",
                                dialog=True)
            return
        self.w.open_folder(folder)

    def save(self) -> None:
        w = self.w
        if w.session is not None and w.current_key is not None:
            entry = w.session.entry(w.current_key)
            if w.session.is_dirty(entry.key):
                # Before save(): a fast write may report (e.g. a failure) within the call.
                self.notify.status(f"saving {w.session.project.label_path(entry)}", 3000)
                w.session.save(entry)
            w.update_title()

    def import_labels(self) -> None:
        from segstudio.ui.dialogs.transfer import import_dialog

        import_dialog(self.dialog_parent)

    def export_labels(self) -> None:
        from segstudio.ui.dialogs.transfer import export_dialog

        export_dialog(self.dialog_parent)

    def quit(self) -> None:
        self.w.close()

    # -- edit ----------------------------------------------------------------------------
    def undo(self) -> None:
        doc = self.w.current_document()
        if doc is not None and doc.can_undo:
            self.tools.cancel_polygon()
            doc.undo()      # the canvas follows the document's change event
            self.w.update_title()
        elif self.remapper.can_undo:   # right after a class delete / merge: take it back
            self.remapper.undo_last()

    def redo(self) -> None:
        doc = self.w.current_document()
        if doc is not None and doc.can_redo:
            doc.redo()
            self.w.update_title()

    def mark_reviewed(self, checked: bool = True) -> None:
        """Toggle the reviewed mark of the image on screen (taking it back is explicit)."""
        w = self.w
        if w.session is None or w.current_key is None or w.image_shape is None:
            return
        entry = w.session.entry(w.current_key)
        if w.session.set_reviewed(entry, checked, w.image_shape):
            self.notify.status(f"{entry.key}: {'reviewed' if checked else 'not reviewed'}")
        w.update_title()

    def review_and_next(self) -> None:
        """Mark reviewed and go to the next image that is not reviewed, in the list's order."""
        w = self.w
        if w.session is None or w.current_key is None or w.image_shape is None:
            return
        entry = w.session.entry(w.current_key)
        if w.session.state(entry) is not ImageState.REVIEWED:
            w.session.set_reviewed(entry, True, w.image_shape)
        w.update_title()
        if not self._step(1, unreviewed=True):
            self.notify.status("reviewed; no unreviewed image after it in the list")

    def next_unreviewed(self) -> None:
        if not self._step(1, unreviewed=True):
            self.notify.status("no unreviewed image after this one in the list")

    def _step(self, step: int, *, unreviewed: bool = False) -> bool:
        w = self.w
        keys = self.files.ordered_keys()
        if not keys or w.session is None:
            return False
        i = keys.index(w.current_key) if w.current_key in keys else -step
        i += step
        while 0 <= i < len(keys):
            if not unreviewed or \
                    w.session.state(w.session.entry(keys[i])) is not ImageState.REVIEWED:
                w.show_image(keys[i])
                return True
            i += step
        return False

    def next_image(self) -> None:
        self._step(1)

    def prev_image(self) -> None:
        self._step(-1)

    # -- tools ---------------------------------------------------------------------------
    def _tool(self, tool: Tool) -> None:
        # The tool's action and the brush outline follow `tools.tool_changed` (ViewControls),
        # whoever changed the tool: this key, the toolbar or the eyedropper handing back.
        self.tools.set_tool(tool)

    def pick_class(self, index: int) -> None:
        """A class key: paint with class `index` (keys beyond the project's classes: say so)."""
        classes = self.palette.classes
        if classes is None:
            return
        if index >= classes.num_classes:
            self.notify.status(f"no class {index + 1}: this project has {classes.num_classes}",
                               3000)
            return
        self.palette.select(index)

    def brush_smaller(self) -> None:
        s = self.toolbar.brush_size
        s.setValue(max(s.minimum(), round(s.value() / 1.25)))

    def brush_larger(self) -> None:
        s = self.toolbar.brush_size
        s.setValue(min(s.maximum(), max(s.value() + 1, round(s.value() * 1.25))))

    # -- view ----------------------------------------------------------------------------
    def confidence_view(self, checked: bool) -> None:
        w = self.w
        self.canvas.set_confidence_visible(checked)
        if checked and w.session is not None and w.current_key is not None \
                and w.current_key not in w.session.confidence_maps:
            self.notify.status("no confidence map for this image yet: segment it first")

    def adjust_image(self) -> None:
        self.toolbar.show_adjust_panel()

    # -- model ---------------------------------------------------------------------------
    def weights(self) -> None:
        from segstudio.ui.dialogs.weights import WeightsDialog

        WeightsDialog.show_for(self.dialog_parent)

    def help(self) -> None:
        from segstudio.ui.dialogs.shortcuts import show_shortcuts

        show_shortcuts(self.dialog_parent, shortcut_rows())


@dataclass(frozen=True)
class Command:
    name: str
    text: str
    keys: tuple[str, ...] = ()
    menu: str = ""
    run: Callable[..., None] | None = None   # run(commands) or run(commands, checked)
    checkable: bool = False
    needs_project: bool = True   # disabled (and its keys inert) until a project is open


def _tool(tool: Tool) -> Callable[[Commands, bool], None]:
    return lambda c, _checked=True: c._tool(tool)


TOOL_NAMES = ("tool_brush", "tool_eraser", "tool_fill", "tool_polygon", "tool_box",
              "tool_scissors", "tool_regions", "tool_sam", "tool_object_fill", "tool_pick",
              "tool_pan")
C = Commands
COMMANDS: tuple[Command, ...] = (
    Command("open_folder", "&Open folder…", ("Ctrl+O",), "File", C.open_folder,
            needs_project=False),
    Command("sample_project", "Try a &sample project", (), "File", C.sample_project,
            needs_project=False),
    Command("save", "&Save label", ("Ctrl+S",), "File", C.save),
    Command("import_labels", "&Import labels…", (), "File", C.import_labels,
            needs_project=False),
    Command("export_labels", "&Export labels…", (), "File", C.export_labels),
    Command("quit", "&Quit", ("Ctrl+Q",), "File", C.quit, needs_project=False),
    Command("undo", "&Undo", ("Ctrl+Z",), "Edit", C.undo),
    Command("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Edit", C.redo),
    Command("mark_reviewed", "Mark &reviewed", ("Ctrl+R",), "Edit", C.mark_reviewed,
            checkable=True),
    Command("review_and_next", "Mark reviewed and &go to the next unreviewed", ("R",),
            "Edit", C.review_and_next),
    Command("next_image", "&Next image", ("PgDown", "N"), "Edit", C.next_image),
    Command("prev_image", "&Previous image", ("PgUp", "Shift+N"), "Edit", C.prev_image),
    Command("next_unreviewed", "Next &unreviewed image", ("U",), "Edit", C.next_unreviewed),
    Command("tool_brush", "&Brush", ("B",), "Tools", _tool(Tool.BRUSH), checkable=True),
    Command("tool_eraser", "&Eraser (paints void)", ("E",), "Tools", _tool(Tool.ERASER),
            checkable=True),
    Command("tool_fill", "&Fill", ("F",), "Tools", _tool(Tool.FILL), checkable=True),
    Command("tool_polygon", "P&olygon (click points, Enter closes)", ("P",), "Tools",
            _tool(Tool.POLYGON), checkable=True),
    # Short texts: the help's Keys column gets what the longest text leaves.
    Command("tool_box", "Bo&x to object (drag; clicks fix it)", ("G",), "Tools",
            _tool(Tool.BOX), checkable=True),
    Command("tool_scissors", "&Scissors (edges follow the image)", ("X",), "Tools",
            _tool(Tool.SCISSORS), checkable=True),
    Command("tool_regions", "Re&gion brush (up to image edges)", ("M",), "Tools",
            _tool(Tool.REGIONS), checkable=True),
    Command("tool_sam", "S&AM (clicks become the object; Enter commits)", ("A",), "Tools",
            _tool(Tool.SAM), checkable=True),
    Command("tool_object_fill", "Object fill (the ob&ject, not its whole region)",
            ("Shift+F",), "Tools", _tool(Tool.OBJECT_FILL), checkable=True),
    Command("tool_pick", "Pic&k class (eyedropper; Ctrl+click with any tool)", ("I",), "Tools",
            _tool(Tool.PICK), checkable=True),
    Command("tool_pan", "P&an", ("H",), "Tools", _tool(Tool.PAN), checkable=True),
    Command("brush_smaller", "Brush smaller", ("[",), "Tools", C.brush_smaller),
    Command("brush_larger", "Brush larger", ("]",), "Tools", C.brush_larger),
    Command("finish_polygon", "Close polygon or scissors", ("Return", "Enter"), "Tools",
            lambda c: c.tools.finish_polygon()),
    Command("cancel_polygon", "Cancel polygon or scissors; end a box's clicks", ("Escape",),
            "Tools",
            lambda c: c.tools.cancel_polygon()),
    Command("toggle_overlay", "Show &overlay", ("O",), "View",
            lambda c, on: c.canvas.set_overlay_visible(on), checkable=True),
    Command("contour_view", "&Contours only", ("C",), "View",
            lambda c, on: c.canvas.set_contour_mode(on), checkable=True),
    Command("confidence_view", "Con&fidence view (low confidence highlighted)", ("K",), "View",
            C.confidence_view, checkable=True),
    Command("hide_class", "&Hide or show the current class in the overlay", ("V",), "View",
            lambda c: c.palette.toggle_hidden()),
    Command("solo_class", "&Solo the current class (again: show all)", ("S",), "View",
            lambda c: c.palette.solo()),
    Command("show_all_classes", "Show every &class", ("Shift+V",), "View",
            lambda c: c.palette.set_hidden(())),
    Command("adjust_image", "Image &brightness, contrast, gamma…", ("Ctrl+B",), "View",
            C.adjust_image),
    Command("zoom_fit", "Zoom to &fit", ("Ctrl+0", "0"), "View", lambda c: c.canvas.fit()),
    Command("zoom_1to1", "Zoom &1:1", ("Ctrl+1",), "View", lambda c: c.canvas.one_to_one()),
    Command("zoom_in", "Zoom &in", ("Ctrl+=", "Ctrl++", "+"), "View",
            lambda c: c.canvas.zoom(1.25)),
    Command("zoom_out", "Zoom o&ut", ("Ctrl+-", "-"), "View", lambda c: c.canvas.zoom(0.8)),
    Command("sort_confidence", "&Worst first (least confident at the top)", (), "View",
            lambda c, on: c.files.sort_by_confidence(on), checkable=True),
    Command("refresh_queue", "Refresh the file list (other windows' saves too), its order "
            "and filter", ("F5",), "View", lambda c: c.other_writers.refresh()),
    Command("segment_image", "Segment &image", ("Ctrl+G",), "Model",
            lambda c: c.runs.segment_current()),
    Command("segment_all", "Segment &unlabeled images", ("Ctrl+Shift+G",), "Model",
            lambda c: c.runs.segment.segment_unlabeled()),
    Command("resegment", "&Re-segment images that are not reviewed…", (), "Model",
            lambda c: c.model_dock.resegment.emit()),
    Command("fine_tune", "&Fine-tune", (), "Model", lambda c: c.runs.start_fine_tune()),
    Command("weights", "Pretrained &weights…", (), "Model", C.weights, needs_project=False),
    Command("help", "&Keyboard shortcuts", ("F1",), "Help", C.help, needs_project=False),
)


def shortcut_rows() -> list[tuple[str, str]]:
    """The help dialog's rows, from the table, so the keys shown are the keys bound."""
    rows = [
        (cmd.text.replace("&", ""), ", ".join(cmd.keys)) for cmd in COMMANDS if cmd.keys
    ]
    rows.append(("Pick class 1-9", "1 … 9"))
    rows.append(("Pick class 10-18", "Shift+1 … Shift+9"))
    rows.append(("Pick the class under the cursor", "Ctrl+click (any tool)"))
    rows.append(("Zoom the view", "mouse wheel"))
    rows.append(("Pan the view", "right or middle drag (any tool), left drag (pan tool)"))
    return rows
