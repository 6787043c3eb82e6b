"""The two menus that are not rows of the command table: File > Open recent (filled from the
settings each time it opens) and View > Panels (each panel's show/hide, and the default
layout for this screen)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyqtgraph.Qt import QtGui, QtWidgets


def _menu_of(action: QtGui.QAction) -> QtWidgets.QMenu:
    return next(o for o in action.associatedObjects() if isinstance(o, QtWidgets.QMenu))


def add_recent_menu(parent: QtWidgets.QWidget, actions: dict[str, QtGui.QAction], settings,
                    open_folder: Callable) -> QtWidgets.QMenu:
    menu = QtWidgets.QMenu("Open &recent", parent)
    _menu_of(actions["open_folder"]).insertMenu(actions["sample_project"], menu)

    def fill() -> None:
        menu.clear()
        for folder in settings.recent_folders():
            act = menu.addAction(str(folder))
            act.triggered.connect(lambda _c=False, f=folder: open_folder(f))
        if menu.isEmpty():
            menu.addAction("(none yet)").setEnabled(False)

    menu.aboutToShow.connect(fill)
    return menu


def add_panels_menu(actions: dict[str, QtGui.QAction],
                    docks: Sequence[QtWidgets.QDockWidget],
                    default_layout: Callable[[], None]) -> QtWidgets.QMenu:
    """Hiding a panel gives the canvas its room on a small screen; the last entry puts every
    panel back where the screen has room for it."""
    panels = _menu_of(actions["toggle_overlay"]).addMenu("&Panels")
    for dock in docks:
        panels.addAction(dock.toggleViewAction())
    panels.addSeparator()
    panels.addAction("Default &layout for this screen", default_layout)
    return panels
