"""Optimisers and per-step learning-rate schedules (poly as in DeepLab/ENet ports, or cosine)."""

from __future__ import annotations

import math

import torch
from torch import nn

OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("poly", "cosine", "constant")


def make_optimizer(model: nn.Module | list[dict], name: str, lr: float,
                   weight_decay: float = 2e-4,
                   device: torch.device | None = None) -> torch.optim.Optimizer:
    """Adam (L2 weight decay, as the ENet recipe) or AdamW (decoupled decay), over a model's
    trainable parameters or over parameter groups (engine.adapt.param_groups).

    On CPU and CUDA the fused implementation updates all parameters in one kernel: for ENet's
    340 small tensors that is ~3 ms instead of ~15 ms per CPU step.
    """
    params = model if isinstance(model, list) else \
        [p for p in model.parameters() if p.requires_grad]
    fused = True if device is not None and device.type in ("cpu", "cuda") else None
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused)
    raise ValueError(f"unknown optimizer {name!r} (use one of {', '.join(OPTIMIZERS)})")


def lr_factor(name: str, step: int, total: int, *, power: float = 0.9,
              warmup: int = 0) -> float:
    """Multiplier of the base learning rate at `step` of `total` (0-based, per optimiser step)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    t = min(max(step - warmup, 0) / max(total - warmup, 1), 1.0)
    if name == "poly":
        return (1.0 - t) ** power
    if name == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    if name == "constant":
        return 1.0
    raise ValueError(f"unknown schedule {name!r} (use one of {', '.join(SCHEDULES)})")


def make_scheduler(optimizer: torch.optim.Optimizer, name: str, total_steps: int,
                   warmup: int = 0, *, group_scale: tuple[float, ...] | None = None,
                   group_hold: tuple[int, ...] | None = None
                   ) -> torch.optim.lr_scheduler.LambdaLR:
    """The schedule of every parameter group; group i's rate is further scaled by
    `group_scale[i]` and held at 0 for its first `group_hold[i]` steps (its own warm-up then
    starts: a pretrained body waits while a fresh head learns)."""
    lr_factor(name, 0, max(total_steps, 1))  # validates the name before training starts
    total = max(total_steps, 1)
    n = len(optimizer.param_groups)
    scales = tuple(group_scale or ()) + (1.0,) * n
    holds = tuple(group_hold or ()) + (0,) * n

    def factor(i: int):
        scale, hold = scales[i], holds[i]

        def f(step: int) -> float:
            if step < hold:
                return 0.0
            # The warm-up restarts after the hold; the decay follows the whole run.
            if warmup and step - hold < warmup:
                return scale * (step - hold + 1) / warmup * lr_factor(name, step, total)
            return scale * lr_factor(name, step, total)
        return f

    return torch.optim.lr_scheduler.LambdaLR(optimizer, [factor(i) for i in range(n)])
