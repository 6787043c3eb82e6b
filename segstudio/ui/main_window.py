"""The main window: layout, image switching, saving and the editing commands.

Model runs (segmentation, fine-tuning) live in `runs.py`; docks in `docks/`; the command
table in `actions.py`. This class wires them to the Session (core Project + MaskDocuments).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageState, Project
from segstudio.ui.actions import build_actions, show_help
from segstudio.ui.canvas import Canvas
from segstudio.ui.docks.files import FilesDock
from segstudio.ui.docks.finetune import FineTuneDock
from segstudio.ui.docks.model import ModelDock
from segstudio.ui.docks.palette import PaletteDock
from segstudio.ui.runs import Runs
from segstudio.ui.session import Session
from segstudio.ui.settings import Settings
from segstudio.ui.toolbar import ViewToolbar
from segstudio.ui.tools import Tool, ToolController
from segstudio.ui.welcome import WelcomePage

log = logging.getLogger(__name__)
AUTOSAVE_MS = 30_000


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.settings = settings or Settings()
        self.session: Session | None = None
        self.current_key: str | None = None
        self._image_shape: tuple[int, int] | None = None

        self.canvas = Canvas()
        self.tools = ToolController(self)
        self.canvas.set_handler(self.tools)
        self.welcome = WelcomePage(self.settings)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.canvas)
        self.setCentralWidget(self.stack)

        self.files = FilesDock(self)
        self.palette = PaletteDock(self)
        self.model_dock = ModelDock(self)
        self.finetune = FineTuneDock(self)
        area = QtCore.Qt.DockWidgetArea
        self.addDockWidget(area.LeftDockWidgetArea, self.files)
        self.addDockWidget(area.RightDockWidgetArea, self.palette)
        self.addDockWidget(area.RightDockWidgetArea, self.model_dock)
        self.addDockWidget(area.RightDockWidgetArea, self.finetune)
        self.resizeDocks([self.files, self.palette], [300, 500], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.palette, self.model_dock, self.finetune], [330, 170, 420],
                         QtCore.Qt.Orientation.Vertical)

        self.actions = build_actions(self)
        self.toolbar = ViewToolbar(self.actions, self)
        self.addToolBar(self.toolbar)
        self.cursor_label = QtWidgets.QLabel("")
        self.cursor_label.setMinimumWidth(220)
        self.statusBar().addPermanentWidget(self.cursor_label)
        self.runs = Runs(self)

        self._connect()
        self._restore_settings()
        self.autosave = QtCore.QTimer(self)
        self.autosave.setInterval(AUTOSAVE_MS)
        self.autosave.timeout.connect(self._autosave)
        self.autosave.start()
        self._set_project_widgets_enabled(False)
        self.update_title()

    # -- wiring --------------------------------------------------------------------------
    def _connect(self) -> None:
        self.tools.changed.connect(self._edited)
        self.tools.polygon_preview.connect(self.canvas.set_polygon_preview)
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.files.activated.connect(self.show_image)
        self.palette.class_selected.connect(self._class_selected)
        self.palette.classes_edited.connect(self._classes_edited)
        self.palette.protect_changed.connect(self._protect_changed)
        self.palette.error.connect(self.show_error)
        self.welcome.open_folder.connect(self.act_open_folder)
        self.welcome.open_recent.connect(self.open_folder)
        self.welcome.sample.connect(self.act_sample_project)
        self.toolbar.brush_size.valueChanged.connect(self._brush_size_changed)
        self.toolbar.opacity.valueChanged.connect(
            lambda v: self.canvas.set_opacity(v / 100.0)
        )

    def _restore_settings(self) -> None:
        geometry = self.settings.get("window/geometry", None)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = self.settings.get("window/state", None)
        if state is not None:
            self.restoreState(state)
        self.toolbar.opacity.setValue(self.settings.get("view/opacity", 55, int))
        self.canvas.set_opacity(self.toolbar.opacity.value() / 100.0)
        self.toolbar.brush_size.setValue(self.settings.get("tools/brush", 16, int))
        self.actions["toggle_overlay"].setChecked(True)
        self.act_tool_brush(True)
        self.finetune.apply_settings(self.settings.finetune())

    def _save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        if self.session is not None:  # on the welcome page the docks are hidden on purpose
            s.set("window/state", self.saveState())
        s.set("view/opacity", self.toolbar.opacity.value())
        s.set("tools/brush", self.toolbar.brush_size.value())
        s.set("model/arch", self.model_dock.arch.currentText())
        s.set_finetune(self.finetune.settings())
        s.sync()

    def _set_project_widgets_enabled(self, on: bool) -> None:
        # The welcome page stands alone; the docks and tools appear with a project.
        for dock in (self.files, self.palette, self.model_dock, self.finetune):
            dock.setVisible(on)
        self.toolbar.setVisible(on)
        self.stack.setCurrentWidget(self.canvas if on else self.welcome)

    # -- messages ------------------------------------------------------------------------
    def show_status(self, text: str, ms: int = 8000) -> None:
        self.statusBar().showMessage(text, ms)

    def show_error(self, text: str, *, dialog: bool = False) -> None:
        log.warning("%s", text)
        self.statusBar().showMessage(f"⚠ {text}", 20000)
        if dialog:
            QtWidgets.QMessageBox.warning(self, "segstudio", text)

    def update_title(self) -> None:
        parts = ["segstudio"]
        if self.session is not None:
            parts.append(self.session.project.root.name)
        if self.current_key is not None:
            mark = "*" if self.session.is_dirty(self.current_key) else ""
            state = self.session.state(self.session.entry(self.current_key)).value
            parts.append(f"{self.current_key}{mark} ({state})")
        unsaved = self.session is not None and bool(self.session.dirty_keys())
        self.setWindowTitle(" — ".join(parts) + (" [*]" if unsaved else ""))
        self.setWindowModified(unsaved)
        self._update_edit_actions()

    def _update_edit_actions(self) -> None:
        doc = self.current_document()
        self.actions["undo"].setEnabled(doc is not None and doc.can_undo)
        self.actions["redo"].setEnabled(doc is not None and doc.can_redo)
        reviewed = False
        if self.session is not None and self.current_key is not None:
            entry = self.session.entry(self.current_key)
            reviewed = self.session.state(entry) is ImageState.REVIEWED
        self.actions["mark_reviewed"].setChecked(reviewed)

    # -- project -------------------------------------------------------------------------
    def open_folder(self, folder: Path) -> bool:
        """Open a folder as the project; False (with a message) when it cannot be used."""
        if not self.confirm_unsaved():
            return False
        try:
            project = Project.open(folder)
            project.entries  # noqa: B018 - list now so a bad folder fails here
        except (SegstudioError, OSError) as exc:
            self.show_error(str(exc), dialog=True)
            return False
        self.runs.cancel_all(wait=True)
        if self.session is not None:
            self.session.close()
        self.session = Session(project, self)
        self.session.save_failed.connect(lambda m: self.show_error(m, dialog=True))
        self.session.state_changed.connect(self._state_changed)
        self.current_key = None
        self.canvas.clear()
        self.tools.set_document(None)
        self.files.set_session(self.session)
        self.palette.set_classes(project.classes)
        self._apply_project_finetune(project)
        self.runs.project_opened()
        self.settings.add_recent(project.root)
        self.welcome.refresh_recent()
        self._set_project_widgets_enabled(True)
        n = len(project.entries)
        self.show_status(f"opened {project.root}: {n} images")
        if project.entries:
            self.show_image(project.entries[0].key)
        else:
            self.show_error(f"{project.images_dir}: no images found", dialog=False)
        self.update_title()
        return True

    def _apply_project_finetune(self, project: Project) -> None:
        """A project remembers the fine-tune settings last used on it (the sample ships some)."""
        from dataclasses import fields

        from segstudio.ui.docks.finetune import FineTuneSettings

        saved = project.settings.get("finetune")
        if not isinstance(saved, dict):
            return
        base = self.finetune.settings()
        names = {f.name for f in fields(FineTuneSettings)}
        try:
            values = {k: type(getattr(base, k))(v) for k, v in saved.items() if k in names}
        except (TypeError, ValueError):
            return
        self.finetune.apply_settings(FineTuneSettings(**{**base.__dict__, **values}))

    def current_document(self):
        if self.session is None or self.current_key is None:
            return None
        return self.session.documents.get(self.current_key)

    def show_image(self, key: str) -> None:
        """Switch to an image, autosaving the one we leave."""
        if self.session is None or key == self.current_key:
            return
        self.tools.cancel_polygon()
        if self.current_key is not None:
            self.session.save(self.session.entry(self.current_key))
        entry = self.session.entry(key)
        try:
            rgb = self.session.project.read_image(entry)
        except (SegstudioError, OSError) as exc:
            self.show_error(f"{exc} (skipped; the file is left as it is)")
            return
        self.current_key = key
        self._image_shape = rgb.shape[:2]
        first = self.canvas.image_item.array is None
        old_shape = None if first else self.canvas.image_item.array.shape[:2]
        self.canvas.set_image(rgb, fit=first or old_shape != rgb.shape[:2])
        try:
            doc = self.session.document(entry, rgb.shape[:2])
        except (SegstudioError, OSError) as exc:
            self.canvas.label_item.clear()
            self.tools.set_document(None)
            self.show_error(f"{exc}; the label is left as it is on disk and cannot be edited here",
                            dialog=True)
        else:
            classes = self.session.project.classes
            self.canvas.set_mask(doc.mask, classes.palette(), classes.ignore_index)
            doc.protect = self._protect_value()
            self.tools.set_document(doc)
        self.canvas.set_confidence(self.session.confidence_maps.get(key))
        self.files.select_key(key)
        self.update_title()

    def _state_changed(self, key: str) -> None:
        self.files.refresh_key(key)
        if key == self.current_key:
            conf = self.session.confidence_maps.get(key) if self.session else None
            self.canvas.set_confidence(conf)
        self.update_title()

    def refresh_current_mask(self, bbox) -> None:
        """A run changed the current image's mask (or replaced its document)."""
        if self.session is None or self.current_key is None:
            return
        doc = self.session.documents.get(self.current_key)
        if doc is not None and self.canvas.label_item.array is not doc.mask:
            classes = self.session.project.classes
            self.canvas.set_mask(doc.mask, classes.palette(), classes.ignore_index)
            self.tools.set_document(doc)
        else:
            self.canvas.refresh(bbox)
        self.update_title()

    def confirm_unsaved(self) -> bool:
        """Save or discard unsaved labels; False when the user cancels."""
        if self.session is None or not self.session.dirty_keys():
            return True
        n = len(self.session.dirty_keys())
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self, "Unsaved labels",
            f"{n} label(s) have unsaved changes. Save them?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save,
        )
        if answer == buttons.Cancel:
            return False
        if answer == buttons.Save:
            return self.session.save_all(wait=True)
        return True

    def _autosave(self) -> None:
        if self.tools.stroke_active:  # saving ends the undo step; wait for the mouse release
            return
        if self.session is not None and self.session.dirty_keys():
            self.session.save_all()  # written in the background; the title follows

    def closeEvent(self, event) -> None:
        if not self.confirm_unsaved():
            event.ignore()
            return
        self.runs.cancel_all(wait=True)
        if self.session is not None:
            self.session.close()
        self._save_settings()
        event.accept()

    # -- editing -------------------------------------------------------------------------
    def _edited(self, bbox) -> None:
        self.canvas.refresh(bbox)
        if bbox is None or not self.windowTitle().endswith("[*]"):
            self.update_title()

    def _cursor_moved(self, x: int, y: int, value: int) -> None:
        if x < 0:
            self.cursor_label.setText("")
            return
        text = f"x {x}, y {y}"
        if value >= 0 and self.session is not None:
            classes = self.session.project.classes
            name = (classes.names[value] if value < classes.num_classes
                    else classes.ignore_name if value == classes.ignore_index else str(value))
            text += f" · {value} {name}"
        self.cursor_label.setText(text)
        self.tools.hover((x + 0.5, y + 0.5))

    def _class_selected(self, index: int) -> None:
        self.tools.value = index

    def _protect_value(self) -> int | None:
        v = self.palette.protect_value()
        return None if v < 0 else v

    def _protect_changed(self, value: int) -> None:
        doc = self.current_document()
        if doc is not None:
            doc.protect = None if value < 0 else value
        if self.session is not None:
            for d in self.session.documents.values():
                d.protect = None if value < 0 else value

    def _classes_edited(self) -> None:
        if self.session is None:
            return
        classes = self.session.project.classes
        self.canvas.set_palette(classes.palette(), classes.ignore_index)
        self.session.persist()

    def _brush_size_changed(self, value: int) -> None:
        self.tools.set_radius(value / 2)
        self.canvas.set_brush_radius(self.tools.brush_outline_radius())

    # -- commands (actions.py calls act_<name>) ------------------------------------------
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
        self.actions[f"tool_{tool.value}"].setChecked(True)
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

    # -- used by tests and the benchmark -------------------------------------------------
    def mask_of(self, key: str) -> np.ndarray | None:
        doc = self.session.documents.get(key) if self.session else None
        return None if doc is None else doc.mask
