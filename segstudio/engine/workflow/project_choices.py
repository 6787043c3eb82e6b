"""The project's own choices that the window and the command line both read and write: the
network a fine-tune trains (`settings.arch`) and the scale Segment predicts at
(`settings.predict_scale`), in segstudio.json. Also what the active model learnt, for the
Model panel, read from the checkpoint's header.

One home, so the Model panel, the Fine-tune button and `segstudio train` agree on the default
and on what is valid: before, each had its own fallback and only the window checked the
architecture against `architectures()`. The setters change the project in memory; the caller
saves (the window with its session, the CLI through `run_finetune`).
"""

from __future__ import annotations

from pathlib import Path

from segstudio.core.errors import ProjectError
from segstudio.core.project import Project
from segstudio.engine.scale import Scale, ScaleError, TrainScale, parse_scale
from segstudio.engine.workflow.run_registry import architectures

DEFAULT_ARCH = "enet"       # the shipped model's: fine-tunes from it out of the box
ARCH_KEY = "arch"
SCALE_KEY = "predict_scale"
DEFAULT_SCALE = "auto"


class ArchitectureError(ProjectError):
    """An architecture segstudio cannot fine-tune (the message lists those it can)."""


def check_arch(arch: str) -> str:
    """`arch` when it is one of `architectures()`, else ArchitectureError."""
    known = architectures()
    if arch not in known:
        raise ArchitectureError(f"{arch!r}: unknown architecture; choose one of: "
                                f"{', '.join(known)}")
    return arch


def project_arch(project: Project) -> str:
    """The architecture the project fine-tunes: its saved one, or the default when none is
    saved or the saved one is unknown (a newer segstudio's, or a hand edit)."""
    saved = project.settings.get(ARCH_KEY)
    return saved if isinstance(saved, str) and saved in architectures() else DEFAULT_ARCH


def set_project_arch(project: Project, arch: str) -> None:
    """Make `arch` the project's architecture (ArchitectureError, nothing changed, for an
    unknown one)."""
    project.settings[ARCH_KEY] = check_arch(arch)


def predict_scale_text(project: Project) -> str:
    """The project's inference scale as saved ("auto", "native" or a factor), for display."""
    return str(project.settings.get(SCALE_KEY) or DEFAULT_SCALE)


def predict_scale(project: Project) -> Scale:
    """The scale Segment uses: the saved one, or auto when it is missing or unusable."""
    try:
        return parse_scale(predict_scale_text(project), "scale")
    except ScaleError:
        return DEFAULT_SCALE


def set_predict_scale(project: Project, text: str) -> None:
    """Save the inference scale; ScaleError (nothing changed) for a value that is not one."""
    parse_scale(text, "scale")
    project.settings[SCALE_KEY] = text


def learnt_scale(checkpoint: str | Path | None) -> str | None:
    """What the model learnt, in words (the object size of its training images), from the
    checkpoint's header; None when there is no checkpoint or its header does not say."""
    from segstudio.engine.checkpoint_header import CheckpointHeaderError, read_meta_dict

    if checkpoint is None:
        return None
    try:
        meta = read_meta_dict(checkpoint)
        if isinstance(meta.get("train_scale"), dict):
            return TrainScale.from_dict(meta["train_scale"]).describe()
        if meta.get("train_size"):   # checkpoints older than train_scale
            return TrainScale(tuple(meta["train_size"]), source="train_size").describe()
    except (CheckpointHeaderError, KeyError, TypeError, ValueError):
        pass
    return None
