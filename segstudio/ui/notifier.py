"""How the window's parts talk to the user: the status bar, warnings and questions.

Parts get a Notifier instead of the window, so each can be built and tested on its own and
every message goes through one place (the log included)."""

from __future__ import annotations

import logging

from pyqtgraph.Qt import QtWidgets

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        self.window = window

    def status(self, text: str, ms: int = 8000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def error(self, text: str, *, dialog: bool = False) -> None:
        log.warning("%s", text)
        self.window.statusBar().showMessage(f"⚠ {text}", 20000)
        if dialog:
            QtWidgets.QMessageBox.warning(self.window, "segstudio", text)

    def inform(self, title: str, text: str) -> None:
        log.info("%s: %s", title, text)
        QtWidgets.QMessageBox.information(self.window, title, text)

    def ask(self, title: str, text: str, *, default_yes: bool = True) -> bool:
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self.window, title, text, buttons.Yes | buttons.No,
            buttons.Yes if default_yes else buttons.No)
        return answer == buttons.Yes

    def project_opened(self, project) -> None:
        """What a person must hear once when a folder opens: its size, read-only, folders
        skipped, a link out of the project, settings set aside (the Files counts keep saying
        the rest)."""
        from segstudio.core.problems import report_all

        n = len(project.entries)
        self.status(f"opened {project.root}: {n} images"
                    + (" (read-only: nothing can be saved here)" if project.read_only else ""))
        report_all(project.listing_warnings, lambda line: self.error(line), what="folders")
        if (link := project.link_problem()) is not None:
            self.error(f"{link}; edits stay in memory", dialog=True)
        if project.settings_warnings:
            # Out-of-range settings were set aside (the project opens with its defaults);
            # said in a dialog: the user's own values are being replaced.
            self.error("\n".join(project.settings_warnings), dialog=True)
