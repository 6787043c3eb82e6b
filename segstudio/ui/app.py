"""Application start-up: QApplication, the error hook, the main window."""

from __future__ import annotations

import logging
import sys
import threading
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


GIL_SWITCH_S = 0.0005


def configure_runtime() -> None:
    """Hand the GIL over more often than Python's default 5 ms.

    Qt calls back into Python many times per repaint (each pyqtgraph item paints in Python)
    and every call re-acquires the GIL; with a worker thread busy in Python, each of those
    waits up to one switch interval, which adds up to stalls of hundreds of ms.
    """
    sys.setswitchinterval(GIL_SWITCH_S)


_preloaded = threading.Event()


def _preload() -> None:
    """Import torch and the engine off the GUI thread while the user picks a folder, so the
    first model action does not freeze the window for the import."""
    try:
        import segstudio.engine.predict
        import segstudio.engine.train  # noqa: F401
    except Exception:  # a broken install shows up later, with a proper message
        log.exception("preloading the engine failed")
    finally:
        _preloaded.set()


def run_app(folder: Path | None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    configure_runtime()
    threading.Thread(target=_preload, name="preload", daemon=True).start()
    from segstudio.ui.qt_binding import binding_problem

    if (problem := binding_problem()) is not None:
        print(f"segstudio: {problem}", file=sys.stderr)
        return 2
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    app.setApplicationName("segstudio")
    app.setOrganizationName("segstudio")
    from segstudio.ui.gc_policy import GuiGarbageCollector

    # Cycles collected on the GUI thread only (see gc_policy); the start-up objects frozen
    # out of full passes once the engine is loaded.
    GuiGarbageCollector(freeze_when=_preloaded.is_set, parent=app)
    window = create_window(folder)
    window.show()
    return app.exec()
