"""Fine-tuning a project: its settings, the starting weights, the run and its verdict.

Fine-tune settings belong to the project (segstudio.json `settings.finetune`); a project with
none gets defaults derived from its own images and the architecture, never another project's.
Length is counted in optimiser steps, with a floor that suits tiny sets (ten reviewed images
are two steps an epoch; a fixed number of epochs would give a handful of steps).

The verdict: a run becomes the active model only if it finished and its best validation mIoU
beats or equals the active model's, both measured on the same validation images by the same
code (the active model is measured before training: epoch 0 of the curve), or, when nothing
could be measured (only edited images, which never validate), when no model was active.
Otherwise the run is kept and listed with its figures and the reason, and the user can still
choose it.
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
from segstudio.engine.workflow.models import (
    _shipped,
    active_checkpoint,
    display_name,
    record_status,
    run_records,
    set_active,
)

# Defaults measured with `segstudio bench finetune` and `segstudio bench loop` (figures in
# docs/learning.md): from the shipped ENet with a fresh head, 10 images reach the val mIoU of
# the former defaults (300 steps of 8 at 5e-4: 12 minutes) in 200 steps of 4 at 1e-3, 40% of
# the time: a few minutes of a 2-core CPU. Batch 4 halves a step's cost; the higher rate
# makes up for the fewer samples seen, with no divergence on 10-20 images.
DEFAULT_STEPS = 200
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
    weighting: str = "none"
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


def default_finetune(project: Project, arch: str) -> FinetuneSettings:
    """Defaults from the project's own images: crops of the images' aspect with at most
    CROP_PIXELS (whole images when smaller), and steps that cover the set a few times."""
    from segstudio.core.errors import SegstudioError
    from segstudio.core.imageio import image_size

    sizes = []
    for e in project.entries[:: max(1, len(project.entries) // 50)][:50]:
        try:
            sizes.append(image_size(e.path))
        except (SegstudioError, OSError):
            continue
    h, w = sorted(sizes)[len(sizes) // 2] if sizes else (360, 480)
    scale = min(1.0, math.sqrt(CROP_PIXELS / (h * w)))
    height, width = _round16(h * scale), _round16(w * scale)
    labelled = len(project.reviewed_entries())
    batch = DEFAULT_BATCH
    steps = min(MAX_DEFAULT_STEPS, max(DEFAULT_STEPS, 5 * math.ceil(labelled / batch)))
    return FinetuneSettings(steps=steps, height=height, width=width, batch=batch)


def finetune_settings(project: Project, arch: str) -> FinetuneSettings:
    """The project's saved settings over its defaults."""
    saved = project.settings.get("finetune")
    base = default_finetune(project, arch)
    return FinetuneSettings.from_dict(saved, base) if isinstance(saved, dict) else base


def save_finetune_settings(project: Project, settings: FinetuneSettings) -> None:
    project.settings["finetune"] = settings.to_dict()


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


@dataclass
class StartChoice:
    init: Path | None             # checkpoint to start from
    backbone: str | None          # name of the ImageNet encoder weights (engine.weights)
    note: str                     # for the panel / the CLI, in words
    missing_backbone: str | None = None   # name of ImageNet weights that would help, absent

    @classmethod
    def scratch(cls) -> StartChoice:
        """Random initialisation on purpose: nothing known about any data (what `segstudio
        bench loop` measures the loop from; a network that must not have seen CamVid)."""
        return cls(None, None, "from random initialisation, as asked")


def starting_point(project: Project, arch: str) -> StartChoice:
    """The active model when it is this architecture; for ENet else the shipped CamVid model
    (its layers that fit; a fresh head for other classes); for encoder networks their
    ImageNet encoder when present; otherwise random initialisation, said plainly."""
    from segstudio.engine.checkpoint import CheckpointError, classes_mismatch, read_checkpoint
    from segstudio.engine.weights import backbone_entry, format_size

    active = active_checkpoint(project)
    if active is not None:
        try:
            _, meta = read_checkpoint(active)
        except (CheckpointError, OSError):
            meta = None
        if meta is not None and meta.arch == arch:
            fresh = classes_mismatch(project.classes, meta.classes)
            note = f"from the active model, {display_name(project, active)}"
            return StartChoice(active, None, note + (" (new classes: head re-initialised)"
                                                     if fresh else ""))
    shipped = _shipped()
    if arch == "enet" and shipped is not None:
        fresh = classes_mismatch(project.classes, _shipped_classes())
        note = "from the shipped ENet (CamVid)"
        return StartChoice(shipped, None, note + (": the layers that fit, a fresh head for "
                                                  "your classes" if fresh else ""))
    entry = backbone_entry(arch)
    if entry is not None:
        if entry.present:
            return StartChoice(None, entry.name, f"from the ImageNet {entry.name} encoder")
        return StartChoice(None, None, f"from random initialisation: the ImageNet {entry.name} "
                           f"encoder ({format_size(entry.size)}) is not downloaded, so the "
                           "network starts knowing nothing and needs many more labelled images",
                           missing_backbone=entry.name)
    return StartChoice(None, None, "from random initialisation (this network has no "
                       "pretrained weights)")


