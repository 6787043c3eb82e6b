"""Fine-tuning a project: its settings, the starting weights, the run and its verdict.

Fine-tune settings belong to the project (segstudio.json `settings.finetune`); a project with
none gets defaults derived from its own images and the architecture, never another project's.
Length is counted in optimiser steps, with a floor that suits tiny sets (ten reviewed images
are two steps an epoch; a fixed number of epochs would give a handful of steps).

How a run treats its starting weights follows from where it starts (engine.workflow.recipe).
The verdict (engine.workflow.verdict): a run becomes the active model only if it finished and
is at least as good as the active model on the same held-out images; otherwise it is kept and
listed with its figures and the reason, and the user can still choose it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segstudio.core.errors import ProjectError
from segstudio.core.project import Project
from segstudio.engine.workflow.project_choices import set_project_arch
from segstudio.engine.workflow.run_registry import (
    active_checkpoint,
    forget_run,
    resumable,
    run_records,
    set_active,
    start_run,
    update_run,
)
from segstudio.engine.workflow.start import (
    StartChoice,
    median_image_size,
    run_recipe,
    start_kind,
    starting_point,
)
from segstudio.engine.workflow.verdict import Verdict, decide

# Defaults measured with `segstudio bench adapt`, `bench finetune` and `bench loop` (figures
# in docs/learning.md). Batch 4 at 1e-3 (the rate of fresh layers; pretrained ones take the
# recipe's share of it): batch 4 halves a step's cost, with no divergence on 10-20 images.
# 400 steps: adapting the shipped ENet to 10 frames of a new street gained +3.4 held-out mIoU
# points in 200 steps and +6.3 in 400 (3-5 minutes of a 2-core CPU).
DEFAULT_STEPS = 400
MAX_DEFAULT_STEPS = 3000
DEFAULT_LR = 1e-3
DEFAULT_BATCH = 4
# Crops of at most this many pixels: larger images train on crops (the whole image still
# validates), smaller ones train whole.
CROP_PIXELS = 240 * 320


@dataclass
class FinetuneSettings:
    steps: int = DEFAULT_STEPS
    height: int = 240
    width: int = 320
    batch: int = DEFAULT_BATCH
    lr: float = DEFAULT_LR
    # "auto": what the starting model was trained with (a fitting head keeps its calibration),
    # else none (engine.workflow.recipe).
    weighting: str = "auto"
    train_edited: bool = True     # edited images train on their touched pixels
    val_fraction: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], base: FinetuneSettings | None = None):
        """Known fields of `d` over `base` (values were validated when the project opened;
        an `epochs` of an older project is kept out: length is in steps now)."""
        base = base or cls()
        names = {f.name for f in fields(cls)}
        return replace(base, **{k: v for k, v in d.items() if k in names})


def _round16(v: float) -> int:
    """Down to a multiple of 16 (never above the pixel budget), at least 32."""
    return max(32, int(v) // 16 * 16)


def default_finetune(project: Project) -> FinetuneSettings:
    """Defaults from the project's own images: crops of the images' aspect with at most
    CROP_PIXELS (whole images when smaller), and steps that cover the set a few times. The
    same for every architecture; how a run treats its starting weights follows from the
    start (engine.workflow.recipe)."""
    h, w = median_image_size(project)
    scale = min(1.0, math.sqrt(CROP_PIXELS / (h * w)))
    height, width = _round16(h * scale), _round16(w * scale)
    labelled = len(project.reviewed_entries())
    batch = DEFAULT_BATCH
    steps = min(MAX_DEFAULT_STEPS, max(DEFAULT_STEPS, 5 * math.ceil(labelled / batch)))
    return FinetuneSettings(steps=steps, height=height, width=width, batch=batch)


# Version 2: saved since the recipe. Version 1 (no "version" field) was written by earlier
# segstudio on every run with the whole panel, its defaults included: 200 steps and no class
# weighting, the values that wrecked a trained model (docs/learning.md). A value equal to
# that version's default is read as "the default", so such a project follows today's; a
# value the person changed is kept.
SETTINGS_VERSION = 2
V1_DEFAULTS = {"steps": 200, "weighting": "none"}


def saved_finetune(project: Project) -> dict[str, Any] | None:
    """The project's saved fine-tune settings as today's fields (None when there are none),
    with version 1's defaults taken as defaults."""
    saved = project.settings.get("finetune")
    if not isinstance(saved, dict):
        return None
    version = saved.get("version", 1)
    if not isinstance(version, int) or version < SETTINGS_VERSION:
        saved = {k: v for k, v in saved.items()
                 if k not in V1_DEFAULTS or V1_DEFAULTS[k] != v}
    return saved


