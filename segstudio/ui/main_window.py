"""The main window: layout, settings, opening folders, saving and the editing callbacks.

Image switching and loading live in `image_switching.py`, the commands in `commands.py`,
model runs (segmentation, fine-tuning) in `runs.py`, docks in `docks/` and the command table
in `actions.py`. This class wires them to the Session (core Project + MaskDocuments).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageState, Project
from segstudio.ui.actions import build_actions
from segstudio.ui.canvas import Canvas
from segstudio.ui.commands import Commands
from segstudio.ui.docks.files import FilesDock
from segstudio.ui.docks.finetune import FineTuneDock
from segstudio.ui.docks.model import ModelDock
from segstudio.ui.docks.palette import PaletteDock
from segstudio.ui.image_switching import ImageSwitching
from segstudio.ui.runs import Runs
from segstudio.ui.session import Session
from segstudio.ui.settings import Settings
from segstudio.ui.toolbar import ViewToolbar
from segstudio.ui.tools import ToolController
from segstudio.ui.welcome import WelcomePage

log = logging.getLogger(__name__)
AUTOSAVE_MS = 30_000


class MainWindow(Commands, ImageSwitching, QtWidgets.QMainWindow):

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.settings = settings or Settings()
        self.session: Session | None = None
        self._init_image_switching()

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
        # Narrow side docks leave the canvas most of a 1400-px window; the classes list is
        # tall enough for CamVid's 11 classes without scrolling.
        self.resizeDocks([self.files, self.palette], [300, 420], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.palette, self.model_dock, self.finetune], [310, 160, 340],
                         QtCore.Qt.Orientation.Vertical)

        self.command_actions = build_actions(self)
        self._add_recent_menu()
        self.toolbar = ViewToolbar(self.command_actions, self)
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

    def _add_recent_menu(self) -> None:
        """File > Open recent, filled from the settings each time it opens."""
        owners = self.command_actions["open_folder"].associatedObjects()
        file_menu = next(o for o in owners if isinstance(o, QtWidgets.QMenu))
        self.recent_menu = QtWidgets.QMenu("Open &recent", self)
        file_menu.insertMenu(self.command_actions["sample_project"], self.recent_menu)

        def fill() -> None:
            self.recent_menu.clear()
            for folder in self.settings.recent_folders():
                act = self.recent_menu.addAction(str(folder))
                act.triggered.connect(lambda _c=False, f=folder: self.open_folder(f))
            if self.recent_menu.isEmpty():
                self.recent_menu.addAction("(none yet)").setEnabled(False)

        self.recent_menu.aboutToShow.connect(fill)

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
        self.command_actions["toggle_overlay"].setChecked(True)
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
        self.command_actions["undo"].setEnabled(doc is not None and doc.can_undo)
        self.command_actions["redo"].setEnabled(doc is not None and doc.can_redo)
        reviewed = False
        if self.session is not None and self.current_key is not None:
            entry = self.session.entry(self.current_key)
            reviewed = self.session.state(entry) is ImageState.REVIEWED
        self.command_actions["mark_reviewed"].setChecked(reviewed)

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
            # Finish its writes, then let it (and its documents) go.
            self.session.close()
            self.session.deleteLater()
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

    # -- used by tests and the benchmark -------------------------------------------------
    def mask_of(self, key: str) -> np.ndarray | None:
        doc = self.session.documents.get(key) if self.session else None
        return None if doc is None else doc.mask
