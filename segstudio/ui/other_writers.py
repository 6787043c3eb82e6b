"""Other writers on the open project (a second window, `segstudio segment` beside the app).

Saves never lose the other writer's work: core merges a label saved meanwhile
(`core.label_saving`). This part makes the window *see* that work:
- every few seconds, when the window is activated, and on F5 it picks up the records other
  writers saved (the list's states and counts) and brings their pixels into the open image's
  document, where this window has no unsaved stroke (`Session.pull`); the status bar says so;
- when the window loses focus it saves what is unsaved, so the window the person turns to
  sees the stroke just painted here, and the later save holds the newer stroke.
Checks cost a few `stat` calls; an image's label is only read when its file changed.
"""

from __future__ import annotations

from pyqtgraph.Qt import QtCore

CHECK_MS = 2000


class OtherWriters(QtCore.QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(CHECK_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if obj is self.w and kind == QtCore.QEvent.Type.WindowActivate:
            self.check()
        elif obj is self.w and kind == QtCore.QEvent.Type.WindowDeactivate:
            self.save_unsaved()
        return False

    def save_unsaved(self) -> None:
        session = self.w.session
        if session is not None and not self.w.tools.stroke_active and session.dirty_keys():
            session.save_all()   # in the background; the title follows

    def check(self) -> bool:
        """Pick up other writers' records and the open image's pixels; True when anything
        changed. Skipped while a stroke is being drawn or our own writes are queued."""
        session = self.w.session
        if session is None or self.w.tools.stroke_active:
            return False
        records = session.sync()
        entry = self.w.current_entry()
        pulled = entry is not None and session.pull(entry)
        if records or pulled:
            self.w.files.refresh_all()
            self.w.update_title()
        if pulled:
            self.w.notify.status(
                f"{entry.key}: saved meanwhile by another window or program; its strokes are "
                "shown here" + (" (your unsaved ones are kept)"
                                if session.is_dirty(entry.key) else ""), 12000)
        return records or pulled

    def refresh(self) -> None:
        """F5: our queued writes first, then the other writers' changes, then the list's
        order and filter."""
        if self.w.session is not None:
            self.w.session.flush()
        self.check()
        self.w.files.refresh_queue()
