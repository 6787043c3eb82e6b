"""Resumable training state in one atomic safetensors file (weights, optimiser, counters).

Optimiser state is flattened to named tensors plus JSON for everything else, so resuming
never unpickles anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from segstudio.core.atomic import atomic_write_bytes
from segstudio.engine.checkpoint import (
    CheckpointError,
    state_tensors,
    tensor_problems,
    unwrap,
)

_KEY = "segstudio_train_state"


def save_train_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                     info: dict[str, Any], *, average: nn.Module | None = None,
                     arrays: dict[str, Any] | None = None) -> None:
    """`average`: the run's weight average (engine.adapt), saved beside the weights;
    `arrays`: named integer arrays (the verdict's confusion matrices), given back by
    `load_train_state` under info["arrays"]."""
    tensors = {f"model.{k}": v for k, v in state_tensors(model).items()}
    for name, value in (arrays or {}).items():
        if value is not None:
            tensors[f"arr.{name}"] = torch.as_tensor(value).contiguous().clone()
    if average is not None:
        tensors |= {f"average.{k}": v for k, v in state_tensors(average).items()}
    opt = optimizer.state_dict()
    plain_state: dict[str, dict[str, Any]] = {}
    for idx, entry in opt["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"opt.{idx}.{name}"] = value.detach().cpu().contiguous().clone()
            else:
                plain_state.setdefault(str(idx), {})[name] = value
    meta = {"info": info, "param_groups": opt["param_groups"], "plain_state": plain_state}
    atomic_write_bytes(path, st_save(tensors, metadata={_KEY: json.dumps(meta)}))


_ERRORS = (OSError, SafetensorError, ValueError, KeyError, TypeError, AttributeError,
           IndexError, RecursionError)


def read_train_state_info(path: Path) -> dict[str, Any]:
    """The saved `info` dict (epoch, arch, classes...) from the header alone, no tensors read:
    checked before training starts. CheckpointError naming the file when unreadable."""
    try:
        with safe_open(str(path), framework="pt") as f:
            info = json.loads((f.metadata() or {})[_KEY])["info"]
        if not isinstance(info, dict) or not isinstance(info.get("arch"), str):
            raise TypeError("no architecture recorded")
    except _ERRORS as exc:
        raise CheckpointError(path, f"cannot resume: unreadable training state ({exc})") from None
    return info


def load_train_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, *,
                     average: nn.Module | None = None) -> dict[str, Any]:
    """Restore model, optimiser and the weight average in place (an average absent from
    the file restarts from the weights); returns the saved `info` dict."""
    try:
        data = path.read_bytes()
        tensors = st_load(data)
        n = int.from_bytes(data[:8], "little")
        meta = json.loads(json.loads(data[8:8 + n])["__metadata__"][_KEY])
        if not all(isinstance(meta.get(k), t) for k, t in
                   (("info", dict), ("param_groups", list), ("plain_state", dict))):
            raise TypeError("missing or mistyped sections")
    except _ERRORS as exc:
        raise CheckpointError(path, f"cannot resume: unreadable training state ({exc})") from None
    problem = tensor_problems({k: v for k, v in tensors.items()
                               if k.startswith(("model.", "average."))})
    if problem:
        raise CheckpointError(path, f"cannot resume: {problem}")
    weights = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    averaged = {k[8:]: v for k, v in tensors.items() if k.startswith("average.")}
    meta["info"]["arrays"] = {k[4:]: v.numpy() for k, v in tensors.items()
                              if k.startswith("arr.")}
    try:
        unwrap(model).load_state_dict(weights, strict=True)
        if average is not None:
            average.load_state_dict(averaged or weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(path, f"cannot resume: saved weights do not fit ({first})") from None
    state: dict[int, dict[str, Any]] = {}
    try:
        for key, value in tensors.items():
            if key.startswith("opt."):
                _, idx, name = key.split(".", 2)
                state.setdefault(int(idx), {})[name] = value
        for idx, entry in meta["plain_state"].items():
            state.setdefault(int(idx), {}).update(entry)
        for group in meta["param_groups"]:
            if isinstance(group.get("betas"), list):
                group["betas"] = tuple(group["betas"])
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except _ERRORS as exc:
        raise CheckpointError(path, f"cannot resume: optimiser state does not fit ({exc})") \
            from None
    _match_layouts(optimizer)
    return meta["info"]


def _match_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each moment tensor its parameter's memory layout.

    safetensors stores contiguous tensors, but the parameters may be channels_last; fused
    Adam walks parameter and moments as flat buffers, so mismatched strides would pair the
    wrong elements (silently wrong updates after a resume).
    """
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if torch.is_tensor(value) and value.shape == param.shape \
                    and value.stride() != param.stride():
                state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)
