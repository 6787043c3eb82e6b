"""The window's commands: `actions.py` wires each QAction to `act_<name>` of the window.

A mixin of MainWindow, kept apart so the window module holds layout and saving only (image
switching is the `image_switching.py` mixin). Each command is a thin call into the canvas,
tools, session or runs.
"""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.errors import SegstudioError
from segstudio.ui.actions import show_help
from segstudio.ui.tools import Tool


class Commands:
    def act_open_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.open_folder(Path(folder))

    def act_sample_project(self) -> None:
        from segstudio.core.sample import make_sample_project

        base = QtCore.QStandardPaths.writableLocation(
            QtCore.QStandardPaths.StandardLocation.AppDataLocation
        )
        folder = Path(base or Path.home() / ".segstudio") / "sample-project"
        try:
            if not (folder / "segstudio.json").is_file():
                make_sample_project(folder)
        except (SegstudioError, OSError) as exc:
            self.show_error(f"{folder}: cannot create the sample project ({exc})", dialog=True)
            return
        self.open_folder(folder)

    def act_save(self) -> None:
        if self.session is not None and self.current_key is not None:
            entry = self.session.entry(self.current_key)
            if self.session.is_dirty(entry.key):
                # Before save(): a fast write may report (e.g. a failure) within the call.
                self.show_status(f"saving {self.session.project.label_path(entry)}", 3000)
                self.session.save(entry)
            self.update_title()

    def act_import_labels(self) -> None:
        from segstudio.ui.dialogs.transfer import import_dialog

        import_dialog(self)

    def act_export_labels(self) -> None:
        from segstudio.ui.dialogs.transfer import export_dialog

        export_dialog(self)

    def act_quit(self) -> None:
        self.close()

    def act_undo(self) -> None:
        doc = self.current_document()
        if doc is not None and doc.can_undo:
            self.tools.cancel_polygon()
            self.canvas.refresh(doc.undo())
            self.update_title()

    def act_redo(self) -> None:
        doc = self.current_document()
        if doc is not None and doc.can_redo:
            self.canvas.refresh(doc.redo())
            self.update_title()

    def act_mark_reviewed(self, checked: bool = True) -> None:
        if self.session is None or self.current_key is None or self._image_shape is None:
            return
        entry = self.session.entry(self.current_key)
        if self.session.set_reviewed(entry, checked, self._image_shape):
            self.show_status(f"{entry.key}: {'reviewed' if checked else 'not reviewed'}")
        self.update_title()

    def _step_image(self, step: int) -> None:
        keys = self.files.ordered_keys()
        if not keys:
            return
        i = keys.index(self.current_key) + step if self.current_key in keys else 0
        if 0 <= i < len(keys):
            self.show_image(keys[i])

    def act_next_image(self) -> None:
        self._step_image(1)

    def act_prev_image(self) -> None:
        self._step_image(-1)

    def _set_tool(self, tool: Tool) -> None:
        self.tools.set_tool(tool)
        self.command_actions[f"tool_{tool.value}"].setChecked(True)
        self.canvas.set_brush_radius(self.tools.brush_outline_radius())

    def act_tool_brush(self, _checked: bool = True) -> None:
        self._set_tool(Tool.BRUSH)

    def act_tool_eraser(self, _checked: bool = True) -> None:
        self._set_tool(Tool.ERASER)

    def act_tool_fill(self, _checked: bool = True) -> None:
        self._set_tool(Tool.FILL)

    def act_tool_polygon(self, _checked: bool = True) -> None:
        self._set_tool(Tool.POLYGON)

    def act_tool_pan(self, _checked: bool = True) -> None:
        self._set_tool(Tool.PAN)

    def act_brush_smaller(self) -> None:
        s = self.toolbar.brush_size
        s.setValue(max(s.minimum(), round(s.value() / 1.25)))

    def act_brush_larger(self) -> None:
        s = self.toolbar.brush_size
        s.setValue(min(s.maximum(), max(s.value() + 1, round(s.value() * 1.25))))

    def act_finish_polygon(self) -> None:
        self.tools.finish_polygon()

    def act_cancel_polygon(self) -> None:
        self.tools.cancel_polygon()

    def act_toggle_overlay(self, checked: bool) -> None:
        self.canvas.set_overlay_visible(checked)

    def act_contour_view(self, checked: bool) -> None:
        self.canvas.set_contour_mode(checked)

    def act_confidence_view(self, checked: bool) -> None:
        self.canvas.set_confidence_visible(checked)
        if checked and self.session is not None and self.current_key is not None \
                and self.current_key not in self.session.confidence_maps:
            self.show_status("no confidence map for this image yet: segment it first")

    def act_zoom_fit(self) -> None:
        self.canvas.fit()

    def act_zoom_1to1(self) -> None:
        self.canvas.one_to_one()

    def act_zoom_in(self) -> None:
        self.canvas.zoom(1.25)

    def act_zoom_out(self) -> None:
        self.canvas.zoom(0.8)

    def act_sort_confidence(self) -> None:
        self.files.sort_by_confidence()

    def act_segment_image(self) -> None:
        self.runs.segment_current()

    def act_segment_all(self) -> None:
        self.runs.segment_unlabeled()

    def act_fine_tune(self) -> None:
        self.runs.start_fine_tune()

    def act_pick_class(self, index: int) -> None:
        self.palette.select(index)

    def act_help(self) -> None:
        show_help(self)

