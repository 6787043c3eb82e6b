"""File > Import labels… and File > Export labels…: the choices of `segstudio import` /
`segstudio export` in a dialog, the work on a worker thread (`segstudio.core.formats`), a
progress bar and Cancel. After an import the window opens the project; after an export the
status bar says what was written. Both dialogs are window-modal, so nothing in the window
writes to the project while they run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pyqtgraph.Qt import QtWidgets

from segstudio.ui.dialogs.path_edit import PathEdit
from segstudio.ui.dialogs.progress import TransferDialog

EXPORT_CHOICES = (
    ("voc", "Pascal VOC (folder)"),
    ("cvat-mask", "CVAT segmentation mask 1.1 (zip)"),
    ("coco", "COCO (JSON and images)"),
    ("color", "Colour masks (RGB PNG)"),
)
IMPORT_CHOICES = (
    ("voc", "Pascal VOC folder"),
    ("cvat-mask", "CVAT segmentation mask 1.1 (zip or folder)"),
    ("coco", "COCO JSON (file or folder)"),
    ("labelme", "labelme / X-AnyLabeling JSON (folder or file)"),
)


def _path_row(edit: QtWidgets.QLineEdit, *buttons: QtWidgets.QPushButton) -> QtWidgets.QWidget:
    row = QtWidgets.QWidget()
    layout = QtWidgets.QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    for b in buttons:
        layout.addWidget(b)
    return row


class ExportDialog(TransferDialog):
    def __init__(self, window) -> None:
        super().__init__(window, "Export labels")
        session = window.session
        self.project = QtWidgets.QLineEdit(str(session.project.root) if session else "")
        browse_project = QtWidgets.QPushButton("Browse…")
        browse_project.clicked.connect(self._browse_project)
        self.format = QtWidgets.QComboBox()
        for value, text in EXPORT_CHOICES:
            self.format.addItem(text, value)
        self.out = PathEdit()   # holds a suggestion: a typed path replaces it
        browse_out = QtWidgets.QPushButton("Browse…")
        browse_out.clicked.connect(self._browse_out)
        self.include_all = QtWidgets.QCheckBox(
            "Also predicted and edited labels (not ground truth)")
        self.split = QtWidgets.QCheckBox("Split off a validation subset:")
        self.val = QtWidgets.QDoubleSpinBox()
        self.val.setRange(0.01, 0.9)
        self.val.setSingleStep(0.05)
        self.val.setValue(0.2)
        self.val.setEnabled(False)
        self.split.toggled.connect(self.val.setEnabled)
        split_row = QtWidgets.QWidget()
        h = QtWidgets.QHBoxLayout(split_row)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(self.split)
        h.addWidget(self.val)
        h.addStretch(1)
        self.images = QtWidgets.QCheckBox("Copy the images too")
        self.images.setChecked(True)
        self.polygons = QtWidgets.QCheckBox("COCO polygons instead of exact RLE (approximate)")
        self.form.addRow("Project", _path_row(self.project, browse_project))
        self.form.addRow("Format", self.format)
        self.form.addRow("Write to", _path_row(self.out, browse_out))
        self.form.addRow("", self.include_all)
        self.form.addRow("", split_row)
        self.form.addRow("", self.images)
        self.form.addRow("", self.polygons)
        self._suggested = ""
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    def fmt(self) -> str:
        return self.format.currentData()

    def controls_restored(self) -> None:
        self._format_changed()

    def _format_changed(self) -> None:
        fmt = self.fmt()
        self.polygons.setEnabled(fmt == "coco")
        if not self.polygons.isEnabled():
            self.polygons.setChecked(False)
        root = self.project.text().strip()
        if root and self.out.text() in ("", self._suggested):
            base = Path(root)
            name = f"{base.name}-{fmt}" + (".zip" if fmt == "cvat-mask" else "")
            self._suggested = str(base.parent / name)
            self.out.setText(self._suggested)

    def _browse_project(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Project to export")
        if folder:
            self.project.setText(folder)
            self._format_changed()

    def _browse_out(self) -> None:
        if self.fmt() == "cvat-mask":
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Export to", self.out.text(), "Zip archive (*.zip)")
        else:
            path = QtWidgets.QFileDialog.getExistingDirectory(self, "Export into folder")
        if path:
            self.out.setText(path)

    def make_call(self) -> Callable | None:
        from functools import partial

        from segstudio.core.formats import export_labels

        project, out = self.project.text().strip(), self.out.text().strip()
        if not project or not out:
            self.say("choose the project and where to write")
            return None
        out_path = Path(out).expanduser()
        force = False
        if (out_path.is_dir() and any(out_path.iterdir())) or out_path.is_file():
            buttons = QtWidgets.QMessageBox.StandardButton
            answer = QtWidgets.QMessageBox.question(
                self, "Export labels", f"{out_path} is not empty. Write into it anyway?",
                buttons.Yes | buttons.No, buttons.No)
            if answer != buttons.Yes:
                return None
            force = True
        session = self.window_.session
        if session is not None and Path(project).resolve() == session.project.root:
            # The export reads the folder: write the open labels and states first.
            if not session.save_all(wait=True):
                self.say("some labels could not be saved; not exporting")
                return None
            session.persist()
        split = {"val": round(self.val.value(), 4)} if self.split.isChecked() else None
        return partial(export_labels, project, self.fmt(), out_path,
                       include_all=self.include_all.isChecked(), split=split, force=force,
                       images=self.images.isChecked(), polygons=self.polygons.isChecked())

    def on_done(self, report) -> None:
        self.window_.notify.status(report.summary()[0], 20000)


class ImportDialog(TransferDialog):
    def __init__(self, window) -> None:
        super().__init__(window, "Import labels")
        self.format = QtWidgets.QComboBox()
        for value, text in IMPORT_CHOICES:
            self.format.addItem(text, value)
        self.source = QtWidgets.QLineEdit()
        pick_file = QtWidgets.QPushButton("File…")
        pick_folder = QtWidgets.QPushButton("Folder…")
        pick_file.clicked.connect(self._browse_source_file)
        pick_folder.clicked.connect(self._browse_source_folder)
        self.images = QtWidgets.QLineEdit()
        self.images.setPlaceholderText("only when the source does not hold its images")
        pick_images = QtWidgets.QPushButton("Browse…")
        pick_images.clicked.connect(lambda: self._pick_dir(self.images, "Images folder"))
        self.labels = QtWidgets.QLineEdit()
        self.labels.setPlaceholderText("labelme labels.txt (optional)")
        pick_labels = QtWidgets.QPushButton("Browse…")
        pick_labels.clicked.connect(self._browse_labels)
        self.target = PathEdit()   # holds a suggestion: a typed path replaces it
        self.target.setPlaceholderText("a new folder, or a project to extend")
        pick_target = QtWidgets.QPushButton("Browse…")
        pick_target.clicked.connect(lambda: self._pick_dir(self.target, "Project folder"))
        self.link = QtWidgets.QCheckBox("Link the images instead of copying them")
        self.overwrite = QtWidgets.QCheckBox("Replace reviewed labels already in the project")
        self.classes = QtWidgets.QComboBox()
        self.classes.addItem("Refuse if the classes differ", "refuse")
        self.classes.addItem("Match classes by name, add the missing ones", "by-name")
        self.mapping = QtWidgets.QLineEdit()
        self.mapping.setPlaceholderText("source=project; source=void; … (optional)")
        self.form.addRow("Format", self.format)
        self.form.addRow("Source", _path_row(self.source, pick_file, pick_folder))
        self.form.addRow("Images", _path_row(self.images, pick_images))
        self.form.addRow("Labels file", _path_row(self.labels, pick_labels))
        self.form.addRow("Into project", _path_row(self.target, pick_target))
        self.form.addRow("Classes", self.classes)
        self.form.addRow("Map classes", self.mapping)
        self.form.addRow("", self.link)
        self.form.addRow("", self.overwrite)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.source.editingFinished.connect(self._suggest_target)
        self._format_changed()

    def fmt(self) -> str:
        return self.format.currentData()

    def controls_restored(self) -> None:
        self._format_changed()

    def _format_changed(self) -> None:
        self.labels.setEnabled(self.fmt() == "labelme")

    def _pick_dir(self, edit: QtWidgets.QLineEdit, title: str) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, title)
        if folder:
            edit.setText(folder)

    def _browse_source_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Source", "", "Datasets (*.zip *.json);;All files (*)")
        if path:
            self.source.setText(path)
            self._suggest_target()

    def _browse_source_folder(self) -> None:
        self._pick_dir(self.source, "Source folder")
        self._suggest_target()

    def _browse_labels(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "labels.txt", "",
                                                        "Text (*.txt);;All files (*)")
        if path:
            self.labels.setText(path)

    def _suggest_target(self) -> None:
        src = self.source.text().strip()
        if src and not self.target.text().strip():
            p = Path(src)
            self.target.setText(str(p.parent / f"{p.stem}-project"))

    def _may_create(self, target: Path) -> bool:
        """A folder that does not exist is made only when the user says so, naming it in
        full: a mistyped path then shows before anything is written."""
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self, "Import labels",
            f"{target} does not exist. Create it as a new project and import into it?",
            buttons.Yes | buttons.No, buttons.No)
        if answer != buttons.Yes:
            self.say(f"not importing: {target} was not created")
            return False
        return True

    def _class_map(self) -> dict[str, str] | None:
        pairs = {}
        for part in self.mapping.text().split(";"):
            if not part.strip():
                continue
            src, sep, dst = part.partition("=")
            if not sep or not src.strip() or not dst.strip():
                self.say(f"class map {part.strip()!r}: expected source=project")
                return None
            pairs[src.strip()] = dst.strip()
        return pairs

    def make_call(self) -> Callable | None:
        from functools import partial

        from segstudio.core.formats import import_labels

        source, target = self.source.text().strip(), self.target.path()
        if not source or target is None:
            self.say("choose the source and the project folder")
            return None
        if not target.is_absolute():
            # Relative to what? The window's working folder means nothing to the user.
            self.say(f"{target}: give the project folder's full path (or Browse…)")
            return None
        class_map = self._class_map()
        if class_map is None:
            return None
        if not target.exists() and not self._may_create(target):
            return None
        window = self.window_
        if window.session is not None and target.resolve() == window.session.project.root:
            # Importing into the open project: save its labels, stop its runs (asking first);
            # the window reopens it afterwards (the dialog is modal, so nothing else writes
            # meanwhile).
            if not window.guard.running("Import into the open project"):
                self.say("not importing while a run goes on")
                return None
            if not window.session.save_all(wait=True):
                self.say("some labels could not be saved; not importing")
                return None
            window.session.persist()
            window.runs.cancel_all(wait=True)
        images = self.images.text().strip() or None
        labels = self.labels.text().strip() if self.fmt() == "labelme" else ""
        return partial(import_labels, source, self.fmt(), target,
                       images=images, labels=labels or None, link=self.link.isChecked(),
                       overwrite_reviewed=self.overwrite.isChecked(), class_map=class_map,
                       map_by_name=self.classes.currentData() == "by-name")

    def on_done(self, report) -> None:
        window = self.window_
        reopen = window.session is not None and window.session.project.root == \
            report.out.resolve()
        if not report.cancelled or reopen:
            window.open_folder(report.out)
        window.notify.status(report.summary()[0], 20000)


def export_dialog(window) -> ExportDialog:
    """Show File > Export labels… (window-modal, not blocking); returns the dialog."""
    dialog = ExportDialog(window)
    dialog.open()
    return dialog


def import_dialog(window) -> ImportDialog:
    """Show File > Import labels… (window-modal, not blocking); returns the dialog."""
    dialog = ImportDialog(window)
    dialog.open()
    return dialog
