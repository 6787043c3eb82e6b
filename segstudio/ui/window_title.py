"""The window's title and its edit actions, from the session's state of the image on screen.

The title says project, image and state, with one unsaved mark; Undo, Redo and "Mark
reviewed" follow the shown document. The Files row of the image is refreshed whenever the
title's state changes, so the list and the title never disagree (the first stroke makes an
image edited before its save; the counts said "0 edited" meanwhile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyqtgraph.Qt import QtGui, QtWidgets

from segstudio.core.project import ImageState

if TYPE_CHECKING:
    from segstudio.ui.class_remapping import ClassRemapper
    from segstudio.ui.docks.files import FilesDock
    from segstudio.ui.window_parts import WindowView


class WindowTitle:
    def __init__(self, window: WindowView, top: QtWidgets.QWidget, files: FilesDock,
                 actions: dict[str, QtGui.QAction], remapper: ClassRemapper) -> None:
        self.w = window
        self.top = top            # the widget whose title this is (the window itself)
        self.files = files
        self.actions = actions
        self.remapper = remapper
        self._shown: tuple[str, str] | None = None   # (key, state) the title shows

    def update(self) -> None:
        w = self.w
        parts = ["segstudio"]
        if w.session is not None:
            parts.append(w.session.project.root.name)
        if w.current_key is not None and w.session is not None:
            state = w.session.state(w.session.entry(w.current_key)).value
            parts.append(f"{w.current_key} ({state})")
            if self._shown != (w.current_key, state):
                self._shown = (w.current_key, state)
                self.files.refresh_key(w.current_key)
        unsaved = w.session is not None and bool(w.session.dirty_keys())
        # One mark only: Qt shows "[*]" as "*" while the window is modified.
        self.top.setWindowTitle(" — ".join(parts) + " [*]")
        self.top.setWindowModified(unsaved)
        self._update_edit_actions()

    def _update_edit_actions(self) -> None:
        w = self.w
        doc = w.current_document()
        on = w.session is not None
        self.actions["undo"].setEnabled(
            on and ((doc is not None and doc.can_undo) or self.remapper.can_undo))
        self.actions["redo"].setEnabled(on and doc is not None and doc.can_redo)
        reviewed = False
        if w.session is not None and w.current_key is not None:
            entry = w.session.entry(w.current_key)
            reviewed = w.session.state(entry) is ImageState.REVIEWED
        self.actions["mark_reviewed"].setChecked(reviewed)
