"""The Qt binding's own soundness: PySide6 6.12.0 dropped a reference to True per emitted
signal, which aborted the app (and this test run) with "bool_dealloc" after a few thousand
emits. The installed binding must not, and the app's check must catch one that does."""

from __future__ import annotations

import ctypes
import sys

from pyqtgraph.Qt import QtCore

from segstudio.ui import qt_binding


class _Emitter(QtCore.QObject):
    sig = QtCore.Signal(object)


def test_the_installed_binding_keeps_its_references_across_emits():
    e = _Emitter()
    e.sig.connect(lambda _x: None)
    before = sys.getrefcount(True)
    for i in range(500):
        e.sig.emit(i)
    assert sys.getrefcount(True) - before > -10, "each emit loses a reference to True"
    assert qt_binding.binding_problem() is None


class _LossySignal:
    def emit(self) -> None:
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(True))   # what PySide6 6.12.0 did


class _LossyProbe:
    ping = _LossySignal()


def test_a_lossy_binding_is_named_in_one_line_and_the_probe_gives_back_what_it_took(
        monkeypatch):
    monkeypatch.setattr(qt_binding, "_Probe", _LossyProbe)
    before = sys.getrefcount(True)
    problem = qt_binding.binding_problem()
    assert problem is not None and "\n" not in problem
    assert "PySide6-Essentials!=6.12.0" in problem
    assert abs(sys.getrefcount(True) - before) <= 2     # not 64 down


def test_the_app_refuses_to_start_on_such_a_binding(monkeypatch, capsys):
    from segstudio.ui import app

    monkeypatch.setattr(qt_binding, "binding_problem", lambda: "PySide6 9.9 is broken")
    assert app.run_app(None) == 2
    assert capsys.readouterr().err.strip() == "segstudio: PySide6 9.9 is broken"
