"""Checking a TrainConfig before any work: `validate_config` runs first thing in
`engine.train.train`, so the CLI, the GUI and scripts all get one clear line naming the option,
before data is loaded, a model is built or a file is written.

What used to happen instead: `--lr nan` raised ValueError after the data was loaded, `--lr inf`
"succeeded" with a NaN network, `--out` pointing at a file raised FileExistsError, and
`--resume` with nothing saved quietly started from scratch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from segstudio.core import settings_schema as schema
from segstudio.core.errors import SegstudioError
from segstudio.engine.limits import MAX_SEED, MAX_WORKERS, output_folder_problem

# The ranges of the settings a project also stores (batch, lr, ...) are core.settings_schema's,
# shared with segstudio.json's validation and the Fine-tune panel; the rest are engine limits.
WEIGHTINGS = schema.WEIGHTINGS

# TrainConfig field -> how the command line spells it (others: "--" + field with dashes).
_OPTIONS = {"data": "DATA", "out_dir": "--out", "val_dir": "--val", "init": "--init",
            "classes": "classes", "cache": "cache", "cache_limit": "cache_limit",
            "event_interval": "event_interval", "max_steps": "max_steps"}


class ConfigError(SegstudioError):
    """A training setting that cannot work; `field` is the TrainConfig field, `option` its
    command-line spelling; str() is one line naming the option."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.option = _OPTIONS.get(field, "--" + field.replace("_", "-"))
        self.problem = problem
        super().__init__(f"{self.option}: {problem}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(config: Any, name: str, low: int, high: int | None = None, *,
         optional: bool = False) -> None:
    value = getattr(config, name)
    if value is None and optional:
        return
    if not _is_int(value) or value < low or (high is not None and value > high):
        upper = f" to {high}" if high is not None else " or more"
        raise ConfigError(name, f"{value!r} must be a whole number from {low}{upper}")


def _real(config: Any, name: str, *, low: float, above: bool = False,
          below: float | None = None) -> None:
    value = getattr(config, name)
    if not _is_real(value) or not math.isfinite(value):
        raise ConfigError(name, f"{value!r} is not a finite number")
    if value < low or (above and value == low) or (below is not None and value >= below):
        rule = f"above {low:g}" if above else f"at least {low:g}"
        rule += f" and below {below:g}" if below is not None else ""
        raise ConfigError(name, f"{value!r} must be {rule}")


def _schema(config: Any, name: str) -> None:
    """A field with a row in core.settings_schema, checked against that row."""
    problem = schema.check_value(name, getattr(config, name))
    if problem:
        raise ConfigError(name, problem)


def _choice(config: Any, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ConfigError(name, f"{value!r} is not one of {', '.join(choices)}")


def _folder(config: Any, name: str) -> None:
    value = getattr(config, name)
    from segstudio.core.project import Project

    if value is None or isinstance(value, Project):
        if value is None and name == "data":
            raise ConfigError(name, "no training data given")
        return
    if not isinstance(value, str | Path):
        raise ConfigError(name, f"expected a folder, got {type(value).__name__}")
    path = Path(value).expanduser()
    if not path.exists():
        raise ConfigError(name, f"{path}: no such folder")
    if not path.is_dir():
        raise ConfigError(name, f"{path}: not a folder")


def _scale_range(config: Any) -> None:
    value = config.scale_range
    ok = isinstance(value, tuple | list) and len(value) == 2 and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in value)
    if not ok or not 0.05 <= value[0] <= value[1] <= 20:
        raise ConfigError("scale_range", f"{value!r} must be (low, high) with "
                          "0.05 <= low <= high <= 20")


