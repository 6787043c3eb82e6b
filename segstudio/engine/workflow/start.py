"""Where a fine-tune starts: the starting weights and the recipe that follows from them.

`starting_point` is the rule (the active model when it is this architecture; for ENet else
the shipped CamVid model; for encoder networks their ImageNet encoder; else random
initialisation, said plainly); `start_kind` names its case and `run_recipe` gives the
settings of engine.workflow.recipe for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from segstudio.core.project import Project
from segstudio.engine.workflow.recipe import Recipe, StartKind, recipe_for
from segstudio.engine.workflow.run_registry import (
    active_checkpoint,
    display_name,
    shipped_checkpoint,
)

if TYPE_CHECKING:
    from segstudio.engine.workflow.finetune import FinetuneSettings


def median_image_size(project: Project) -> tuple[int, int]:
    """(H, W) of the project's median image (from the headers of up to 50 of them)."""
    from segstudio.core.errors import SegstudioError
    from segstudio.core.imageio import image_size

    sizes = []
    for e in project.entries[:: max(1, len(project.entries) // 50)][:50]:
        try:
            sizes.append(image_size(e.path))
        except (SegstudioError, OSError):
            continue
    return tuple(sorted(sizes)[len(sizes) // 2]) if sizes else (360, 480)


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


def start_kind(project: Project, start: StartChoice) -> StartKind:
    """Which of the recipe's cases a start is (engine.workflow.recipe)."""
    from segstudio.engine.checkpoint import CheckpointError, classes_mismatch, read_checkpoint

    if start.init is not None:
        try:
            _, meta = read_checkpoint(start.init)
        except (CheckpointError, OSError):
            return StartKind.FRESH_HEAD   # the run itself will say what is wrong with it
        return StartKind.FITTING if classes_mismatch(project.classes, meta.classes) is None \
            else StartKind.FRESH_HEAD
    return StartKind.IMAGENET if start.backbone is not None else StartKind.SCRATCH


def run_recipe(project: Project, start: StartChoice, settings: FinetuneSettings) -> Recipe:
    """The recipe of a run from `start` with `settings` (what the panel shows beforehand)."""
    from segstudio.engine.checkpoint import CheckpointError, read_checkpoint

    kind = start_kind(project, start)
    parent_settings, parent_scale = None, None
    if start.init is not None:
        try:
            _, meta = read_checkpoint(start.init)
            parent_settings, parent_scale = meta.settings, meta.train_scale
        except (CheckpointError, OSError):
            pass
    return recipe_for(kind, settings.steps, settings.weighting,
                      parent_settings=parent_settings, parent_scale=parent_scale,
                      image_size=median_image_size(project))


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
    shipped = shipped_checkpoint()
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
