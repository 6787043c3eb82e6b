"""Model dock: the network to fine-tune, the project's models (its runs with their status and
figures, the shipped model, a file) with the active one marked, the device, and the
segmentation buttons with progress, ETA and Cancel.

Choosing a model in the list makes it the project's active model: the user's say. A run that
was not made active automatically shows why beside its figures."""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from segstudio.ui.docks.elided import ElidedNote

CHOOSE_FILE = "__choose__"
NO_MODEL = "(none fits yet)"
NO_MODEL_NOTE = ("No model fits this project's classes yet: fine-tune one, or choose a "
                 "checkpoint file.")
ACTIVE_MARK = "● "


def format_eta(seconds: float) -> str:
    """Negative: not known yet. Under a second: "finishing…", not "0 s left", which the
    estimate says when the network is done but the work is not (an 8000x6000 image's logits
    take seconds to bring back to its size after its one tile)."""
    if seconds < 0:
        return "estimating…"
    if seconds < 1:
        return "finishing…"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s left"
    return f"{seconds // 60} min {seconds % 60:02d} s left"


def run_name(choice) -> str:
    return (choice.record or {}).get("name") or choice.path.parent.name


class ModelDock(QtWidgets.QDockWidget):
    """Emits `segment_image`, `segment_all`, `resegment`, `cancel`, `resume(record)`,
    `checkpoint_changed(path or '')` when the user picks a model (or a file), and
    `rename_run(record, name)` / `delete_run(record)` from the runs menu (the "⋯" button
    beside the list, or a right click on a run in the open list)."""

    segment_image = QtCore.Signal()
    segment_all = QtCore.Signal()
    resegment = QtCore.Signal()
    cancel = QtCore.Signal()
    resume = QtCore.Signal(object)
    checkpoint_changed = QtCore.Signal(str)
    scale_changed = QtCore.Signal(str)
    rename_run = QtCore.Signal(object, str)
    delete_run = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.setObjectName("ModelDock")
        body = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(body)
        form = QtWidgets.QFormLayout()
        outer.addLayout(form)
        # The panel never takes more height than its content: the spare goes to Classes and
        # Fine-tune. The note has a fixed height (ElidedNote), so nothing is squashed.
        body.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred,
                           QtWidgets.QSizePolicy.Policy.Maximum)
        self.arch = QtWidgets.QComboBox()
        self.arch.setToolTip("Architecture that fine-tuning trains")
        self.checkpoint = QtWidgets.QComboBox()
        self.checkpoint.setToolTip("The active model: what Segment uses. Choosing one here "
                                   "makes it active.")
        self.checkpoint.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.checkpoint.setMinimumContentsLength(10)
        self.checkpoint.activated.connect(self._checkpoint_activated)
        self.checkpoint.currentIndexChanged.connect(self._show_note)
        # Two lines at most, always there: a note that comes and goes (or a Resume button
        # that did) changed the panel's height and took rows from Classes. Resume is in
        # the ⋯ menu.
        self.note = ElidedNote(2)
        self.device = QtWidgets.QLabel("…")
        self.device.setWordWrap(True)
        self.runs_button = QtWidgets.QToolButton()
        self.runs_button.setText("⋯")
        self.runs_button.setToolTip("Resume, rename or delete this project's fine-tune runs")
        self.runs_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.runs_menu = QtWidgets.QMenu(self)
        self.runs_menu.aboutToShow.connect(self._fill_runs_menu)
        self.runs_button.setMenu(self.runs_menu)
        popup = self.checkpoint.view()
        popup.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        popup.customContextMenuRequested.connect(self._popup_menu)
        model_row = QtWidgets.QHBoxLayout()
        model_row.setContentsMargins(0, 0, 0, 0)
        model_row.addWidget(self.checkpoint, 1)
        model_row.addWidget(self.runs_button)
        form.addRow("Network", self.arch)
        form.addRow("Model", model_row)
        form.addRow(self.note)
        form.addRow("Device", self.device)
        # Inference scale: auto resizes each image so objects have the size the model learnt
        # (engine.scale); native never resizes; a factor is the user's own.
        self.scale = QtWidgets.QComboBox()
        self.scale.setEditable(True)
        self.scale.addItems(["auto", "native", "0.5", "2"])
        self.scale.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.scale.lineEdit().editingFinished.connect(self._scale_edited)
        self.scale.activated.connect(self._scale_edited)
        self._scale_text = "auto"
        form.addRow("Scale", self.scale)
        buttons = QtWidgets.QGridLayout()
        self.segment_image_button = _button("Segment image")
        self.segment_all_button = _button("Segment unlabeled")
        self.resegment_button = _button("Re-segment…")
        self.resegment_button.setToolTip("Re-predict every image that is not reviewed; edited "
                                         "images keep the pixels you painted")
        self.segment_image_button.clicked.connect(self.segment_image)
        self.segment_all_button.clicked.connect(self.segment_all)
        self.resegment_button.clicked.connect(self.resegment)
        buttons.addWidget(self.segment_image_button, 0, 0)
        buttons.addWidget(self.segment_all_button, 0, 1)
        buttons.addWidget(self.resegment_button, 1, 0, 1, 2)
        form.addRow(buttons)
        progress = QtWidgets.QHBoxLayout()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.cancel_button)
        form.addRow(progress)
        self.eta = QtWidgets.QLabel("")
        form.addRow(self.eta)
        self.setWidget(body)
        self._choices: list = []
        self.set_running(False)
        self._last_path = ""

    def set_architectures(self, names: list[str], current: str | None = None) -> None:
        self.arch.blockSignals(True)
        self.arch.clear()
        self.arch.addItems(names)
        if current in names:
            self.arch.setCurrentText(current)
        self.arch.blockSignals(False)

    def set_choices(self, choices: list) -> None:
        """`choices`: engine.workflow.ModelChoice, the active one marked and selected; a last
        entry lets the user pick a file."""
        self._choices = list(choices)
        self.checkpoint.blockSignals(True)
        self.checkpoint.clear()
        current = 0
        for i, c in enumerate(self._choices):
            label = (ACTIVE_MARK if c.active else "") + c.label
            self.checkpoint.addItem(label, str(c.path))
            tip = f"{c.path}\n{c.note}" if c.note else str(c.path)
            self.checkpoint.setItemData(i, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
            if not c.usable:
                self.checkpoint.model().item(i).setEnabled(False)
            if c.active:
                current = i
        if not any(c.active for c in self._choices):
            self.checkpoint.insertItem(0, NO_MODEL, "")
            current = 0
        self.checkpoint.addItem("Choose file…", CHOOSE_FILE)
        self.checkpoint.setCurrentIndex(current)
        self._last_path = self.checkpoint.currentData() or ""
        self.checkpoint.blockSignals(False)
        has = bool(self.current_checkpoint())
        tip = "" if has else "Choose a checkpoint file or fine-tune a model first"
        for b in (self.segment_image_button, self.segment_all_button, self.resegment_button):
            b.setToolTip(tip or b.toolTip())
        self._show_note()
        self._update_buttons()

    def current_checkpoint(self) -> Path | None:
        """The model the list shows as chosen: the project's active model once the list is
        refreshed. Only for the panel's own buttons; Segment asks the workflow
        (`engine.workflow.active_checkpoint`), never this list."""
        data = self.checkpoint.currentData()
        return Path(data) if data and data != CHOOSE_FILE else None

    def current_choice(self):
        data = self.checkpoint.currentData()
        return next((c for c in self._choices if str(c.path) == data), None)

    def _show_note(self, *_args) -> None:
        choice = self.current_choice()
        if self.checkpoint.currentText() == NO_MODEL:
            self.note.setText(NO_MODEL_NOTE)
        else:
            self.note.setText("" if choice is None else choice.note)

    # -- runs: rename, delete ------------------------------------------------------------
    def runs(self) -> list:
        """The project's runs (choices with a record), newest first."""
        return [c for c in self._choices if c.record is not None]

    def _fill_runs_menu(self) -> None:
        self.runs_menu.clear()
        runs = self.runs()
        if not runs:
            self.runs_menu.addAction("(no runs yet: fine-tune to make one)").setEnabled(False)
            return
        rename = self.runs_menu.addMenu("&Rename")
        delete = self.runs_menu.addMenu("&Delete")
        for choice in runs:
            self._add_run_actions(rename, delete, choice)
        # Resuming needs no detour through the list: choosing a stopped run would make it
        # the active model, which is not what "continue training it" means (issue 19).
        stopped = [c for c in runs if c.resumable]
        if stopped:
            resume = self.runs_menu.addMenu("Re&sume")
            resume.setToolTipsVisible(True)
            for choice in stopped:
                self._add_resume_action(resume, choice)

    def _add_resume_action(self, menu: QtWidgets.QMenu, choice) -> QtGui.QAction:
        act = menu.addAction(run_name(choice))
        act.setToolTip("continue the fine-tune from its last finished epoch")
        act.triggered.connect(lambda _c=False, c=choice: self.resume.emit(c.record))
        return act

    def _add_run_actions(self, rename: QtWidgets.QMenu, delete: QtWidgets.QMenu,
                         choice) -> None:
        name = run_name(choice)
        act = rename.addAction(name + "…")
        act.triggered.connect(lambda _c=False, c=choice: self.ask_rename(c))
        why = " (active model)" if choice.active else \
            " (training)" if choice.status == "running" else ""
        act = delete.addAction(name + (why or "…"))
        act.setEnabled(not why)
        act.setToolTip("make another model active first" if choice.active else "")
        act.triggered.connect(lambda _c=False, c=choice: self.delete_run.emit(c.record))

    def _popup_menu(self, pos: QtCore.QPoint) -> None:
        """Right click on a run in the open list: rename or delete that one."""
        view = self.checkpoint.view()
        index = view.indexAt(pos)
        data = self.checkpoint.itemData(index.row()) if index.isValid() else None
        choice = next((c for c in self.runs() if str(c.path) == data), None)
        if choice is None:
            return
        where = view.mapToGlobal(pos)
        menu = QtWidgets.QMenu(self)
        self._add_run_actions(menu, menu, choice)
        acts = menu.actions()
        acts[0].setText("Rename " + acts[0].text())
        acts[1].setText("Delete " + acts[1].text())
        if choice.resumable:
            act = self._add_resume_action(menu, choice)
            act.setText("Resume " + act.text())
        self.checkpoint.hidePopup()
        menu.exec(where)

    def ask_rename(self, choice) -> None:
        name, ok = QtWidgets.QInputDialog.getText(
            self, "Rename run", "New name of the run:", text=run_name(choice))
        if ok and name.strip():
            self.rename_run.emit(choice.record, name.strip())

    def _checkpoint_activated(self, index: int) -> None:
        if self.checkpoint.itemData(index) == CHOOSE_FILE:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Choose checkpoint", "", "Checkpoints (*.safetensors)"
            )
            if not path:
                i = self.checkpoint.findData(self._last_path)
                self.checkpoint.setCurrentIndex(max(i, 0))
                return
            self.checkpoint_changed.emit(path)
            return
        self._last_path = self.checkpoint.itemData(index) or ""
        self._update_buttons()
        self.checkpoint_changed.emit(self._last_path)

    def set_scale(self, text: str, learnt: str | None) -> None:
        """Show the project's inference scale and, in the tooltip, what the model learnt."""
        self.scale.blockSignals(True)
        self.scale.setEditText(text)
        self.scale.blockSignals(False)
        self._scale_text = text
        tip = ("auto: resize each image so objects have the size the model learnt, predict, "
               "and bring the result back to full size; native: never resize; or a factor "
               "such as 0.5.")
        if learnt:
            tip += f"\nThe active model learnt {learnt}."
        self.scale.setToolTip(tip)

    def _scale_edited(self, *_args) -> None:
        from segstudio.engine.scale import ScaleError, parse_scale

        text = self.scale.currentText().strip()
        try:
            parse_scale(text, "scale")
        except ScaleError as exc:
            self.scale.setEditText(self._scale_text)
            self.scale.setToolTip(str(exc))
            QtWidgets.QToolTip.showText(self.scale.mapToGlobal(QtCore.QPoint(0, 0)), str(exc))
            return
        if text != self._scale_text:
            self._scale_text = text
            self.scale_changed.emit(text)

    def current_scale(self) -> str:
        return self._scale_text

    def set_running(self, running: bool) -> None:
        self._running = running
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.eta.setVisible(running)    # an empty line otherwise, taken from Classes
        if not running:
            self.eta.setText("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        ok = not getattr(self, "_running", False) and self.current_checkpoint() is not None
        for b in (self.segment_image_button, self.segment_all_button, self.resegment_button):
            b.setEnabled(ok)

    def show_progress(self, done: int, total: int, eta_s: float,
                      tiles: tuple[int, int] | None = None) -> None:
        """Images done of total; inside a big image, its tiles too."""
        if tiles is not None and tiles[1] > 1:
            self.progress.setRange(0, max(total, 1) * tiles[1])
            self.progress.setValue(done * tiles[1] + tiles[0])
            self.progress.setFormat(f"{done} / {total} · tile {tiles[0]}/{tiles[1]}")
            self.eta.setText(format_eta(eta_s) if eta_s >= 0 else "")
            return
        self._show_images(done, total, eta_s)

    def _show_images(self, done: int, total: int, eta_s: float) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")
        self.eta.setText(format_eta(eta_s) if done < total else "finishing…")


def _button(text: str) -> QtWidgets.QToolButton:
    """As wide as its text (push buttons take at least 75 px), filling its grid cell."""
    b = QtWidgets.QToolButton()
    b.setText(text)
    b.setMinimumHeight(QtWidgets.QPushButton(text).sizeHint().height())   # as tall as one
    b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
    return b
