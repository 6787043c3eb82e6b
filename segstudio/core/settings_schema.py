"""The one table of training settings and their ranges, read by everything that checks them.

Before this table the Fine-tune panel, segstudio.json's validation and the engine's limits each
kept their own ranges and disagreed (batch 256 / 1024 / 4096, lr 1e-5 / 1e-8 / "above 0"), so
a value one accepted another refused: `segstudio train PROJECT --lr 50` wrote 50 into
segstudio.json, after which opening the project failed everywhere. Now:

- the CLI's argparse types (`cli.options.schema_type`) refuse an out-of-range value before
  anything is read or written;
- `engine.train_validate.validate_config` checks a TrainConfig against the same ranges;
- the Fine-tune panel (`ui.docks.finetune`) takes its spin-box ranges from here;
- `core.project_file` checks `settings.finetune` with `check_value`, and a value out of range
  is *dropped with a warning* (the project opens with its default for that field): settings
  must never make a project's labels unreachable.

Numpy-free and Qt-free: core, engine, ui and cli all import it.

Adding a field (for example a new FinetuneSettings field):
1. add one `Setting(...)` line to `SETTINGS` below (name = the FinetuneSettings / TrainConfig
   field, its type, min/max or choices, the CLI option if it has one);
2. that is all for segstudio.json (checked and cleaned on open) and for `validate_config` when
   the field is listed in `TRAIN_CHECKED`; give the CLI option `type=schema_type("name")` and
   the panel's widget `spin_range("name")` where they exist.
A field that is not in the table is kept in segstudio.json as it is (a newer segstudio's).
No defaults here on purpose: they depend on the project's images (workflow.finetune).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str                          # FinetuneSettings / TrainConfig field
    kind: type                         # int, float, bool or str
    min: float | None = None           # inclusive bounds for numbers
    max: float | None = None
    choices: tuple[str, ...] = ()      # the allowed values for str
    option: str = ""                   # its command-line spelling, "" when it has none
    what: str = ""                     # in words, for messages

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot be this setting (one phrase), or None when it can."""
        if self.kind is bool:
            return None if isinstance(value, bool) else f"{_show(value)} is not true or false"
        if self.kind is str:
            if value in self.choices:
                return None
            return f"{_show(value)} is not one of {', '.join(self.choices)}"
        # bool is an int in Python but never a number here.
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{_show(value)} is not a number"
        if self.kind is int and not isinstance(value, int):
            return f"{_show(value)} is not a whole number"
        if not math.isfinite(value):
            return f"{_show(value)} is not a finite number"
        if (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max):
            return f"{_show(value)} is outside {self.range_text()}"
        return None

    def range_text(self) -> str:
        lo = "" if self.min is None else _num(self.min)
        hi = "" if self.max is None else _num(self.max)
        return f"{lo}..{hi}"


def _num(v: float) -> str:
    return f"{int(v):_}".replace("_", ",") if float(v).is_integer() and abs(v) >= 1 else f"{v:g}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


WEIGHTINGS = ("none", "median", "enet")   # what a loss can use (engine.losses)
# A project's setting may also say "auto": the weighting its starting model was trained with
# (engine.workflow.recipe resolves it before training).
SETTING_WEIGHTINGS = ("auto", *WEIGHTINGS)

# The bounds are far beyond useful values (the defaults are 200 steps of 4 crops of 240x320 at
# 1e-3) and exist so that a typo cannot ask for hours of nothing or gigabytes per step; each is
# what the widest of the three former places allowed that still trains on one GPU.
SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("steps", int, 1, 1_000_000, option="--steps", what="length in steps"),
    # Older projects counted length in epochs: still read (and checked), no longer used.
    Setting("epochs", int, 1, 1_000_000, option="--epochs", what="epochs"),
    Setting("height", int, 32, 8192, option="--size", what="crop height"),
    Setting("width", int, 32, 8192, option="--size", what="crop width"),
    Setting("batch", int, 1, 1024, option="--batch", what="batch"),
    Setting("lr", float, 1e-8, 1.0, option="--lr", what="learning rate"),
    Setting("weighting", str, choices=SETTING_WEIGHTINGS, option="--weighting",
            what="class weights"),
    Setting("train_edited", bool, option="--no-edited", what="train on edited pixels"),
    Setting("val_fraction", float, 0.0, 0.9, option="--val-fraction",
            what="validation share"),
)}

# The fields `engine.train_validate.validate_config` checks on a TrainConfig from this table
# (height and width come as TrainConfig.size, checked there against the same two rows).
# (weighting: a TrainConfig's is resolved, one of WEIGHTINGS, checked there.)
TRAIN_CHECKED = ("epochs", "batch", "lr", "val_fraction")


def setting(name: str) -> Setting:
    return SETTINGS[name]


def check_value(name: str, value: Any) -> str | None:
    """Why `value` cannot be setting `name`; None when it can or the name is not in the table
    (a newer segstudio's field is kept, not judged)."""
    spec = SETTINGS.get(name)
    return None if spec is None else spec.problem(value)


def check_settings(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, problem) for every value of `values` that cannot be; [] when all can."""
    return [(k, p) for k, v in values.items() if (p := check_value(k, v)) is not None]


def clean_settings(values: Any, where: str) -> tuple[dict[str, Any], list[str]]:
    """`values` without the fields that cannot be, and one warning line per field dropped
    (`where` names the place, e.g. "segstudio.json: settings.finetune")."""
    if not isinstance(values, dict):
        return {}, [f"{where}: expected an object, got {_show(values)}; using the defaults"]
    bad = dict(check_settings(values))
    warnings = [f"{where}.{k}: {p}; using the default instead" for k, p in bad.items()]
    return {k: v for k, v in values.items() if k not in bad}, warnings