def _shipped_classes():
    from segstudio.core.classes import builtin_classes

    return builtin_classes("camvid")


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
    activated: bool
    reason: str                   # why it is (not) the active model now


def _run_name(project: Project, arch: str) -> str:
    n = 1 + sum(1 for r in project.checkpoints if r.get("arch") == arch and "status" in r)
    return f"{arch} #{n}"


def resumable(project: Project, record: dict) -> bool:
    """A stopped run that can continue: its training state was saved at an epoch end."""
    if record_status(record) not in ("cancelled", "interrupted"):
        return False
    return (project.checkpoint_path(record).parent / "train_state.safetensors").is_file()


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
        save_finetune_settings(project, settings)
        start = start or starting_point(project, arch)
        out_dir = new_run_dir(project, arch)
        name = _run_name(project, arch)
    say(f"{name}: starting {start.note}")
    backbone = None
    if start.backbone is not None:
        from segstudio.engine.weights import verify

        backbone = verify(start.backbone)   # hashed once per process: a wrong file is refused
    config = TrainConfig(
        arch=arch, data=project.root, out_dir=out_dir, steps=settings.steps,
        size=(settings.height, settings.width), batch=settings.batch, lr=settings.lr,
        weighting=settings.weighting, train_edited=settings.train_edited,
        val_fraction=settings.val_fraction, init=start.init, backbone=backbone,
        compare_to=active, resume=resume is not None, device=device)
    record = project.register_checkpoint(
        out_dir / "best.safetensors", arch, {}, name=name, status="running", pid=os.getpid(),
        parent=None if start.init is None else project.relative_path(start.init),
        backbone=start.backbone, settings=settings.to_dict(),
        compared_with=None if active is None else project.relative_path(active),
        started=datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        result = train(config, progress=progress, cancel=cancel)
    except BaseException as exc:
        _finish(project, record, {"status": "failed", "note": _one_line(exc)})
        raise
    return _verdict(project, record, result, active)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _finish(project: Project, record: dict, fields_: dict) -> dict:
    rec = {k: v for k, v in record.items() if k != "pid"} | fields_
    path = project.checkpoint_path(rec)
    project.register_checkpoint(path, rec["arch"], rec.get("metrics") or {},
                                **{k: v for k, v in rec.items()
                                   if k not in ("path", "arch", "metrics")})
    return next(c for c in project.checkpoints if c.get("path") == rec["path"])


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
        project.checkpoints[:] = [c for c in project.checkpoints
                                  if c.get("path") != record["path"]]
        project.save()
        _remove_empty(project.checkpoint_path(record).parent)
        return FinetuneOutcome(record | fields_, result, False,
                               "stopped before the first epoch ended: nothing was kept")
    activated, reason = decide(result.status, miou, baseline, active)
    if not activated:
        fields_["note"] = "; ".join(x for x in (result.message, reason) if x)
    rec = _finish(project, record, fields_)
    if activated:
        set_active(project, project.checkpoint_path(rec))
    return FinetuneOutcome(rec, result, activated, reason)


def decide(status: str, miou: float | None, baseline: float | None,
           active: Path | None) -> tuple[bool, str]:
    """(becomes active, why) for a run that wrote a checkpoint."""
    if status != "finished":
        return False, f"not made active: the run {status}"
    if miou is None:
        if active is None:
            # Only edited images (they never validate) and nothing to prefer instead.
            return True, "made active: no model was active (no validation images to measure it)"
        return False, "not made active: no validation images to measure it on"
    if baseline is None:
        why = ("no model was active" if active is None else
               "the active model cannot be measured on these classes")
        return True, f"made active: {why}; val mIoU {100 * miou:.1f}%"
    if miou >= baseline:
        return True, (f"made active: val mIoU {100 * miou:.1f}% vs {100 * baseline:.1f}% for "
                      "the model it replaces, on the same images")
    return False, (f"not made active: val mIoU {100 * miou:.1f}% is below the active "
                   f"model's {100 * baseline:.1f}% on the same images; you can still choose it")


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


__all__ = ["FinetuneOutcome", "FinetuneSettings", "StartChoice", "check_trainable",
           "decide", "default_finetune", "finetune_settings", "resumable", "run_finetune",
           "run_records", "save_finetune_settings", "starting_point", "unusual_settings"]
