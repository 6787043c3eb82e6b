"""`segstudio gui` where Qt cannot open a window: one segstudio line naming what is missing and
how to install it, instead of Qt's own abort (the detection itself is monkeypatched; the real
`ldd` check runs on the real plugin)."""

from __future__ import annotations

import ctypes
import sys
import types

import pytest

from segstudio.cli import main
from segstudio.ui import display_check


@pytest.fixture
def desktop(monkeypatch, tmp_path):
    """An X11 session as Qt would see it; starting the app fails the test."""
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(display_check, "xcb_plugin", lambda: tmp_path / "libqxcb.so")
    import segstudio.ui.app

    def refuse(folder):
        raise AssertionError("Qt was started")

    monkeypatch.setattr(segstudio.ui.app, "run_app", refuse)
    return monkeypatch


def test_missing_xcb_library_is_named_with_the_install_command(desktop, capsys):
    desktop.setattr(display_check, "missing_libraries", lambda plugin: ["libxcb-cursor.so.0"])
    assert main(["gui"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("segstudio gui: error: Qt cannot open a window: its xcb platform "
                          "plugin needs libxcb-cursor.so.0, not installed here; on "
                          "Debian/Ubuntu: sudo apt-get install libxcb-cursor0 ")


def test_several_missing_libraries_one_command(desktop, capsys):
    desktop.setattr(display_check, "missing_libraries",
                    lambda plugin: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libGL.so.1"])
    assert main(["gui"]) == 2
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libgl1 " in capsys.readouterr().err


def test_unknown_library_points_to_the_docs(desktop, capsys):
    desktop.setattr(display_check, "missing_libraries", lambda plugin: ["libweird.so.3"])
    assert main(["gui"]) == 2
    assert "needs libweird.so.3" in capsys.readouterr().err


def test_no_display_is_said_plainly(desktop, capsys):
    desktop.setattr(display_check, "missing_libraries", lambda plugin: [])
    desktop.delenv("DISPLAY")
    assert main(["gui"]) == 2
    assert "no display ($DISPLAY is not set)" in capsys.readouterr().err


def test_other_platforms_and_wayland_are_not_checked(desktop, tmp_path):
    desktop.setattr(display_check, "missing_libraries", lambda plugin: ["libxcb-cursor.so.0"])
    desktop.setenv("QT_QPA_PLATFORM", "offscreen")
    display_check.check_display()
    desktop.delenv("QT_QPA_PLATFORM")
    (tmp_path / "wayland-0").touch()  # a compositor's socket: Qt uses Wayland
    desktop.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    desktop.setenv("WAYLAND_DISPLAY", "wayland-0")
    display_check.check_display()
    desktop.setenv("WAYLAND_DISPLAY", "wayland-1")  # no compositor: Qt falls back to xcb
    with pytest.raises(display_check.DisplayError):
        display_check.check_display()


def test_qt_import_failing_on_a_system_library(desktop, capsys):
    desktop.setattr(display_check, "missing_libraries", lambda plugin: [])
    broken = types.ModuleType("segstudio.ui.app")

    def fail(name):
        raise ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")

    broken.__getattr__ = fail
    desktop.setitem(sys.modules, "segstudio.ui.app", broken)
    assert main(["gui"]) == 2
    assert capsys.readouterr().err == ("segstudio gui: error: Qt cannot start: libEGL.so.1 is not "
                                       "installed; on Debian/Ubuntu: sudo apt-get install "
                                       "libegl1\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb plugin is Linux-only")
def test_real_plugin_check_agrees_with_the_loader():
    plugin = display_check.xcb_plugin()
    if plugin is None:
        pytest.skip("this PySide6 has no xcb plugin")
    missing = display_check.missing_libraries(plugin)
    for soname in missing:
        assert soname in display_check.DEBIAN_PACKAGES, f"no package known for {soname}"
        with pytest.raises(OSError):
            ctypes.CDLL(soname)
