"""Saying where a fine-tune starts and which model a project uses: an explicit start (from
scratch), no model at all, the review queue's order, and a fresh head for reordered classes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from segstudio.core.classes import ClassSet, builtin_classes
from segstudio.core.project import ImageState, Project
from segstudio.core.sample import make_sample_project
from segstudio.engine.checkpoint import default_checkpoint
from segstudio.engine.workflow import (
    FinetuneSettings,
    StartChoice,
    active_checkpoint,
    queue_rank,
    review_queue,
    run_finetune,
    set_active,
    starting_point,
)
from segstudio.engine.workflow.finetune import decide

TINY = FinetuneSettings(steps=4, height=48, width=64, batch=4, lr=5e-4, val_fraction=0.3)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return make_sample_project(tmp_path_factory.mktemp("start") / "p", count=6, reviewed=5,
                               size=(48, 64), seed=4)


@pytest.fixture
def project(template, tmp_path) -> Project:
    return Project.open(shutil.copytree(template, tmp_path / "p"))


def _camvid(project: Project) -> Project:
    """The project with CamVid's class list (its labels use indices 0-3, which fit)."""
    project.classes = builtin_classes("camvid")
    project.save()
    return Project.open(project.root)


needs_shipped = pytest.mark.skipif(not default_checkpoint().is_file(),
                                   reason="the shipped ENet is absent")


@needs_shipped
def test_no_model_chosen_is_not_the_shipped_default(project) -> None:
    p = _camvid(project)
    assert active_checkpoint(p) == default_checkpoint()      # CamVid classes: it fits
    set_active(p, None)
    assert active_checkpoint(p) is None
    assert active_checkpoint(Project.open(p.root)) is None    # stored, not forgotten
    set_active(p, default_checkpoint())
    assert active_checkpoint(Project.open(p.root)) == default_checkpoint()


@needs_shipped
def test_explicit_scratch_start_overrides_the_shipped_enet(project) -> None:
    p = _camvid(project)
    set_active(p, None)
    assert starting_point(p, "enet").init == default_checkpoint()   # the rule would take it
    logs: list[str] = []
    outcome = run_finetune(p, "enet", TINY, start=StartChoice.scratch(), device="cpu",
                           log=logs.append)
    rec = outcome.record
    assert rec["parent"] is None and rec["backbone"] is None
    assert "random initialisation" in logs[0]
    assert outcome.result.start_metrics is None          # nothing to measure before training
    assert rec["baseline_miou"] is None and outcome.activated   # no model was active
    assert active_checkpoint(Project.open(p.root)) == p.checkpoint_path(rec)
    # The next run follows the rule again: it starts from the run just made active.
    assert starting_point(Project.open(p.root), "enet").init == p.checkpoint_path(rec)


def test_a_run_that_could_not_be_measured() -> None:
    v = decide("finished", None, None, None)
    assert v.activated and "no model was active" in v.why
    v = decide("finished", None, None, Path("active.safetensors"))
    assert not v.activated and "no validation images" in v.why
    assert not decide("cancelled", None, None, None).activated


def test_review_queue_worst_first(project) -> None:
    entries = project.entries
    conf = {0: 0.9, 2: 0.4, 3: 0.4, 5: 0.7}       # 1 and 4: no prediction
    for i, c in conf.items():
        project.save_label(entries[i], np.zeros((48, 64), np.uint8),
                           state=ImageState.PREDICTED, overwrite_reviewed=True, confidence=c)
    assert review_queue(project) == entries
    order = [entries.index(e) for e in review_queue(project, worst_first=True)]
    assert order == [2, 3, 5, 0, 1, 4]        # ties and unpredicted images keep the order
    assert queue_rank(project, entries[1]) > 1
    subset = [entries[5], entries[2], entries[1]]
    assert review_queue(project, subset, worst_first=True) == [entries[2], entries[5],
                                                               entries[1]]


def test_reordered_classes_get_a_fresh_head(template, tmp_path) -> None:
    """Same number of classes, other order: the head's shape fits but its meaning does not."""
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.engine.train import TrainConfig, train
    from segstudio.engine.train_setup import class_tensors
    from segstudio.models import build_model

    own = Project.open(template).classes
    other = ClassSet(list(reversed(own.names)), list(reversed(own.colors)), own.ignore_index)
    save_checkpoint(build_model("enet", 4), tmp_path / "rev",
                    CheckpointMeta("enet", other, (0.5,) * 3, (0.25,) * 3))
    assert class_tensors("enet", 4) == {"fullconv.weight", "fullconv.bias"}
    logs: list[str] = []
    config = TrainConfig(arch="enet", data=template, out_dir=tmp_path / "out", epochs=1,
                         size=(32, 48), batch=3, device="cpu", max_steps=1,
                         init=tmp_path / "rev.safetensors")
    train(config, progress=lambda e: logs.append(e.message) if e.kind == "log" else None)
    line = next(m for m in logs if m.startswith("initialised from"))
    assert "2 re-initialised (fullconv.bias, fullconv.weight)" in line
    assert "classes differ" in line


def test_review_queue_puts_reviewed_images_last(project) -> None:
    """The least confident images are reviewed first; re-sorting must not bring them back to
    the top of the queue (their old confidence stays on record)."""
    entries = project.entries
    for i, c in enumerate((0.9, 0.1, 0.5, 0.2, 0.8, 0.3)):
        project.save_label(entries[i], np.zeros((48, 64), np.uint8),
                           state=ImageState.PREDICTED, overwrite_reviewed=True, confidence=c)
    project.set_state(entries[1], ImageState.REVIEWED)
    order = [entries.index(e) for e in review_queue(project, worst_first=True)]
    assert order == [3, 5, 2, 4, 0, 1]
    # The app's view of states (an unsaved mark) decides when given.
    pending = {entries[3].key: ImageState.REVIEWED}
    order = [entries.index(e) for e in review_queue(
        project, worst_first=True, state_of=lambda e: pending.get(e.key, project.state(e)))]
    assert order == [5, 2, 4, 0, 1, 3]
