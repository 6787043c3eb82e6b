"""A note of at most a few lines: word-wrapped, the last line elided with "…", the whole
text on hover. Its height is fixed whether it holds text or not, so a note that comes and
goes never changes the panel's height and never takes rows from the panel beside it (issue
19: each "not made active" note made the Classes panel hide rows)."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets


def elide_lines(text: str, metrics: QtGui.QFontMetrics, width: int, lines: int) -> str:
    """`text` broken into at most `lines` lines of `width` pixels, the last elided."""
    if width <= 0 or not text:
        return text
    out: list[str] = []
    words = text.split()
    while words and len(out) < lines:
        if len(out) == lines - 1:
            out.append(metrics.elidedText(" ".join(words), QtCore.Qt.TextElideMode.ElideRight,
                                          width))
            break
        line = words.pop(0)
        while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= width:
            line += " " + words.pop(0)
        if metrics.horizontalAdvance(line) > width:   # one word longer than the line
            line = metrics.elidedText(line, QtCore.Qt.TextElideMode.ElideRight, width)
        out.append(line)
    return "\n".join(out)


class ElidedNote(QtWidgets.QLabel):
    def __init__(self, lines: int = 2, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines = lines
        self._full = ""
        self.setWordWrap(False)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        # Any width (the text follows it), a fixed height of `lines` lines.
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                           QtWidgets.QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 2)

    def text(self) -> str:
        """The whole note (Qt paints the elided one; `shown_text()`)."""
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._layout()

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(0, self.height())

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(super().sizeHint().width(), self.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._layout()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self.setFixedHeight(self.fontMetrics().lineSpacing() * self._lines + 2)
            self._layout()

    def _layout(self) -> None:
        super().setText(elide_lines(self._full, self.fontMetrics(),
                                    self.contentsRect().width(), self._lines))
