"""Model runs started from the window: the Model and Fine-tune panels wired to the two run
controllers (segment_run, finetune_run) and to engine.workflow's view of the project's models.

Built from explicit parts (the two docks and a notifier); the window only tells it which
session is open and how to find the image on screen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.core.errors import SegstudioError
from segstudio.core.project import ImageEntry
from segstudio.ui.finetune_run import FinetuneRun
from segstudio.ui.notifier import Notifier
from segstudio.ui.segment_run import SegmentRun

log = logging.getLogger(__name__)


class Runs(QtCore.QObject):
    """`segment_finished(summary)` and `train_finished(checkpoint or '')` for tests/scripts."""

    segment_finished = QtCore.Signal(str)
    train_finished = QtCore.Signal(str)

    def __init__(self, model_dock, finetune_dock, notifier: Notifier, *,
                 current_entry: Callable[[], ImageEntry | None],
                 dialog_parent: QtWidgets.QWidget | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.model_dock = model_dock
        self.finetune_dock = finetune_dock
        self.notify = notifier
        self.session = None
        self.current_entry = current_entry      # the image on screen (Segment image)
        self.segment = SegmentRun(model_dock, notifier, self)
        self.finetune = FinetuneRun(finetune_dock, notifier,
                                    offer_resegment=self.segment.offer_resegment,
                                    dialog_parent=dialog_parent, parent=self)
        self.segment.finished.connect(self.segment_finished)
        self.finetune.finished.connect(self.train_finished)
        self.finetune.models_changed.connect(self.refresh_models)
        model_dock.segment_image.connect(self.segment_current)
        model_dock.segment_all.connect(self.segment.segment_unlabeled)
        model_dock.resegment.connect(
            lambda: self.segment.offer_resegment(
                "Re-segment", f"Re-segment with {self._active_name()}?"))
        model_dock.checkpoint_changed.connect(self.choose_checkpoint)
        model_dock.resume.connect(self.resume)
        model_dock.scale_changed.connect(self._scale_changed)
        model_dock.rename_run.connect(self.rename_run)
        model_dock.delete_run.connect(self.delete_run)
        model_dock.arch.currentTextChanged.connect(self._arch_changed)
        finetune_dock.start.connect(self.start_fine_tune)
        finetune_dock.settings_changed.connect(self._settings_changed)

    # -- the open project ----------------------------------------------------------------
    def set_session(self, session) -> None:
        self.session = session
        self.segment.set_session(session)
        self.finetune.set_session(session)

    def project_opened(self) -> None:
        from segstudio.engine.device import device_name, select_device
        from segstudio.engine.workflow import architectures, finetune_settings
        from segstudio.engine.workflow.project_choices import project_arch

        project = self.session.project
        arch = project_arch(project)
        self.model_dock.set_architectures(architectures(), arch)
        try:
            self.model_dock.device.setText(device_name(select_device()))
        except SegstudioError as exc:
            self.model_dock.device.setText("CPU")
            self.notify.error(str(exc))
        # The project's own fine-tune settings, or defaults from its own images: never the
        # previous project's (they belong to the project, not to the window).
        self.finetune_dock.reset()
        self.finetune_dock.apply_settings(finetune_settings(project, arch))
        self.refresh_models()

    @property
    def arch(self) -> str:
        """The architecture shown (the project's, see `_arch_changed`)."""
        from segstudio.engine.workflow.project_choices import DEFAULT_ARCH

        return self.model_dock.arch.currentText() or DEFAULT_ARCH

    def refresh_models(self) -> None:
        from segstudio.engine.workflow import model_choices

        if self.session is None:
            return
        self.model_dock.set_choices(model_choices(self.session.project))
        self._show_scale()
        self._update_notes()

    def _scale_changed(self, text: str) -> None:
        from segstudio.engine.scale import ScaleError
        from segstudio.engine.workflow.project_choices import set_predict_scale

        if self.session is None:
            return
        try:
            set_predict_scale(self.session.project, text)
        except ScaleError as exc:
            self.notify.error(str(exc))
            self._show_scale()   # back to the project's
            return
        self.session.persist()
        self.notify.status(f"segmenting at scale {text} from now on")

    def _show_scale(self) -> None:
        """The project's inference scale, and what the active model learnt (its header)."""
        from segstudio.engine.workflow import active_checkpoint
        from segstudio.engine.workflow.project_choices import learnt_scale, predict_scale_text

        project = self.session.project
        self.model_dock.set_scale(predict_scale_text(project),
                                  learnt_scale(active_checkpoint(project)))

    def _active_name(self) -> str:
        from segstudio.engine.workflow import active_checkpoint
        from segstudio.engine.workflow.run_registry import display_name

        path = None if self.session is None else active_checkpoint(self.session.project)
        if path is None:
            return "the active model"
        return display_name(self.session.project, path)

    def _update_notes(self) -> None:
        from segstudio.engine.workflow import default_finetune, starting_point, unusual_settings

        if self.session is None or self.finetune.busy:
            return
        project = self.session.project
        arch = self.arch
        try:
            start = starting_point(project, arch)
            self.finetune_dock.set_start_note(f"Starts {start.note}.")
        except (SegstudioError, OSError) as exc:
            self.finetune_dock.set_start_note(str(exc))
        self.finetune_dock.set_warnings(unusual_settings(self.finetune_dock.settings(),
                                                         default_finetune(project)))

    def _settings_changed(self) -> None:
        self._update_notes()

    def _arch_changed(self, arch: str) -> None:
        from segstudio.engine.workflow.project_choices import set_project_arch

        if self.session is not None and arch:
            try:
                set_project_arch(self.session.project, arch)
            except SegstudioError as exc:
                self.notify.error(str(exc))
                return
            self._update_notes()

    def choose_checkpoint(self, path: str) -> None:
        """The user picked a model: it becomes the project's active model, if it fits."""
        from segstudio.engine.checkpoint_header import CheckpointHeaderError, read_classes
        from segstudio.engine.workflow import adopt_or_check_classes, set_active

        if self.session is None or not path:
            self.refresh_models()
            return
        try:
            _, classes = read_classes(path)
            if adopt_or_check_classes(self.session.project, classes, Path(path),
                                      adopt=self.session.adopt_classes):
                self.segment.classes_adopted.emit()
            set_active(self.session.project, path)
        except (CheckpointHeaderError, SegstudioError) as exc:
            self.notify.error(str(exc), dialog=True)
        self.refresh_models()

    # -- runs: rename, delete ------------------------------------------------------------
    def rename_run(self, record: dict, name: str) -> bool:
        from segstudio.engine.workflow import rename_run

        if self.session is None:
            return False
        project = self.session.project
        try:
            rename_run(project, project.checkpoint_path(record), name)
        except SegstudioError as exc:
            self.notify.error(str(exc), dialog=True)
            return False
        self.refresh_models()
        self.notify.status(f"renamed {record.get('name') or 'the run'} to {name}")
        return True

    def delete_run(self, record: dict) -> bool:
        """Asks first (it removes files); the workflow refuses the active model."""
        from segstudio.engine.workflow import delete_run
        from segstudio.engine.workflow.run_registry import run_folder

        if self.session is None:
            return False
        project = self.session.project
        path = project.checkpoint_path(record)
        name = record.get("name") or path.name
        folder = run_folder(project, path)
        what = (f"Its folder {folder} (its best and last weights and its training state) is "
                "deleted from disk; this cannot be undone." if folder is not None else
                f"Only the record goes; {path} is outside the project and stays.")
        if not self.notify.ask("Delete run", f"Delete the run {name}? {what}",
                               default_yes=False):
            return False
        try:
            delete_run(project, path)
        except SegstudioError as exc:
            self.notify.error(str(exc), dialog=True)
            self.refresh_models()
            return False
        self.refresh_models()
        self.notify.status(f"deleted the run {name}")
        return True

    # -- actions -------------------------------------------------------------------------
    def segment_current(self) -> bool:
        entry = self.current_entry()
        if self.session is None or entry is None:
            return False
        return self.segment.segment_entry(entry)

    def start_fine_tune(self) -> bool:
        if self.session is None:
            return False
        return self.finetune.start(self.arch)

    def resume(self, record: dict) -> bool:
        from segstudio.engine.workflow import resumable

        if self.session is None:
            return False
        if not resumable(self.session.project, record):
            self.notify.error(f"{record.get('name', 'this run')} cannot be resumed: its "
                              "training state is missing", dialog=True)
            return False
        return self.finetune.start(record.get("arch", self.arch), resume=record)

    @property
    def busy(self) -> bool:
        return self.segment.busy or self.finetune.busy

    def cancel_all(self, *, wait: bool = False) -> None:
        """Cancel both runs; with `wait`, also wind them up now (before a folder switch or
        close), so their late queued signals find nothing to do."""
        self.segment.cancel(wait=wait)
        self.finetune.cancel(wait=wait)
