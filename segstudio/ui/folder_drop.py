"""Dropping a folder on the window opens it (as in napari and labelme).

An event filter, installed on the window and on the widgets that would otherwise take the
drop themselves (the canvas, the welcome page); it knows nothing of projects and only emits
`dropped(folder)`. A dropped file is not a project: the status bar says to drop its folder."""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

_DRAG = (QtCore.QEvent.Type.DragEnter, QtCore.QEvent.Type.DragMove)


def dropped_folder(mime) -> Path | None:
    """The first local folder in a drag's URLs, else None."""
    if mime is None or not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).is_dir():
            return Path(url.toLocalFile())
    return None


def dropped_file(mime) -> Path | None:
    if mime is None or not mime.hasUrls():
        return None
    return next((Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()), None)


class FolderDrop(QtCore.QObject):
    """`dropped(folder)` when a folder is dropped; `refused(message)` for anything else local."""

    dropped = QtCore.Signal(Path)
    refused = QtCore.Signal(str)

    def watch(self, *widgets: QtWidgets.QWidget) -> None:
        for widget in widgets:
            widget.setAcceptDrops(True)
            widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind in _DRAG:
            if dropped_file(event.mimeData()) is not None:
                event.acceptProposedAction()
                return True
            return False
        if kind == QtCore.QEvent.Type.Drop:
            folder = dropped_folder(event.mimeData())
            if folder is not None:
                event.acceptProposedAction()
                self.dropped.emit(folder)
                return True
            path = dropped_file(event.mimeData())
            if path is not None:
                event.acceptProposedAction()
                self.refused.emit(f"{path} is a file: drop the folder of images to open it")
                return True
        return False
