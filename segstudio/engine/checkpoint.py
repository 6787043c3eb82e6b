"""Checkpoints: weights in `<stem>.safetensors`, metadata in a `<stem>.json` sidecar.

Nothing here unpickles: safetensors holds only tensors. The metadata is also embedded in the
safetensors header, so a crash between the two atomic writes (or a lost sidecar) can never
pair weights with the wrong classes: the embedded copy is bound to the weights and wins.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from segstudio.core.atomic import atomic_write_bytes, atomic_write_json
from segstudio.core.classes import ClassSet
from segstudio.engine.checkpoint_meta import (
    CheckpointError,
    CheckpointMeta,
    MetaSchemaError,
    parse_meta_json,
    validate_meta,
)

__all__ = ["CheckpointError", "CheckpointMeta", "load_checkpoint", "read_checkpoint",
           "read_checkpoint_meta", "save_checkpoint"]

_META_KEY = "segstudio"
# Weights are floating point; BatchNorm's step counters are the only integers in any model.
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_INTS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_COUNTER_SUFFIX = "num_batches_tracked"


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
    """Write weights then sidecar, each atomically; returns the .safetensors path.

    Refuses (CheckpointError, nothing written) weights holding NaN or infinity (a diverged
    run) and metadata that a load would refuse."""
    weights, sidecar = checkpoint_paths(path)
    meta_dict = meta.to_dict()
    try:
        validate_meta(meta_dict)
    except MetaSchemaError as exc:
        raise CheckpointError(weights, f"refusing to save: bad metadata: {exc}") from None
    tensors = state_tensors(model)
    problem = tensor_problems(tensors)
    if problem:
        raise CheckpointError(weights, f"refusing to save: {problem} (training diverged? "
                              "try a lower learning rate)")
    weights.parent.mkdir(parents=True, exist_ok=True)
    blob = st_save(tensors, metadata={_META_KEY: json.dumps(meta_dict)})
    atomic_write_bytes(weights, blob)
    atomic_write_json(sidecar, meta_dict)
    return weights


def tensor_problems(tensors: dict[str, torch.Tensor]) -> str | None:
    """What makes these weights unusable, in words (None when they are fine): a dtype that is
    not floating point (integer step counters aside), or NaN / infinite values."""
    for name, t in tensors.items():
        counter = name.endswith(_COUNTER_SUFFIX)
        if (t.dtype not in _INTS) if counter else (t.dtype not in _FLOATS):
            want = "an integer counter" if counter else "floating point weights"
            return f"tensor {name!r} is {str(t.dtype).removeprefix('torch.')}, expected {want}"
    bad = [name for name, t in tensors.items()
           if t.dtype in _FLOATS and t.numel() and not bool(torch.isfinite(t).all())]
    if bad:
        more = f" (and {len(bad) - 1} more tensors)" if len(bad) > 1 else ""
        return f"tensor {bad[0]!r} holds NaN or infinite values{more}"
    return None


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Tensors (CPU) and metadata, validated as a file; no model is built.

    CheckpointError naming the file when it is missing or unreadable, when its metadata breaks
    the schema (naming the key), or when its tensors are not finite floating point weights."""
    weights, sidecar = _existing_weights(path)
    try:
        data = weights.read_bytes()
        tensors = st_load(data)
    except (SafetensorError, ValueError, OSError) as exc:
        raise CheckpointError(weights, f"not a readable .safetensors file ({exc})") from None
    meta = _meta(weights, sidecar, _embedded_text(data))
    problem = tensor_problems(tensors)
    if problem:
        raise CheckpointError(weights, f"unusable weights: {problem}")
    return tensors, meta


def read_checkpoint_meta(path: str | Path) -> CheckpointMeta:
    """The validated metadata alone (reads the safetensors header, not the weights): a quick
    check that a path is a usable checkpoint before any work starts."""
    weights, sidecar = _existing_weights(path)
    try:
        with safe_open(str(weights), framework="pt") as f:
            text = (f.metadata() or {}).get(_META_KEY)
    except (SafetensorError, ValueError, OSError) as exc:
        raise CheckpointError(weights, f"not a readable .safetensors file ({exc})") from None
    return _meta(weights, sidecar, text)


def verify_checkpoint(path: str | Path) -> CheckpointMeta:
    """Every check `read_checkpoint` makes (metadata, dtypes, finite values), one tensor at a
    time from the memory-mapped file, keeping nothing: for refusing a bad `--init` before any
    training data is read."""
    weights, sidecar = _existing_weights(path)
    try:
        with safe_open(str(weights), framework="pt") as f:
            meta = _meta(weights, sidecar, (f.metadata() or {}).get(_META_KEY))
            for name in f.keys():  # noqa: SIM118 - safe_open has no __iter__
                problem = tensor_problems({name: f.get_tensor(name)})
                if problem:
                    raise CheckpointError(weights, f"unusable weights: {problem}")
    except (SafetensorError, ValueError, OSError) as exc:
        raise CheckpointError(weights, f"not a readable .safetensors file ({exc})") from None
    return meta


def _existing_weights(path: str | Path) -> tuple[Path, Path]:
    weights, sidecar = checkpoint_paths(path)
    given = Path(path)
    if given.is_dir():
        raise CheckpointError(given, "is a folder, not a checkpoint file")
    if given != weights and given != sidecar and given.is_file() and not weights.is_file():
        raise CheckpointError(given, "not a checkpoint (expected NAME.safetensors with its "
                              "NAME.json)")
    if weights.is_dir():
        raise CheckpointError(weights, "is a folder, not a checkpoint file")
    if not weights.is_file():
        raise CheckpointError(weights, "checkpoint not found")
    return weights, sidecar


def _meta(weights: Path, sidecar: Path, embedded: str | None) -> CheckpointMeta:
    # The embedded copy is bound to the weights and wins; the sidecar is for older files.
    if embedded is not None:
        return parse_meta_json(embedded, weights,
                               f"the embedded metadata ({_META_KEY!r} in the header)")
    if not sidecar.is_file():
        raise CheckpointError(sidecar, "checkpoint sidecar missing (needs arch and classes)")
    try:
        text = sidecar.read_bytes()
    except OSError as exc:
        raise CheckpointError(sidecar, f"unreadable checkpoint sidecar ({exc})") from None
    return parse_meta_json(text, sidecar, "the sidecar")


def _embedded_text(data: bytes) -> str | None:
    # safetensors layout: 8-byte little-endian header length, then a JSON header whose
    # "__metadata__" maps strings to strings (st_load has already checked all of this).
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    text = metadata.get(_META_KEY) if isinstance(metadata, dict) else None
    return text if isinstance(text, str) else None


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
    dtypes = [f"{k} {tensors[k].dtype} vs {v.dtype}" for k, v in expected.items()
              if k in tensors and tensors[k].is_floating_point() != v.is_floating_point()]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", shapes),
                         ("dtype", dtypes)):
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