def finetune_settings(project: Project, arch: str) -> FinetuneSettings:
    """The project's saved settings over its defaults."""
    saved = saved_finetune(project)
    base = default_finetune(project)
    return base if saved is None else FinetuneSettings.from_dict(saved, base)


def save_finetune_settings(project: Project, settings: FinetuneSettings) -> None:
    project.settings["finetune"] = settings.to_dict() | {"version": SETTINGS_VERSION}


def unusual_settings(settings: FinetuneSettings, defaults: FinetuneSettings) -> list[str]:
    """Values far from the defaults, in words, to show before a run."""
    out = []

    def ratio(name: str, value: float, default: float, what: str, fmt: str) -> None:
        if default > 0 and value > 0:
            r = value / default
            if r >= 5 or r <= 0.2:
                times = f"{r:.0f}x" if r >= 1 else f"1/{1 / r:.0f}"
                out.append(f"{what} {value:{fmt}} is {times} the default {default:{fmt}}")

    ratio("lr", settings.lr, defaults.lr, "learning rate", "g")
    ratio("steps", settings.steps, defaults.steps, "length", "d")
    ratio("area", settings.height * settings.width, defaults.height * defaults.width,
          "crop area", "d")
    if settings.batch < 2:
        out.append("batch 1 makes batch norm statistics unreliable")
    return out


