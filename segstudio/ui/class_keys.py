"""The keys that pick classes: 1-9 for classes 1-9, Shift+1-9 for classes 10-18 (CamVid's
Pedestrian and Bicyclist are 10 and 11). One table for the shortcuts, the Classes list and the
help, so the three agree."""

from __future__ import annotations

# (key sequence as Qt reads it, as the Classes list shows it), for class indices 0, 1, ...
CLASS_KEYS: tuple[tuple[str, str], ...] = (
    tuple((str(i), str(i)) for i in range(1, 10))
    + tuple((f"Shift+{i}", f"⇧{i}") for i in range(1, 10))
)


def key_text(index: int) -> str:
    """How the Classes list shows the key of class `index` ('' beyond the 18th)."""
    return CLASS_KEYS[index][1] if 0 <= index < len(CLASS_KEYS) else ""


# Where Shift+digit arrives as the shifted character (X11 and Wayland give "!" for Shift+1 on
# a US layout, and Qt's shortcuts then never see "Shift+1"), the digit is read from the key's
# position: the native scan code (evdev on Linux, set 1 on Windows) or macOS's virtual key.
_LINUX_CODES = {10 + i: i + 1 for i in range(9)}          # evdev + 8: 1 -> 10 ... 9 -> 18
_WINDOWS_CODES = {2 + i: i + 1 for i in range(9)}          # scan codes: 1 -> 0x02 ...
_MAC_KEYS = {18: 1, 19: 2, 20: 3, 21: 4, 23: 5, 22: 6, 26: 7, 28: 8, 25: 9}


def shifted_digit(event) -> int | None:
    """1..9 when `event` is Shift + a top-row digit key (on any keyboard layout), else None."""
    from pyqtgraph.Qt import QtCore, QtGui

    mods = event.modifiers()
    mod = QtCore.Qt.KeyboardModifier
    if not mods & mod.ShiftModifier or mods & (mod.ControlModifier | mod.AltModifier
                                               | mod.MetaModifier | mod.KeypadModifier):
        return None
    key = event.key()
    if QtCore.Qt.Key.Key_1 <= key <= QtCore.Qt.Key.Key_9:
        return int(key) - int(QtCore.Qt.Key.Key_0)
    platform = QtGui.QGuiApplication.platformName()
    if platform in ("xcb", "wayland"):
        return _LINUX_CODES.get(event.nativeScanCode())
    if platform == "windows":
        return _WINDOWS_CODES.get(event.nativeScanCode())
    if platform == "cocoa":
        return _MAC_KEYS.get(event.nativeVirtualKey())
    return None


def _types_text(widget) -> bool:
    from pyqtgraph.Qt import QtWidgets

    if isinstance(widget, QtWidgets.QComboBox):
        return widget.isEditable()
    return isinstance(widget, (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox,
                               QtWidgets.QTextEdit, QtWidgets.QPlainTextEdit))


def install_shift_digits(window, pick, enabled):
    """Make Shift+1..9 call `pick(index 9..17)` in `window` whatever the keyboard layout,
    except while the user types in a text field. Returns the filter (owned by `window`)."""
    from pyqtgraph.Qt import QtCore, QtWidgets

    class _Filter(QtCore.QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() != QtCore.QEvent.Type.KeyPress or not enabled():
                return False
            if not isinstance(obj, QtWidgets.QWidget) or obj.window() is not window \
                    or _types_text(obj):
                return False
            digit = shifted_digit(event)
            if digit is None:
                return False
            pick(8 + digit)
            return True

    f = _Filter(window)
    QtWidgets.QApplication.instance().installEventFilter(f)
    return f
