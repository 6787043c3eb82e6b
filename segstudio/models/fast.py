"""A faster, inference-only equivalent of a built model, for the predictor.

Shape-agnostic eager PyTorch, so it works for any input size with no tracing or warm-up:
batch norms are folded into the convolution before them, dropout is dropped, and weights and
activations use channels-last memory (oneDNN's preferred layout on CPU; also fine on GPU).
"""

from __future__ import annotations

import copy
import itertools

import torch
import torchvision.models.resnet as tv_resnet
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

# Conv -> BN pairs outside nn.Sequential, by class: (conv attribute, BN attribute path).
# Sequential children are found automatically; a module may declare FUSE_PAIRS itself.
_KNOWN_PAIRS: dict[type, tuple[tuple[str, str], ...]] = {
    tv_resnet.BasicBlock: (("conv1", "bn1"), ("conv2", "bn2")),
    tv_resnet.Bottleneck: (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")),
}
_CONVS = (nn.Conv2d, nn.ConvTranspose2d)


class InferenceModel(nn.Module):
    """Wraps the folded copy: channels-last in, contiguous logits out, `.info` kept."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.info = getattr(inner, "info", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x.contiguous(memory_format=torch.channels_last))
        return y.contiguous()


def optimize_for_inference(model: nn.Module, *, channels_last: bool = True) -> nn.Module:
    """An eval-mode copy of `model` that computes the same logits faster (within float error).

    The original is left untouched (and keeps training normally). The copy is for inference
    only: its batch norms are gone, so training it would not be the same network.
    `channels_last=False` keeps NCHW (e.g. for MPS); a model whose class sets
    `prefers_channels_last = False` (FCN) is kept NCHW anyway.
    """
    fast = copy.deepcopy(model).eval()
    with torch.no_grad():
        fold_batchnorms(fast)
        _drop_dropout(fast)
    if not (channels_last and getattr(model, "prefers_channels_last", True)):
        return fast
    fast = fast.to(memory_format=torch.channels_last)
    return InferenceModel(fast).eval()


def fold_batchnorms(model: nn.Module) -> int:
    """Fold every eval-mode BatchNorm2d that directly follows a convolution into it; count them."""
    folded = 0
    for module in list(model.modules()):
        pairs = list(_KNOWN_PAIRS.get(type(module), ())) + list(getattr(module, "FUSE_PAIRS", ()))
        for conv_name, bn_name in pairs:
            folded += _fold(module, conv_name, bn_name)
        if isinstance(module, nn.Sequential):
            names = list(module._modules)
            for a, b in itertools.pairwise(names):
                folded += _fold(module, a, b)
    return folded


def _fold(parent: nn.Module, conv_name: str, bn_name: str) -> int:
    conv = parent.get_submodule(conv_name)
    bn = parent.get_submodule(bn_name)
    if not isinstance(conv, _CONVS) or type(bn) is not nn.BatchNorm2d or bn.training:
        return 0
    if conv.out_channels != bn.num_features:
        return 0
    fused = fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, nn.ConvTranspose2d))
    parent.set_submodule(conv_name, fused)
    parent.set_submodule(bn_name, nn.Identity())
    return 1


def _drop_dropout(model: nn.Module) -> None:
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Dropout | nn.Dropout2d) and name:
            model.set_submodule(name, nn.Identity())
