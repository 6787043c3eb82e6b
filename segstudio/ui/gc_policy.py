"""Python's cyclic garbage collector, run on the GUI thread only.

Python collects in whichever thread happens to allocate. On a worker thread (segmenting,
fine-tuning, writing labels) that can destroy the Qt objects of a closed window off the GUI
thread, which deadlocks or crashes Qt (it hung the test suite once: the collector, running on
a worker, waited for the GIL inside a QObject destructor while the GUI thread, holding the
GIL, waited for that object's lock). So automatic collection is off and a timer on the GUI
thread collects, as pyqtgraph's `GarbageCollector` does.

Unlike that one, full collections are rare (at most every FULL_EVERY_S) and the objects alive
once the engine is loaded (torch, Qt, the window: about 400,000) are frozen out of them
(`gc.freeze`): a full pass over those takes about 200 ms on a 2-core CPU, a visible stall,
while a pass over what the session itself allocates takes a few ms.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from pyqtgraph.Qt import QtCore

FULL_EVERY_S = 60.0


class GuiGarbageCollector(QtCore.QObject):
    """Collects on a GUI-thread timer every `interval_s`; `stop()` hands collection back to
    Python. `freeze_when()` (checked on each tick until true) says when the start-up objects
    are all loaded: they are then collected once and frozen."""

    def __init__(self, interval_s: float = 1.0, *,
                 freeze_when: Callable[[], bool] | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.freeze_when = freeze_when
        self.frozen = False
        self._last_full = time.monotonic()
        gc.disable()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(int(interval_s * 1000))

    def check(self) -> None:
        if not self.frozen and self.freeze_when is not None and self.freeze_when():
            self.freeze_now()
            return
        young, middle, old = gc.get_count()
        if young > self.threshold[0]:
            gc.collect(0)
            if middle > self.threshold[1]:
                gc.collect(1)
        now = time.monotonic()
        if old > self.threshold[2] and now - self._last_full >= FULL_EVERY_S:
            gc.collect(2)
            self._last_full = now

    def freeze_now(self) -> None:
        """Collect everything once and keep what is left out of later full passes."""
        gc.collect()
        gc.freeze()
        self.frozen = True
        self._last_full = time.monotonic()

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()
