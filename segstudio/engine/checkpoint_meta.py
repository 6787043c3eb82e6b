"""Checkpoint metadata: the dataclass and the validation of its JSON schema.

The metadata arrives from a user's file (the `.json` sidecar or the copy embedded in the
safetensors header), so every key is checked for type and range before anything uses it: a
sidecar of `[]`, a `mean` of two numbers or a zero `std` is one clear line naming the key,
never an AttributeError from deep inside prediction or a network that outputs NaN.

Forward compatibility: unknown keys inside `settings` and `metrics` are kept as they are;
unknown top-level keys are ignored, except fields added to `CheckpointMeta` later, which are
passed through (their own checks belong with them).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from segstudio import __version__
from segstudio.core.classes import ClassSet
from segstudio.core.errors import ClassSetError, PathError
from segstudio.engine.scale import TrainScale

MAX_META_BYTES = 16 * 2**20   # far above any real metadata (classes + settings: a few KB)
_MAX_SIDE = 1 << 16


class CheckpointError(PathError):
    """A checkpoint that is missing, corrupt, or does not fit (architecture, classes, shapes)."""


class MetaSchemaError(ValueError):
    """Metadata that breaks the schema; `key` names the offending key ("" for the whole)."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"key {key!r}: {problem}" if key else problem)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@dataclass
class CheckpointMeta:
    arch: str
    classes: ClassSet
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    train_size: tuple[int, int] | None = None          # (H, W) the network was trained at
    metrics: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)   # how it was trained
    parent: str | None = None                          # checkpoint it was initialised from
    created: str = field(default_factory=_now)
    version: str = __version__
    # The pixel scale the network learnt (engine.scale); None in checkpoints older than it.
    train_scale: TrainScale | None = None

    def learnt_scale(self) -> TrainScale | None:
        """The recorded scale; for older checkpoints their training size (at the 0.5-2x
        augmentation every segstudio training used); None when neither is known."""
        if self.train_scale is not None:
            return self.train_scale
        if self.train_size:
            return TrainScale(tuple(self.train_size), source="train_size")
        return None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"] = self.classes.to_dict()
        d["mean"], d["std"] = list(self.mean), list(self.std)
        d["train_size"] = list(self.train_size) if self.train_size else None
        d["train_scale"] = self.train_scale.to_dict() if self.train_scale else None
        return d

    @classmethod
    def from_dict(cls, d: Any) -> CheckpointMeta:
        """Validated metadata; MetaSchemaError naming the key otherwise."""
        return validate_meta(d, cls)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _triple(d: dict, key: str, *, positive: bool) -> tuple[float, float, float]:
    if key not in d:
        raise MetaSchemaError(key, "missing (3 numbers, the input normalisation per channel)")
    value = d[key]
    if not isinstance(value, list | tuple) or len(value) != 3 \
            or not all(_is_number(v) for v in value):
        raise MetaSchemaError(key, f"must be a list of 3 numbers (R, G, B), got {_kind(value)}"
                              + (f": {value}" if isinstance(value, list) else ""))
    floats = tuple(float(v) for v in value)
    if not all(math.isfinite(v) for v in floats):
        raise MetaSchemaError(key, f"must be finite numbers, got {list(floats)}")
    if positive and not all(v > 0 for v in floats):
        raise MetaSchemaError(key, f"must be above 0 (it divides the input), got {list(floats)}")
    return floats  # type: ignore[return-value]


def _optional(d: dict, key: str, types: type | tuple[type, ...], what: str) -> Any:
    value = d.get(key)
    if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
        raise MetaSchemaError(key, f"must be {what} or null, got {_kind(value)}")
    return value


def validate_meta(d: Any, cls: type[CheckpointMeta] = CheckpointMeta) -> CheckpointMeta:
    """`d` (parsed JSON) as a CheckpointMeta, every key checked; MetaSchemaError otherwise."""
    if not isinstance(d, dict):
        raise MetaSchemaError("", f"must be a JSON object, got {_kind(d)}")
    arch = d.get("arch")
    if not isinstance(arch, str) or not arch.strip():
        raise MetaSchemaError("arch", "missing" if "arch" not in d
                              else f"must be an architecture name, got {_kind(arch)}")
    if "classes" not in d:
        raise MetaSchemaError("classes", "missing")
    try:
        classes = ClassSet.from_dict(d["classes"])
    except ClassSetError as exc:
        raise MetaSchemaError("classes", str(exc)) from None
    mean = _triple(d, "mean", positive=False)
    std = _triple(d, "std", positive=True)
    size = d.get("train_size")
    if size is not None:
        if not isinstance(size, list | tuple) or len(size) != 2 or not all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= _MAX_SIDE
                for v in size):
            raise MetaSchemaError("train_size", f"must be [height, width] (whole numbers 1.."
                                  f"{_MAX_SIDE}) or null, got {_kind(size)}")
        size = (size[0], size[1])
    metrics = _optional(d, "metrics", dict, "an object")
    settings = _optional(d, "settings", dict, "an object")
    parent = _optional(d, "parent", str, "a path")
    created = _optional(d, "created", str, "a date string")
    version = _optional(d, "version", str, "a version string")
    scale = d.get("train_scale")
    if scale is not None:
        try:
            if not isinstance(scale, dict):
                raise TypeError
            scale = TrainScale.from_dict(scale)
        except (KeyError, TypeError, ValueError):
            raise MetaSchemaError("train_scale", "must be an object with image_size [h, w] and "
                                  f"scale_range [lo, hi], or null; got {_kind(scale)}") from None
    known = {"arch": arch, "classes": classes, "mean": mean, "std": std, "train_size": size,
             "metrics": dict(metrics or {}), "settings": dict(settings or {}), "parent": parent,
             "created": created or "", "version": version or "", "train_scale": scale}
    # Fields added to the dataclass after this validator was written pass through unchecked.
    extra = {f.name: d[f.name] for f in dataclasses.fields(cls)
             if f.name not in known and f.name in d}
    return cls(**known, **extra)


def parse_meta_json(text: str | bytes, source: Path, where: str) -> CheckpointMeta:
    """Metadata from JSON text; CheckpointError naming `source` and saying which part of it
    (`where`, e.g. "sidecar") is wrong: not JSON, too large, or which key breaks the schema."""
    if len(text) > MAX_META_BYTES:
        raise CheckpointError(source, f"{where} is {len(text)} bytes, too large for checkpoint "
                              f"metadata (limit {MAX_META_BYTES})")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise CheckpointError(source, f"{where} is not valid JSON ({problem})") from None
    try:
        return validate_meta(raw)
    except MetaSchemaError as exc:
        raise CheckpointError(source, f"bad checkpoint metadata in {where}: {exc}") from None
