"""The welcome page shown before a folder is open: open, recent folders, a sample project."""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets


class WelcomePage(QtWidgets.QWidget):
    open_folder = QtCore.Signal()
    open_recent = QtCore.Signal(Path)
    sample = QtCore.Signal()

    def __init__(self, settings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        outer = QtWidgets.QVBoxLayout(self)
        outer.addStretch(1)
        box = QtWidgets.QVBoxLayout()
        title = QtWidgets.QLabel("<h1>segstudio</h1><p>Label images for semantic segmentation: "
                                 "auto-segment, brush-correct, fine-tune, re-segment.</p>")
        title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        title.setWordWrap(True)
        box.addWidget(title)
        self.open_button = QtWidgets.QPushButton("Open a folder of images…")
        self.sample_button = QtWidgets.QPushButton("Try a sample project")
        self.sample_button.setToolTip("Generates 16 small synthetic scenes (12 labelled) to try "
                                      "segmenting and fine-tuning on")
        self.open_button.clicked.connect(self.open_folder)
        self.sample_button.clicked.connect(self.sample)
        for b in (self.open_button, self.sample_button):
            b.setMinimumHeight(36)
            box.addWidget(b)
        hint = QtWidgets.QLabel("or drop a folder anywhere on this window")
        hint.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)   # greyed: a hint, not a control
        box.addWidget(hint)
        # Only when there is something to list: an empty white box reads as broken.
        self.recent_label = QtWidgets.QLabel("Recent folders:")
        box.addWidget(self.recent_label)
        self.recent = QtWidgets.QListWidget()
        self.recent.setMaximumHeight(180)
        self.recent.itemActivated.connect(
            lambda item: self.open_recent.emit(Path(item.data(QtCore.Qt.ItemDataRole.UserRole)))
        )
        box.addWidget(self.recent)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        inner = QtWidgets.QWidget()
        inner.setLayout(box)
        inner.setMaximumWidth(520)
        row.addWidget(inner, 2)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.refresh_recent()

    def refresh_recent(self) -> None:
        self.recent.clear()
        for folder in self.settings.recent_folders():
            item = QtWidgets.QListWidgetItem(str(folder))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, str(folder))
            self.recent.addItem(item)
        has_recent = self.recent.count() > 0
        self.recent_label.setVisible(has_recent)
        self.recent.setVisible(has_recent)
