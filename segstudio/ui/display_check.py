"""Can Qt open a window here? Checked by `segstudio gui` before Qt is imported.

On a Linux desktop without the X11/xcb libraries that Qt's xcb platform plugin links against
(libxcb-cursor0 and friends are not installed by every distribution), Qt prints its own message
and aborts the process, which no Python code can catch. So we look first: `ldd` on the plugin
lists the shared libraries the dynamic loader cannot find (this also covers the libraries of
the Qt libraries it loads), and we name them with the Debian/Ubuntu package to install.
No Qt import here.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from segstudio.core.errors import SegstudioError

# soname -> Debian/Ubuntu package: every system library Qt's xcb plugin, QtGui, QtWidgets and
# QtDBus link against (from `objdump -p` of PySide6 6.x; libc/libstdc++ left out).
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)
_DLOPEN = re.compile(r"(\S+\.so[.\d]*): cannot open shared object file")


class DisplayError(SegstudioError):
    """Qt cannot open a window on this machine (missing libraries, no display)."""


def qt_package_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def xcb_plugin() -> Path | None:
    """Qt's xcb platform plugin inside PySide6 (None when not there)."""
    root = qt_package_dir()
    if root is None:
        return None
    for plugin in (root / "Qt" / "plugins" / "platforms" / "libqxcb.so",
                   root / "plugins" / "platforms" / "libqxcb.so"):
        if plugin.is_file():
            return plugin
    return None


def missing_libraries(plugin: Path) -> list[str]:
    """Shared libraries `plugin` needs (directly or through its Qt libraries) that the loader
    cannot find, in load order. `ldd` lists all of them; without it, dlopen names the first."""
    ldd = shutil.which("ldd")
    if ldd is not None:
        try:
            out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20)
            return list(dict.fromkeys(_NOT_FOUND.findall(out.stdout)))
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        m = _DLOPEN.search(str(exc))
        return [m.group(1)] if m else []
    return []


def install_command(libraries: list[str]) -> str:
    packages = list(dict.fromkeys(DEBIAN_PACKAGES.get(lib, "") for lib in libraries))
    if "" in packages or not packages:
        return "install the packages that provide them (see docs/install.md)"
    return f"on Debian/Ubuntu: sudo apt-get install {' '.join(packages)}"


def qt_platform() -> str | None:
    """The platform plugin Qt will start with: QT_QPA_PLATFORM, else xcb on Linux unless a
    Wayland compositor is listening (Qt tries Wayland first and falls back to xcb); None when
    Qt picks another one by itself (Wayland, macOS, Windows)."""
    explicit = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if explicit:
        return explicit.split(";")[0].split(":")[0]
    if not sys.platform.startswith("linux"):
        return None
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if wayland:
        socket = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"), wayland)
        if Path(wayland).is_absolute():
            socket = Path(wayland)
        if socket.exists():
            return None
    return "xcb"


def check_display() -> None:
    """Raise DisplayError (one line: what is missing and how to install it) when Qt would abort
    on start-up; return quietly when it should start or when we cannot tell."""
    if qt_platform() != "xcb":
        return
    plugin = xcb_plugin()
    if plugin is None:
        return
    missing = missing_libraries(plugin)
    if missing:
        raise DisplayError(
            f"Qt cannot open a window: its xcb platform plugin needs {', '.join(missing)}, "
            f"not installed here; {install_command(missing)} "
            "(or QT_QPA_PLATFORM=offscreen to run without a window)"
        )
    if not os.environ.get("DISPLAY"):
        raise DisplayError(
            "Qt cannot open a window: no display ($DISPLAY is not set); run segstudio on a "
            "desktop or over `ssh -X` (or QT_QPA_PLATFORM=offscreen to run without a window)"
        )


def describe_import_error(exc: ImportError) -> str:
    """One line for a Qt import that failed on a missing system library (libEGL, libGL…)."""
    m = _DLOPEN.search(str(exc))
    if m is None:
        return f"cannot import Qt ({exc}); reinstall PySide6-Essentials"
    lib = m.group(1)
    return f"Qt cannot start: {lib} is not installed; {install_command([lib])}"
