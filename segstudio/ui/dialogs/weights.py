"""Model ▸ Pretrained weights…: the weights segstudio knows, whether they are on this computer,
Download (size first, progress, Cancel) and Import from file; and `offer_backbone_download`,
which a fine-tune calls for an architecture whose ImageNet encoder is missing.

Everything slow (HTTP, hashing, copying) runs on a worker thread (`downloads.py`); listing only
looks at file names, so it is done on the GUI thread.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.errors import SegstudioError
from segstudio.ui.dialogs.downloads import DownloadDialog, SizeWorker, TransferPanel, TransferWorker

COLUMNS = ("Weights", "For", "Size", "Status")


def _status_text(st) -> str:
    if not st.present:
        return "missing"
    return "shipped" if st.kind == "shipped" else "present"


class WeightsDialog(QtWidgets.QDialog):
    """The weights table with Download… and Import from file…; one transfer at a time."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        from segstudio.engine.weights import MIRROR_ENV, cache_dir

        self.setObjectName("WeightsDialog")
        self._sized: tuple[str, int | None] | None = None  # a size query's answer
        self.setWindowTitle("Pretrained weights")
        intro = QtWidgets.QLabel(
            "FCN, SegNet, U-Net and LinkNet fine-tune from encoders pretrained on ImageNet; "
            "ENet starts from the shipped CamVid model; the SAM tool (key A) needs Segment "
            "Anything's ViT-B. Downloads are checked against their SHA-256 and kept in "
            f"{cache_dir()}."
        )
        intro.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        self.mirror = QtWidgets.QLineEdit(os.environ.get(MIRROR_ENV, ""))
        self.mirror.setPlaceholderText("torchvision's server (or a mirror's base URL or folder)")
        self.mirror.setToolTip("A base URL or folder holding the same file names, for machines "
                               f"that cannot reach download.pytorch.org (${MIRROR_ENV})")
        mirror_row = QtWidgets.QFormLayout()
        mirror_row.addRow("Download from:", self.mirror)
        self.panel = TransferPanel(self)
        self.panel.completed.connect(self._on_completed)
        self.download_button = QtWidgets.QPushButton("&Download…")
        self.import_button = QtWidgets.QPushButton("&Import from file…")
        self.download_button.clicked.connect(self.download_selected)
        self.import_button.clicked.connect(self.import_selected)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.download_button, QtWidgets.QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.import_button, QtWidgets.QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(mirror_row)
        layout.addWidget(self.panel)
        layout.addWidget(buttons)
        self.resize(760, 380)
        self.refresh()
        app = QtWidgets.QApplication.instance()
        if app is not None:  # the app may quit with this dialog open and a download running
            app.aboutToQuit.connect(self.panel.shutdown)

    @classmethod
    def show_for(cls, window: QtWidgets.QWidget) -> WeightsDialog:
        """Show the window's dialog (one per window, kept while open)."""
        dialog = window.findChild(cls, "WeightsDialog")
        if dialog is None:
            dialog = cls(window)
        dialog.refresh()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    # -- table ---------------------------------------------------------------------------
    def refresh(self) -> None:
        from segstudio.engine.weights import format_size, list_weights

        selected = self.selected_name()
        self.rows = list_weights()
        self.table.setRowCount(len(self.rows))
        for r, st in enumerate(self.rows):
            cells = (st.name, st.description, format_size(st.size), _status_text(st))
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(str(st.path) if c in (0, 3) else text)
                self.table.setItem(r, c, item)
            if st.name == selected:
                self.table.selectRow(r)
        self.table.resizeRowsToContents()
        if self.selected_name() is None:
            missing = [r for r, st in enumerate(self.rows) if not st.present]
            self.table.selectRow(missing[0] if missing else 0)
        self._update_buttons()

    def select(self, name: str) -> None:
        for r, st in enumerate(self.rows):
            if st.name == name:
                self.table.selectRow(r)

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.rows[rows[0].row()].name if rows else None

    def _selected(self):
        name = self.selected_name()
        return next((st for st in self.rows if st.name == name), None)

    def _update_buttons(self) -> None:
        st = self._selected()
        idle = not self.panel.busy
        downloadable = st is not None and st.kind != "shipped"
        self.download_button.setEnabled(idle and downloadable and not st.present)
        self.import_button.setEnabled(idle and downloadable)

    # -- actions -------------------------------------------------------------------------
    def _mirror(self) -> str | None:
        return self.mirror.text().strip() or None

    def download_selected(self) -> None:
        """Ask for the size (when the registry does not know it), confirm, download."""
        st = self._selected()
        if st is None or st.present or st.kind == "shipped" or self.panel.busy:
            return
        if st.size is not None:
            self._confirm_download(st.name, st.size)
            return
        worker = SizeWorker(st.name, self._mirror())
        # A bound slot: queued to the GUI thread. The question comes once the worker has
        # finished and the panel is free again (_on_completed).
        worker.size.connect(self._on_size)
        self._busy_buttons()
        self.panel.run(worker, f"asking for the size of {st.file}")

    @QtCore.Slot(object)
    def _on_size(self, size: int | None) -> None:
        worker = self.sender()
        self._sized = (worker.name, size) if worker is not None else None

    def _confirm_download(self, name: str, size: int | None) -> None:
        from segstudio.engine.weights import format_size, source_url, status

        st = status(name)
        try:
            url = source_url(name, self._mirror())
        except SegstudioError as exc:
            self._show(str(exc), error=True)
            return
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self, "Download weights",
            f"Download {st.file} ({format_size(size)}) from {_host(url)}?\n\n"
            f"{st.description}. It is checked and saved in {st.path.parent}.",
            buttons.Yes | buttons.No, buttons.Yes,
        )
        if answer != buttons.Yes:
            return
        self._busy_buttons()
        self.panel.run(TransferWorker(name, self._mirror()), f"downloading {st.file}")

    def import_selected(self) -> None:
        st = self._selected()
        if st is None or st.kind == "shipped" or self.panel.busy:
            return
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, f"Import {st.file}", "", "Weights (*.pth *.pt *.safetensors);;All files (*)"
        )
        if not path:
            return
        self._busy_buttons()
        self.panel.run(TransferWorker(st.name, source=Path(path)), f"importing {Path(path).name}")

    def _busy_buttons(self) -> None:
        self.download_button.setEnabled(False)
        self.import_button.setEnabled(False)

    @QtCore.Slot(bool, str)
    def _on_completed(self, ok: bool, message: str) -> None:
        sized, self._sized = self._sized, None
        self.refresh()
        if ok and sized is not None:
            self.panel.label.setText("")
            self._confirm_download(*sized)
            return
        self._show(message, error=not ok and "cancelled" not in message)

    def _show(self, message: str, *, error: bool) -> None:
        self.panel.label.setText(message)
        self.panel.label.setStyleSheet("color: #c0392b;" if error else "")

    def done(self, result: int) -> None:
        # Closing cancels a transfer (it leaves nothing behind) and waits for its thread.
        self.panel.shutdown()
        super().done(result)


