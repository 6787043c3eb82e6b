"""Checkpoints: weights in `<stem>.safetensors`, metadata in a `<stem>.json` sidecar.

Nothing here unpickles: safetensors holds only tensors. The metadata is also embedded in the
safetensors header, so a crash between the two atomic writes (or a lost sidecar) can never
pair weights with the wrong classes: the embedded copy is bound to the weights and wins.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from segstudio import __version__
from segstudio.core.atomic import atomic_write_bytes, atomic_write_json
from segstudio.core.classes import ClassSet
from segstudio.core.errors import ClassSetError, PathError
from segstudio.engine.scale import TrainScale

_META_KEY = "segstudio"


class CheckpointError(PathError):
    """A checkpoint that is missing, corrupt, or does not fit (architecture, classes, shapes)."""


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
    def from_dict(cls, d: dict[str, Any]) -> CheckpointMeta:
        size = d.get("train_size")
        return cls(
            arch=str(d["arch"]),
            classes=ClassSet.from_dict(d["classes"]),
            mean=tuple(float(v) for v in d["mean"]),
            std=tuple(float(v) for v in d["std"]),
            train_size=(int(size[0]), int(size[1])) if size else None,
            metrics=dict(d.get("metrics") or {}),
            settings=dict(d.get("settings") or {}),
            parent=d.get("parent"),
            created=str(d.get("created", "")),
            version=str(d.get("version", "")),
            train_scale=TrainScale.from_dict(d["train_scale"]) if d.get("train_scale") else None,
        )


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, sidecar) for a path given as `x`, `x.safetensors` or `x.json`."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def default_checkpoint() -> Path:
    """The shipped ENet road-scene model (may be absent in a bare checkout: check `.exists()`)."""
    from segstudio.paths import RESOURCES

    return RESOURCES / "models" / "enet_camvid.safetensors"


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under DDP / torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def state_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors that share storage; clone detaches them (and moves to CPU).
    return {k: v.detach().to("cpu", copy=True).contiguous()
            for k, v in unwrap(model).state_dict().items()}


def save_checkpoint(model: nn.Module, path: str | Path, meta: CheckpointMeta) -> Path:
    """Write weights then sidecar, each atomically; returns the .safetensors path."""
    weights, sidecar = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    meta_dict = meta.to_dict()
    blob = st_save(state_tensors(model), metadata={_META_KEY: json.dumps(meta_dict)})
    atomic_write_bytes(weights, blob)
    atomic_write_json(sidecar, meta_dict)
    return weights


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Tensors (CPU) and metadata, validated as a file; no model is built."""
    weights, sidecar = checkpoint_paths(path)
    if not weights.is_file():
        raise CheckpointError(weights, "checkpoint not found")
    try:
        data = weights.read_bytes()
        tensors = st_load(data)
        embedded = _embedded_meta(data)
    except (SafetensorError, ValueError, OSError) as exc:
        raise CheckpointError(weights, f"not a readable .safetensors file ({exc})") from None
    raw = embedded
    if raw is None:
        if not sidecar.is_file():
            raise CheckpointError(sidecar, "checkpoint sidecar missing (needs arch and classes)")
        try:
            raw = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(sidecar, f"unreadable checkpoint sidecar ({exc})") from None
    try:
        meta = CheckpointMeta.from_dict(raw)
    except (KeyError, TypeError, ValueError, IndexError, ClassSetError) as exc:
        problem = f"checkpoint metadata incomplete or invalid ({exc})"
        raise CheckpointError(sidecar, problem) from None
    return tensors, meta


def _embedded_meta(data: bytes) -> dict | None:
    # safetensors layout: 8-byte little-endian header length, then a JSON header.
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    text = (header.get("__metadata__") or {}).get(_META_KEY)
    return json.loads(text) if text else None


def load_checkpoint(path: str | Path, *, device: torch.device | str | None = None,
                    arch: str | None = None) -> tuple[nn.Module, CheckpointMeta]:
    """Build the network the checkpoint describes and load its weights (eval mode).

    `arch`: the architecture the caller expects; a checkpoint of another one is refused.
    """
    from segstudio.models import build_model, list_models

    weights, _ = checkpoint_paths(path)
    tensors, meta = read_checkpoint(weights)
    if arch is not None and meta.arch != arch:
        raise CheckpointError(weights, f"checkpoint is a {meta.arch!r} network, expected {arch!r}")
    if meta.arch not in list_models():
        raise CheckpointError(weights, f"unknown architecture {meta.arch!r} in checkpoint")
    model = build_model(meta.arch, meta.classes.num_classes)
    problems = _fit_problems(model, tensors)
    if problems:
        raise CheckpointError(weights, f"weights do not fit {meta.arch} with "
                              f"{meta.classes.num_classes} classes: {problems}")
    model.load_state_dict(tensors, strict=True)
    model.eval()
    if device is not None:
        model.to(device)
    return model, meta


def _fit_problems(model: nn.Module, tensors: dict[str, torch.Tensor]) -> str:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    shapes = [f"{k} {tuple(tensors[k].shape)} vs {tuple(v.shape)}"
              for k, v in expected.items() if k in tensors and tensors[k].shape != v.shape]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
        if items:
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            parts.append(f"{label}: {', '.join(items[:3])}{more}")
    return "; ".join(parts)


def load_matching(model: nn.Module, tensors: dict[str, torch.Tensor]) -> list[str]:
    """Load every tensor whose name and shape match; returns the names left as initialised.

    Used to start from a checkpoint whose class list differs: the body loads, the head
    (whose shape depends on the number of classes) keeps its fresh initialisation.
    """
    target = unwrap(model)
    own = target.state_dict()
    matched = {k: v for k, v in tensors.items() if k in own and own[k].shape == v.shape}
    target.load_state_dict(matched, strict=False)
    return sorted(k for k in own if k not in matched)


def classes_mismatch(expected: ClassSet, actual: ClassSet) -> str | None:
    """None when the class lists agree (names and ignore index), else what differs, in words."""
    if list(expected.names) != list(actual.names):
        return (f"classes differ: checkpoint has {len(actual.names)} "
                f"({', '.join(actual.names[:6])}{'...' if len(actual.names) > 6 else ''}), "
                f"data has {len(expected.names)} "
                f"({', '.join(expected.names[:6])}{'...' if len(expected.names) > 6 else ''})")
    if expected.ignore_index != actual.ignore_index:
        return (f"ignore index differs: checkpoint {actual.ignore_index}, "
                f"data {expected.ignore_index}")
    return None
