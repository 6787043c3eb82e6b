"""The window's status bar: a message elided to the room left of the pixel readout and the
zoom (the whole message on hover), instead of QStatusBar's own text, which a long message
drew right up against the readout (issue 19). `showMessage`, `currentMessage` and
`clearMessage` keep QStatusBar's meaning, so callers and tests see the whole text."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.ui.docks.elided import ElidedNote


class StatusBar(QtWidgets.QStatusBar):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = ElidedNote(1)
        self.message.setContentsMargins(4, 0, 8, 0)   # a gap before the readout
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft
                                  | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.addWidget(self.message, 1)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)

    def showMessage(self, text: str, timeout: int = 0) -> None:
        self.message.setText(text)
        self._timer.stop()
        if timeout > 0:
            self._timer.start(timeout)
        self.messageChanged.emit(text)

    def currentMessage(self) -> str:
        return self.message.text()

    def clearMessage(self) -> None:
        self._timer.stop()
        if self.message.text():
            self.message.setText("")
            self.messageChanged.emit("")
