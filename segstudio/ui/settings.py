"""Persistent app settings (QSettings): recent folders, window layout, view and tool options.
Fine-tune settings are not here: they belong to each project (its segstudio.json).
`SEGSTUDIO_SETTINGS=/path/file.ini` redirects them (tests use it so they never touch a user's
settings)."""

from __future__ import annotations

import os
from pathlib import Path

from pyqtgraph.Qt import QtCore

MAX_RECENT = 8


class Settings:
    def __init__(self) -> None:
        path = os.environ.get("SEGSTUDIO_SETTINGS")
        if path:
            self.q = QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
        else:
            self.q = QtCore.QSettings("segstudio", "segstudio")

    # -- recent folders ------------------------------------------------------------------
    def recent_folders(self) -> list[Path]:
        value = self.q.value("recent", [])
        if isinstance(value, str):  # QSettings returns a bare string for one-item lists
            value = [value]
        return [Path(v) for v in value or [] if v]

    def add_recent(self, folder: Path) -> None:
        folder = Path(folder).resolve()
        items = [folder] + [f for f in self.recent_folders() if f != folder]
        self.q.setValue("recent", [str(f) for f in items[:MAX_RECENT]])

    # -- plain values --------------------------------------------------------------------
    def get(self, key: str, default, kind=None):
        value = self.q.value(key, default)
        if kind is bool and isinstance(value, str):
            return value.lower() == "true"
        try:
            return kind(value) if kind is not None else value
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()