def validate_config(config: Any) -> None:
    """ConfigError (or CheckpointError for `init`) naming the first option that cannot work.

    Reads no training data and builds no model: only `init` (checked tensor by tensor) and the
    header of the saved training state (for `resume`) are read.
    """
    from segstudio.core.classes import ClassSet
    from segstudio.core.imageio import size_problem
    from segstudio.engine.schedule import OPTIMIZERS, SCHEDULES
    from segstudio.models import list_models

    if config.arch not in list_models():
        raise ConfigError("arch", f"unknown architecture {config.arch!r}; choose one of: "
                          f"{', '.join(list_models())}")
    _folder(config, "data")
    _folder(config, "val_dir")
    for name in schema.TRAIN_CHECKED:
        _schema(config, name)
    _choice(config, "weighting", WEIGHTINGS)
    size = config.size
    if not isinstance(size, tuple | list) or len(size) != 2:
        raise ConfigError("size", f"{size!r} must be (height, width)")
    for name, value in zip(("height", "width"), size, strict=True):
        problem = schema.check_value(name, value)
        if problem:
            raise ConfigError("size", f"{schema.setting(name).what} {problem}")
    problem = size_problem(size[1], size[0])
    if problem:
        raise ConfigError("size", problem)
    _real(config, "weight_decay", low=0)
    _int(config, "seed", 0, MAX_SEED)
    _int(config, "patience", 1, optional=True)
    _int(config, "workers", 0, MAX_WORKERS, optional=True)
    _int(config, "max_steps", 1, optional=True)
    _int(config, "cache_limit", 0)
    _real(config, "event_interval", low=0)
    _real(config, "pretrained_lr", low=0, below=1.000001)
    _int(config, "warmup", 0)
    _int(config, "head_steps", 0)
    _real(config, "l2sp", low=0, below=100)
    _real(config, "ema", low=0, below=1)
    _scale_range(config)
    if not isinstance(config.freeze_bn, bool):
        raise ConfigError("freeze_bn", f"must be true or false, got {config.freeze_bn!r}")
    _choice(config, "optimizer", OPTIMIZERS)
    _choice(config, "schedule", SCHEDULES)
    for name in ("dice", "resume"):
        if not isinstance(getattr(config, name), bool):
            raise ConfigError(name, f"must be true or false, got {getattr(config, name)!r}")
    if config.cache is not None and not isinstance(config.cache, bool):
        raise ConfigError("cache", f"must be true, false or unset, got {config.cache!r}")
    if config.classes is not None and not isinstance(config.classes, ClassSet):
        raise ConfigError("classes", f"must be a ClassSet, got {type(config.classes).__name__}")
    if config.device is not None and not isinstance(config.device, str):
        raise ConfigError("device", f"must be a device name, got {config.device!r}")
    _check_backbone(config)
    _check_out(config)
    _check_init(config)


def _check_backbone(config: Any) -> None:
    from segstudio.models import model_info

    backbone = config.backbone
    if backbone is None:
        return
    info = model_info(config.arch)
    if info.backbone is None:
        raise ConfigError("backbone", f"{config.arch} has no ImageNet backbone; leave it out "
                          "or start from a segstudio checkpoint with --init")
    if str(backbone).lower() == "imagenet":
        return  # the hub cache is looked up when the model is built, before any data
    path = Path(backbone).expanduser()
    if not path.is_file():
        raise ConfigError("backbone", f"{path}: no such weights file")


def _check_out(config: Any) -> None:
    from segstudio.engine.train_types import STATE_FILE

    if not isinstance(config.out_dir, str | Path):
        raise ConfigError("out_dir", f"expected a folder, got {type(config.out_dir).__name__}")
    out = Path(config.out_dir).expanduser()
    problem = output_folder_problem(out)
    if problem:
        raise ConfigError("out_dir", f"{out}: {problem}")
    if config.resume:
        state = out / STATE_FILE
        if not state.is_file():
            raise ConfigError("resume", f"no saved training state in {out} (expected "
                              f"{STATE_FILE}); run without --resume to start from scratch")
        _check_state_header(config, state)


def _check_state_header(config: Any, state: Path) -> None:
    """The saved state must be readable and for this architecture (its header only)."""
    from segstudio.engine.checkpoint import CheckpointError
    from segstudio.engine.train_state import read_train_state_info

    arch = read_train_state_info(state)["arch"]
    if arch != config.arch:
        raise CheckpointError(state, f"cannot resume: the saved state is for {arch!r}, "
                              f"not {config.arch!r}")


def _check_init(config: Any) -> None:
    from segstudio.engine.checkpoint import CheckpointError, verify_checkpoint

    if config.init is None:
        return
    if not isinstance(config.init, str | Path):
        raise ConfigError("init", f"expected a checkpoint path, got {type(config.init).__name__}")
    meta = verify_checkpoint(config.init)
    if meta.arch != config.arch:
        raise CheckpointError(config.init, f"checkpoint is a {meta.arch!r} network, cannot "
                              f"initialise {config.arch!r} from it")