def _host(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc or url


def _explanation(arch: str, st, size_text: str) -> str:
    return (
        f"{arch} is built on an encoder pretrained on ImageNet ({st.description}). Such an "
        "encoder has already learnt edges, textures and object parts from 1.2 million photos, "
        "so a few dozen labelled images are enough to fine-tune it.\n\n"
        f"Its weights ({st.file}, {size_text}) are not on this computer. Without them "
        "training starts from random initialisation: every layer begins as random numbers and "
        "has to learn to see from your labelled images alone, which with a few dozen images "
        "gives a poor model.\n\n"
        f"Download them now ({size_text})? No trains from random initialisation."
    )


def offer_backbone_download(parent: QtWidgets.QWidget | None, arch: str) -> bool:
    """True when `arch`'s ImageNet encoder weights are present afterwards.

    Present already: True, nothing asked. Missing: explains what random initialisation means,
    shows the download size and offers the download (modal progress with Cancel). False when
    the user declines, the download fails or is cancelled (nothing is kept), or `arch` has no
    ImageNet encoder (enet: its pretrained start is the shipped CamVid model).
    """
    from segstudio.engine.weights import backbone_entry, format_size, status

    st = backbone_entry(arch)
    if st is None:
        return False
    if st.present:
        return True
    buttons = QtWidgets.QMessageBox.StandardButton
    answer = QtWidgets.QMessageBox.question(
        parent, "Pretrained encoder missing", _explanation(arch, st, format_size(st.size)),
        buttons.Yes | buttons.No, buttons.Yes,
    )
    if answer != buttons.Yes:
        return False
    DownloadDialog(parent, st.name).exec()
    return status(st.name).present
