"""Adapting a trained network to a few new images without unlearning what it knew.

A fine-tune from a trained model sees a handful of images at batch sizes of 2-8. Trained as
if from scratch (one rate for every layer, batch norm re-estimating its statistics from four
crops, weight decay pulling every weight towards zero), the first steps wreck the learnt
features: `segstudio bench adapt` measured the shipped ENet falling from 60% to under 40%
CamVid val mIoU in the first 20 steps. The pieces here keep a run near its start:

- **Two rates** (`param_groups`): layers that start fresh (a new head, a decoder over an
  ImageNet encoder) learn at the run's rate; layers that came from pretrained weights at a
  fraction of it.
- **Warm-up**: the rate rises over the first steps, while Adam's moment estimates are noise.
- **Frozen batch-norm statistics** (`freeze_batchnorm`): running means and variances stay
  those learnt on the parent's data; batch statistics of 4 crops would replace them.
- **L2-SP** (`L2SP`, Li et al. 2018, "Explicit inductive bias for transfer learning"): a
  penalty on the distance from the starting weights instead of weight decay towards zero.
- **An average of the weights** (`WeightAverage`, an exponential moving average): what is
  validated and saved, smoothing the noise of small-batch steps.
- **Head first**: with a fresh head, the pretrained layers wait (rate 0) for the first steps,
  so the random head's large gradients never reach them.

Which of these apply follows from where the run starts (`engine.workflow.recipe`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "L2SP",
    "AdaptOptions",
    "WeightAverage",
    "freeze_batchnorm",
    "param_groups",
    "pretrained_names",
]


@dataclass(frozen=True)
class AdaptOptions:
    """How a run treats the weights it starts from (TrainConfig fields, in one place)."""
    pretrained_lr: float = 1.0     # rate of pretrained layers, as a fraction of the run's
    warmup: int = 0                # steps of linear warm-up
    freeze_bn: bool = False        # keep batch-norm running statistics as they start
    l2sp: float = 0.0              # weight of the squared distance from the start
    ema: float = 0.0               # decay of the weight average (0: no average)
    head_steps: int = 0            # steps during which only fresh layers learn


def pretrained_names(model: nn.Module, fresh: Iterable[str]) -> set[str]:
    """Names of `model`'s parameters that did not start fresh."""
    fresh = set(fresh)
    return {name for name, _ in model.named_parameters() if name not in fresh}


def param_groups(model: nn.Module, pretrained: set[str], weight_decay: float,
                 l2sp: bool) -> list[dict]:
    """Two optimiser groups: [fresh, pretrained]. Pretrained layers under L2-SP get no
    weight decay: the penalty pulls them towards their start, decay would pull towards 0.
    Empty groups are kept so that group 1 always means the pretrained layers (the schedule
    gives each group its own rate); PyTorch accepts an empty parameter list."""
    fresh, old = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (old if name in pretrained else fresh).append(p)
    return [{"params": fresh, "weight_decay": weight_decay},
            {"params": old, "weight_decay": 0.0 if l2sp else weight_decay}]


def freeze_batchnorm(model: nn.Module) -> int:
    """Put every batch-norm layer in eval mode (running statistics used and kept); returns
    how many. Called after each `model.train()`. The affine weights still learn."""
    n = 0
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
            n += 1
    return n


class L2SP:
    """alpha/2 * sum over pretrained parameters of ||w - w0||^2 (w0: the starting weights),
    added to the loss. The reference is a detached copy made once."""

    def __init__(self, model: nn.Module, names: set[str], alpha: float) -> None:
        self.alpha = alpha
        self.pairs = [(p, p.detach().clone()) for n, p in model.named_parameters()
                      if n in names and p.requires_grad]

    def penalty(self) -> torch.Tensor | None:
        if not self.pairs or self.alpha <= 0:
            return None
        total = sum(((p.float() - w0.float()) ** 2).sum() for p, w0 in self.pairs)
        return 0.5 * self.alpha * total


class WeightAverage:
    """An exponential moving average of the weights (buffers copied as they are), kept in a
    copy of the network: the network a run validates and saves.

    torch.optim.swa_utils.AveragedModel does the same averaging; it is not used because it
    wraps the module (state-dict keys gain a `module.` prefix and an `n_averaged` buffer),
    which would leak into checkpoints and training states.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        import copy

        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        # Early on the average would be dominated by the start: a warm-up of the decay
        # (as timm's ModelEmaV3) gives the first steps their share.
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        ours = list(self.model.parameters())
        theirs = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(ours, theirs, 1.0 - d)
        for b_ours, b_theirs in zip(self.model.buffers(), model.buffers(), strict=True):
            b_ours.copy_(b_theirs)