def new_run_dir(project: Project, arch: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = project.checkpoints_dir / f"{arch}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


@dataclass
class FinetuneOutcome:
    record: dict                  # the run's record in segstudio.json
    result: Any                   # engine.train.TrainResult
    verdict: Verdict

    @property
    def activated(self) -> bool:
        return self.verdict.activated

    @property
    def reason(self) -> str:
        """Why it is (not) the active model now, in one line."""
        return self.verdict.text


def _run_name(project: Project, arch: str) -> str:
    n = 1 + sum(1 for r in project.checkpoints if r.get("arch") == arch and "status" in r)
    return f"{arch} #{n}"


def run_finetune(project: Project, arch: str, settings: FinetuneSettings | None = None, *,
                 progress: Callable | None = None, cancel: Callable[[], bool] | None = None,
                 resume: dict | None = None, device: str | None = None,
                 log: Callable[[str], None] | None = None,
                 start: StartChoice | None = None) -> FinetuneOutcome:
    """Fine-tune `arch` on the project's reviewed (and edited) images, record the run, and
    make it active only when it finished and is at least as good as the active model.

    `resume`: a stopped run's record to continue (its folder, settings and parent).
    `start`: the starting weights instead of the rule of `starting_point` (e.g.
    `StartChoice.scratch()`: the shipped ENet knows CamVid, which a benchmark must not)."""
    from segstudio.engine.train import TrainConfig, TrainEvent, train

    emit = progress or (lambda _e: None)
    say = log or (lambda m: emit(TrainEvent("log", message=m)))
    # checkpoints/ (or the run's folder) a link takes out of the project: refused before
    # anything is written, as labels/ is (the run would write its weights there)
    link = project.checkpoints_problem(
        None if resume is None else project.checkpoint_path(resume).parent)
    if link is not None:
        raise ProjectError(link)
    active = active_checkpoint(project)
    if resume is not None:
        out_dir = project.checkpoint_path(resume).parent
        settings = FinetuneSettings.from_dict(resume.get("settings") or {})
        init = resume.get("parent")
        start = StartChoice(project.checkpoint_path(init) if init else None,
                            resume.get("backbone"), "resuming " + (resume.get("name") or ""))
        arch = resume.get("arch", arch)
        name = resume.get("name") or _run_name(project, arch)
    else:
        settings = settings or finetune_settings(project, arch)
        _check_settings(settings)
        check_trainable(project, settings)
        # The run's architecture and settings become the project's (the next click's
        # defaults); one place for the app and the CLI.
        set_project_arch(project, arch)
        save_finetune_settings(project, settings)
        start = start or starting_point(project, arch)
        out_dir = new_run_dir(project, arch)
        name = _run_name(project, arch)
    recipe = run_recipe(project, start, settings)
    say(f"{name}: starting {start.note}; {recipe.describe()}")
    backbone = None
    if start.backbone is not None:
        from segstudio.engine.weights import verify

        backbone = verify(start.backbone)   # hashed once per process: a wrong file is refused
    config = TrainConfig(
        arch=arch, data=project.root, out_dir=out_dir, steps=settings.steps,
        size=(settings.height, settings.width), batch=settings.batch, lr=settings.lr,
        train_edited=settings.train_edited,
        val_fraction=settings.val_fraction, init=start.init, backbone=backbone,
        compare_to=active, resume=resume is not None, device=device,
        **recipe.train_fields())
    record = start_run(
        project, out_dir / "best.safetensors", arch, name=name, status="running", pid=os.getpid(),
        parent=None if start.init is None else project.relative_path(start.init),
        backbone=start.backbone, settings=settings.to_dict(),
        start_kind=str(recipe.kind), recipe=recipe.describe(),
        compared_with=None if active is None else project.relative_path(active),
        started=datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        result = train(config, progress=progress, cancel=cancel)
    except BaseException as exc:
        update_run(project, record, {"status": "failed", "note": _one_line(exc)})
        raise
    return _verdict(project, record, result, active)


def _check_settings(settings: FinetuneSettings) -> None:
    """The settings' ranges (core.settings_schema), before anything is written."""
    from segstudio.core.settings_schema import check_settings

    bad = check_settings(settings.to_dict())
    if bad:
        raise ProjectError(f"fine-tune setting {bad[0][0]}: {bad[0][1]}")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _verdict(project: Project, record: dict, result, active: Path | None) -> FinetuneOutcome:
    metrics = result.metrics or {}
    miou = metrics.get("miou")
    start = (result.start_metrics or {}).get("miou")
    baseline = (result.baseline_metrics or {}).get("miou")
    fields_ = {"status": result.status, "miou": miou, "start_miou": start,
               "baseline_miou": baseline, "epochs_done": result.epochs_done,
               "best_epoch": result.best_epoch, "seconds": round(result.seconds, 1),
               "metrics": metrics, "note": result.message}
    if result.best is None:
        # Stopped before the first epoch ended: no weights, nothing to list or resume.
        forget_run(project, record)
        _remove_empty(project.checkpoint_path(record).parent)
        return FinetuneOutcome(record | fields_, result, Verdict(
            False, "stopped before the first epoch ended: nothing was kept"))
    verdict = decide(result.status, miou, baseline, active, result.certainty)
    fields_["verdict"] = verdict.to_dict()
    if not verdict.activated:
        fields_["note"] = "; ".join(x for x in (result.message, verdict.text) if x)
    rec = update_run(project, record, fields_)
    if verdict.activated:
        set_active(project, project.checkpoint_path(rec))
    return FinetuneOutcome(rec, result, verdict)


def _remove_empty(folder: Path) -> None:
    import shutil

    try:
        if folder.is_dir() and not any(p.suffix == ".safetensors" for p in folder.iterdir()):
            shutil.rmtree(folder)
    except OSError:
        pass


def check_trainable(project: Project, settings: FinetuneSettings) -> None:
    """ProjectError when there is nothing to train on (said before any work)."""
    from segstudio.core.entries import ImageState

    counts = project.counts()
    if counts[ImageState.REVIEWED] == 0 and not (
            settings.train_edited and counts[ImageState.EDITED]):
        raise ProjectError(f"{project.root}: no reviewed images yet: correct some masks and "
                           "mark them reviewed (Ctrl+R) first")


__all__ = ["FinetuneOutcome", "FinetuneSettings", "StartChoice", "Verdict", "check_trainable",
           "decide", "default_finetune", "finetune_settings", "resumable", "run_finetune",
           "run_recipe", "run_records", "save_finetune_settings", "start_kind", "starting_point",
           "unusual_settings"]
