"""A check of the Qt binding itself, before a window opens.

PySide6 6.12.0 drops one reference to `True` each time a signal is emitted from Python (the
value `emit()` returns is not counted). Python 3.11's `True` is an ordinary object, so after a
few thousand emits (a canvas emits on every mouse move) its count reaches zero and the
process aborts with "Fatal Python error: bool_dealloc", whatever the user was doing. The
project's dependencies exclude that release; this check catches an installation that has it
anyway (or a later release with the same fault) and says so in one line instead of crashing
mid-session.
"""

from __future__ import annotations

import sys

from pyqtgraph.Qt import QtCore

PROBE_EMITS = 64


class _Probe(QtCore.QObject):
    ping = QtCore.Signal()


def binding_problem() -> str | None:
    """One line saying why this Qt binding would crash the app, or None when it is sound."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBE_EMITS):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    # Put back what the probe took, so the check itself never brings the abort closer.
    if lost > 0 and sys.version_info < (3, 12):
        import ctypes

        for _ in range(lost):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    if lost < PROBE_EMITS // 2:
        return None
    try:
        import PySide6

        version = f"PySide6 {PySide6.__version__}"
    except ImportError:
        version = "this Qt binding"
    return (f"{version} loses a reference on every signal and would crash segstudio within "
            "minutes; install another release: pip install 'PySide6-Essentials!=6.12.0'")
