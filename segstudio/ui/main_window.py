"""The main window: composed from parts with explicit dependencies, and the glue between them.

- `ImageLoader` loads an image and its document and emits what it loaded;
- `Runs` (segmentation and fine-tuning) gets the Model and Fine-tune panels and a `Notifier`;
- the canvas follows the shown `MaskDocument` through its change event, whoever changed it
  (a tool, undo/redo, a prediction);
- `commands.py` holds the command table with its callables; `actions.py` makes the menus.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.class_origin import origin_note
from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageEntry, Project
from segstudio.ui.actions import build_actions, connect_commands, set_project_actions_enabled
from segstudio.ui.brush_scale import BrushScale
from segstudio.ui.canvas import Canvas
from segstudio.ui.class_adding import ClassAdder
from segstudio.ui.class_keys import install_shift_digits
from segstudio.ui.class_remapping import ClassRemapper
from segstudio.ui.commands import CommandParts, Commands
from segstudio.ui.docks.files import FilesDock
from segstudio.ui.docks.finetune import FineTuneDock
from segstudio.ui.docks.model import ModelDock
from segstudio.ui.docks.palette import PaletteDock
from segstudio.ui.folder_drop import FolderDrop
from segstudio.ui.image_loader import ImageLoader, Loaded
from segstudio.ui.leave_guard import LeaveGuard
from segstudio.ui.menus import add_panels_menu, add_recent_menu
from segstudio.ui.notifier import Notifier
from segstudio.ui.other_writers import OtherWriters
from segstudio.ui.runs import Runs
from segstudio.ui.sam_tool import wire_window as wire_sam
from segstudio.ui.session import Session
from segstudio.ui.settings import Settings
from segstudio.ui.status_bar import StatusBar
from segstudio.ui.toolbar import ViewToolbar
from segstudio.ui.tools import ToolController
from segstudio.ui.view_controls import ViewControls, zoom_text
from segstudio.ui.welcome import WelcomePage
from segstudio.ui.window_state import WindowState
from segstudio.ui.window_title import WindowTitle

log = logging.getLogger(__name__)
AUTOSAVE_MS = 30_000


class MainWindow(QtWidgets.QMainWindow):

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.settings = settings or Settings()
        self.session: Session | None = None
        self.current_key: str | None = None
        self.image_shape: tuple[int, int] | None = None
        self.notify = Notifier(self)
        self._unsubscribe = None

        self.canvas = Canvas()
        self.tools = ToolController(self)
        self.canvas.set_handler(self.tools)
        self.welcome = WelcomePage(self.settings)
        self.canvas_message = QtWidgets.QLabel("")
        self.canvas_message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.canvas_message.setWordWrap(True)
        self.stack = QtWidgets.QStackedWidget()
        for page in (self.welcome, self.canvas, self.canvas_message):
            self.stack.addWidget(page)
        # The welcome page's width must not hold the canvas wide once the panels show (a
        # stack is as wide as its widest page): an explicit minimum instead of the pages'.
        self.stack.setMinimumSize(120, 120)
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
        # Where the panels go and how large: WindowState.arrange_docks, for the screen.

        self.loader = ImageLoader(self)
        self.runs = Runs(self.model_dock, self.finetune, self.notify,
                         current_entry=self.current_entry, dialog_parent=self, parent=self)
        self.guard = LeaveGuard(self, self.runs, self.notify, lambda: self.session)
        self.command_actions = build_actions(self)
        self.recent_menu = add_recent_menu(self, self.command_actions, self.settings,
                                           self.open_folder)
        self.panels_menu = add_panels_menu(
            self.command_actions, (self.files, self.palette, self.model_dock, self.finetune),
            lambda: self.state.arrange_docks())
        self.toolbar = ViewToolbar(self.command_actions, self)
        self.addToolBar(self.toolbar)
        self.classes = ClassAdder(self.notify, busy_elsewhere=lambda: self.runs.busy,
                                  parent=self)
        self.remapper = ClassRemapper(      # delete / merge classes
            self.notify, busy_elsewhere=lambda: self.runs.busy or self.classes.busy,
            parent=self)
        self.title = WindowTitle(self, self, self.files, self.command_actions, self.remapper)
        self.view = ViewControls(self.canvas, self.palette, self.tools, self.toolbar,
                                 self.notify, self.command_actions, self)
        self.other_writers = OtherWriters(self)   # another window's saves: list and canvas
        self.commands = Commands(self, CommandParts(
            dialog_parent=self, canvas=self.canvas, tools=self.tools, palette=self.palette,
            files=self.files, model_dock=self.model_dock, runs=self.runs,
            toolbar=self.toolbar, other_writers=self.other_writers,
            remapper=self.remapper, notify=self.notify))
        connect_commands(self.command_actions, self.commands)
        install_shift_digits(self, self.commands.pick_class, lambda: self.session is not None)
        self.drop = FolderDrop(self)
        self.drop.watch(self, self.canvas.view.viewport(), self.welcome)
        self.cursor_label = self.view.cursor_label
        self.setStatusBar(StatusBar())          # long messages elided before the readout
        self.statusBar().addPermanentWidget(self.view.cursor_label)
        self.statusBar().addPermanentWidget(self.view.zoom_label)
        self.state = WindowState(self, self.settings)
        self.brush_scale = BrushScale(self.toolbar.brush_size, self.settings, self)

        self._connect()
        self.state.restore()
        self.autosave = QtCore.QTimer(self)
        self.autosave.setInterval(AUTOSAVE_MS)
        self.autosave.timeout.connect(self._autosave)
        self.autosave.start()
        self._set_project_widgets_enabled(False)
        self.update_title()

    # -- wiring --------------------------------------------------------------------------
    def _connect(self) -> None:
        self.tools.changed.connect(self._stroke_done)
        self.tools.polygon_preview.connect(self.canvas.set_polygon_preview)
        wire_sam(self)                          # the SAM tool's preview, status, images
        self.canvas.cursor_moved.connect(self.view.cursor_moved)
        self.files.activated.connect(self.show_image)
        self.palette.class_selected.connect(lambda i: setattr(self.tools, "value", i))
        self.palette.classes_edited.connect(self._classes_edited)
        self.palette.protect_changed.connect(self._protect_changed)
        self.palette.error.connect(self.notify.error)
        self.palette.add_requested.connect(self.classes.add)
        self.classes.added.connect(self.palette.class_added)
        self.classes.classes_replaced.connect(self._classes_replaced)
        self.palette.delete_requested.connect(self.remapper.delete)
        self.palette.merge_requested.connect(self.remapper.merge)
        self.remapper.classes_replaced.connect(self._classes_replaced)
        self.drop.dropped.connect(self.open_folder)
        self.drop.refused.connect(lambda m: self.notify.status(m))
        self.welcome.open_folder.connect(self.commands.open_folder)
        self.welcome.open_recent.connect(self.open_folder)
        self.welcome.sample.connect(self.commands.sample_project)
        self.toolbar.brush_size.valueChanged.connect(self._brush_size_changed)
        self.toolbar.opacity.valueChanged.connect(
            lambda v: self.canvas.set_opacity(v / 100.0)
        )
        self.loader.loaded.connect(self._image_loaded)
        self.loader.started.connect(
            lambda key, w, h: self.notify.status(f"loading {key} ({w}x{h})…", 0))
        self.runs.segment.classes_adopted.connect(lambda: self._classes_replaced(-1))
        self.runs.segment.image_failed.connect(self.files.mark_broken)
        self.loader.unreadable.connect(
            lambda s, found: s is self.session and self.files.mark_broken_many(found))

    def _set_project_widgets_enabled(self, on: bool) -> None:
        # The welcome page stands alone; the docks and tools appear with a project.
        for dock in (self.files, self.palette, self.model_dock, self.finetune):
            dock.setVisible(on)
        self.toolbar.setVisible(on)
        self.panels_menu.setEnabled(on)
        self.stack.setCurrentWidget(self.canvas if on else self.welcome)
        set_project_actions_enabled(self.command_actions, on)

    def update_title(self) -> None:
        self.title.update()

    # -- project -------------------------------------------------------------------------
    def open_folder(self, folder: Path) -> bool:
        """Open a folder as the project; False (with a message) when it cannot be used."""
        if not self.guard.may_leave("Open another folder"):
            return False
        if self.classes.busy or self.remapper.busy:
            self.notify.status("the label files are being rewritten; open it afterwards")
            return False
        try:
            project = Project.open(folder)
            project.entries  # noqa: B018 - list now so a bad folder fails here
        except (SegstudioError, OSError) as exc:
            self.notify.error(str(exc), dialog=True)
            return False
        self.runs.cancel_all(wait=True)
        if self.session is not None:
            # Finish its writes, then let it (and its documents) go.
            self.session.close()
            self.session.deleteLater()
        self.session = Session(project, self)
        self.session.save_failed.connect(lambda m: self.notify.error(m, dialog=True))
        self.session.state_changed.connect(self._state_changed)
        self._show_document(None)
        self.current_key = None
        self.image_shape = None
        self.canvas.clear()
        self.view.cleared()
        self.files.set_session(self.session)
        self.palette.set_classes(project.classes)   # also resets "paint only over", hidden
        self.runs.set_session(self.session)
        self.classes.set_session(self.session)
        self.remapper.set_session(self.session)
        self.runs.project_opened()
        # Classes a model may replace are the active model's from the start, not
        # background/object until the first Segment (issue 19).
        from segstudio.engine.workflow.run_registry import adopt_active_classes

        if adopt_active_classes(project, adopt=self.session.adopt_classes):
            self._classes_replaced(-1)
        self._show_class_origin()
        self.settings.add_recent(project.root)
        self.welcome.refresh_recent()
        self._set_project_widgets_enabled(True)
        QtCore.QTimer.singleShot(0, self.state.check_docks)
        self.notify.project_opened(project)
        self.loader.scan_headers(self.session)
        if project.entries:
            self.show_image(project.entries[0].key)
        else:
            self.notify.error(f"{project.images_dir}: no images found", dialog=False)
        self.update_title()
        self.classes.project_opened()
        self.remapper.project_opened()
        return True

    def _autosave(self) -> None:
        if self.tools.stroke_active:  # saving ends the undo step; wait for the mouse release
            return
        if self.session is not None and self.session.dirty_keys():
            self.session.save_all()  # written in the background; the title follows

    def closeEvent(self, event) -> None:
        if not self.guard.may_leave("Quit"):
            event.ignore()
            return
        self.runs.cancel_all(wait=True)
        if self.session is not None:
            self.session.close()
        self.loader.shutdown()
        self.state.save()
        event.accept()

    # -- images --------------------------------------------------------------------------
    def current_entry(self) -> ImageEntry | None:
        if self.session is None or self.current_key is None:
            return None
        return self.session.entry(self.current_key)

    def current_document(self):
        if self.session is None or self.current_key is None:
            return None
        return self.session.documents.get(self.current_key)

    def show_image(self, key: str) -> None:
        """Switch to an image, autosaving the one we leave; big images load in the background
        (the current one stays on screen until the new one is ready)."""
        if self.session is None or key == self.current_key:
            return
        self.tools.cancel_polygon()
        if self.current_key is not None:
            self.session.save(self.session.entry(self.current_key))
        self.loader.request(self.session, self.session.entry(key))

    def _image_loaded(self, result: Loaded) -> None:
        if result.session is not self.session:
            return  # a folder opened since
        if self.statusBar().currentMessage().startswith("loading "):
            self.statusBar().clearMessage()
        self.files.select_key(result.key)
        if result.error:
            # Shown where the image would be, marked in the list with the reason on hover.
            self.files.mark_broken(result.key, result.error)
            self.files.update_counts()
            self._show_document(None)
            self.current_key = result.key
            self.image_shape = None
            self.canvas_message.setText(f"⚠ This image cannot be shown.\n\n{result.error}\n\n"
                                        "The file is left as it is.")
            self.stack.setCurrentWidget(self.canvas_message)
            self.cursor_label.setText("")        # not the previous image's pixel
            self.notify.error(result.error)
            self.update_title()
            return
        self.stack.setCurrentWidget(self.canvas)
        if result.key in self.files.model.broken:   # readable now (the file was replaced)
            self.files.mark_broken(result.key, None)
        self.current_key = result.key
        self.image_shape = result.rgb.shape[:2]
        first = self.canvas.image_item.array is None
        old_shape = None if first else self.canvas.image_item.array.shape[:2]
        self.canvas.set_image(result.rgb, fit=first or old_shape != result.rgb.shape[:2])
        self.view.image_shown(result.rgb)
        self.brush_scale.image_shown(result.rgb.shape[:2])   # same part of the picture
        self.tools.set_image(result.rgb)
        self._show_document(result.document)
        if result.document is None:
            self.canvas.label_item.clear()
            self.notify.error(f"{result.label_error}; the label is left as it is on disk and "
                              "cannot be edited here", dialog=True)
        self.canvas.set_confidence(self.session.confidence_maps.get(result.key))
        # The readouts read this image: the pixel under a still mouse (after R it kept the
        # previous image's class), and the zoom, cleared when a folder opened and not
        # signalled again when the new image fits at the same zoom.
        self.canvas.refresh_cursor()
        self.view.zoom_label.setText(zoom_text(self.canvas.zoom_factor()))
        self.update_title()

    def _show_document(self, doc) -> None:
        """Put `doc` on the canvas and follow its changes (tools, undo/redo, predictions)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if doc is None:
            self.tools.set_document(None)
            return
        classes = self.session.project.classes
        self.canvas.set_mask(doc.mask, classes.palette(), classes.ignore_index)
        doc.protect = self.palette.protect_value_or_none()
        self.tools.set_document(doc)
        self._unsubscribe = doc.on_change(self._document_changed)

    def _document_changed(self, bbox) -> None:
        self.canvas.refresh(bbox)
        self.canvas.refresh_cursor()
        if not self.isWindowModified():
            self.update_title()

    def _stroke_done(self, _bbox) -> None:
        self.update_title()

    def _state_changed(self, key: str) -> None:
        self.files.refresh_key(key)
        if self.palette.origin.isVisibleTo(self.palette):   # "until you label" may end
            self._show_class_origin()
        if key == self.current_key and self.session is not None:
            self.canvas.set_confidence(self.session.confidence_maps.get(key))
        self.update_title()

    def _classes_replaced(self, select: int = -1) -> None:
        """The project's classes object was replaced (a label-less project took a
        checkpoint's classes, or void moved to make room for a class): show the classes and
        the image again, from the files."""
        self.palette.set_classes(self.session.project.classes)
        self._show_class_origin()
        self.state.fit_classes()        # 2 placeholder classes may have become 11
        self.runs.refresh_models()      # which models fit depends on the classes
        key, self.current_key = self.current_key, None
        self._show_document(None)
        if key is not None:
            self.show_image(key)
        if select >= 0:
            self.palette.select(select)

    # -- editing -------------------------------------------------------------------------
    def _protect_changed(self, value: int) -> None:
        if self.session is not None:
            for d in self.session.documents.values():
                d.protect = None if value < 0 else value

    def _classes_edited(self) -> None:
        if self.session is None:
            return
        classes = self.session.project.classes
        self.canvas.set_palette(classes.palette(), classes.ignore_index)
        self.session.persist()
        self._show_class_origin()       # edited classes are the project's own
        self.runs.refresh_models()      # a class added: the old models no longer fit

    def _show_class_origin(self) -> None:
        if self.session is not None:
            self.palette.set_origin(*origin_note(self.session.project))

    def _brush_size_changed(self, value: int) -> None:
        self.tools.set_radius(value / 2)
        self.canvas.set_brush_radius(self.tools.brush_outline_radius())

    # -- used by tests and the benchmark -------------------------------------------------
    def mask_of(self, key: str) -> np.ndarray | None:
        doc = self.session.documents.get(key) if self.session else None
        return None if doc is None else doc.mask
