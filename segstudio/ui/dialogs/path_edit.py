"""A path field that behaves like the path fields of other programs: clicking or tabbing into
it selects its text, so a path typed or pasted replaces a suggested one instead of being
appended to it (issue 19: typing into the prefilled "Into project" field made the import
create `<suggested>/<typed>/`)."""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets


class PathEdit(QtWidgets.QLineEdit):
    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        # Deferred: a mouse press that gave the focus places the cursor after this event,
        # which would undo a selection made here.
        if event.reason() in (QtCore.Qt.FocusReason.MouseFocusReason,
                              QtCore.Qt.FocusReason.TabFocusReason,
                              QtCore.Qt.FocusReason.BacktabFocusReason,
                              QtCore.Qt.FocusReason.ShortcutFocusReason):
            QtCore.QTimer.singleShot(0, self.selectAll)

    def path(self) -> Path | None:
        """The path as typed (`~` expanded), None when empty."""
        text = self.text().strip()
        return Path(text).expanduser() if text else None
