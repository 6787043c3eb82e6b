"""Application start-up: QApplication, the error hook, the main window."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from pyqtgraph.Qt import QtWidgets

from segstudio.core.errors import SegstudioError

log = logging.getLogger(__name__)


def install_excepthook(window: QtWidgets.QWidget) -> None:
    """Unexpected errors on the GUI thread go to a dialog (and the log), never only the console;
    the app keeps running."""

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unexpected error:\n%s", details)
        text = str(exc) if isinstance(exc, SegstudioError) else f"{exc_type.__name__}: {exc}"
        box = QtWidgets.QMessageBox(window)
        box.setIcon(QtWidgets.QMessageBox.Icon.Critical)
        box.setWindowTitle("segstudio: unexpected error")
        box.setText(f"{text}\n\nYour labels in memory are kept; save (Ctrl+S) to be safe.")
        box.setDetailedText(details)
        box.open()

    sys.excepthook = hook


def create_window(folder: Path | None = None):
    """The main window, with `folder` opened when given (used by run_app and tests)."""
    from segstudio.ui.main_window import MainWindow

    window = MainWindow()
    install_excepthook(window)
    if folder is not None:
        window.open_folder(Path(folder))
    return window


def run_app(folder: Path | None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    app.setApplicationName("segstudio")
    app.setOrganizationName("segstudio")
    window = create_window(folder)
    window.show()
    return app.exec()
