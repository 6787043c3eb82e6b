"""FCN-32s/16s/8s (Long, Shelhamer, Darrell, "Fully Convolutional Networks for Semantic
Segmentation", CVPR 2015) on torchvision's VGG16.

Kept from the paper: fc6/fc7 become 7x7 and 1x1 convolutions with 4096 channels and dropout
(ImageNet fc weights are reshaped into them), zero-initialised score layers, skip fusion from
pool4 (16s) and pool3 (8s), intermediate 2x upsampling learned from a bilinear start, final
upsampling fixed to bilinear. Not kept: Caffe's 100-pixel padding of conv1_1 and the crop
layers; the input is padded to a multiple of 32 instead and fc6 pads by 3, which aligns every
score map exactly and is cheaper.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import torchvision_backbone
from .info import IMAGENET_MEAN, IMAGENET_STD, ModelInfo
from .layers import bilinear_kernel, pad_to_multiple

PAPER = "Long et al., Fully Convolutional Networks for Semantic Segmentation, CVPR 2015"

# Indices into torchvision vgg16().features: pool3 ends at 17, pool4 at 24, pool5 at 31.
_POOL3, _POOL4 = 17, 24


def _info(stride: int) -> ModelInfo:
    return ModelInfo(
        name=f"fcn{stride}s",
        title=f"FCN-{stride}s (VGG16)",
        paper=PAPER,
        output_stride=32,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        backbone="vgg16",
        expected_params=(130_000_000, 138_100_000),  # about 134 M, within 3%
    )


INFO = {s: _info(s) for s in (32, 16, 8)}


class FixedBilinearUp(nn.Module):
    """Per-class bilinear upsampling by `factor`, not learned (the paper fixes the last one).

    The kernel is rebuilt on each call (4 K floats, negligible) instead of held in a buffer, so
    the state_dict is exactly the learned weights and a model built on the meta device is
    complete after `load_state_dict(..., assign=True)`.
    """

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.channels, self.factor = channels, factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = bilinear_kernel(1, 2 * self.factor).to(x)
        weight = kernel.expand(self.channels, 1, -1, -1)
        return F.conv_transpose2d(
            x, weight, stride=self.factor, padding=self.factor // 2, groups=self.channels
        )


def _convolutionalize(fc: nn.Linear, cin: int, kernel: int) -> nn.Conv2d:
    """The conv computing `fc` at every position (same weights, viewed as cout x cin x k x k)."""
    conv = nn.Conv2d(cin, fc.out_features, kernel, padding=kernel // 2, device="meta")
    conv.weight = nn.Parameter(fc.weight.detach().view(fc.out_features, cin, kernel, kernel))
    conv.bias = nn.Parameter(fc.bias.detach())
    return conv


def _learned_up(channels: int) -> nn.ConvTranspose2d:
    up = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False)
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(channels, 4))
    return up


def _score(cin: int, num_classes: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, num_classes, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class FCN(nn.Module):
    """VGG16-FCN predicting at stride 32, 16 or 8."""

    # Measured on CPU: its big fc6/fc7 convolutions on small maps are ~15% slower in NHWC, so
    # FCN stays NCHW (in eager and in the fast path), unlike the other networks.
    prefers_channels_last = False

    def __init__(
        self, num_classes: int, stride: int = 8, pretrained_backbone: str | Path | None = None
    ) -> None:
        super().__init__()
        if stride not in INFO:
            raise ValueError(f"FCN stride must be 32, 16 or 8, not {stride}")
        self.info = INFO[stride]
        self.stride = stride
        vgg = torchvision_backbone("vgg16", pretrained_backbone)
        self.features = vgg.features
        # fc6/fc7 are VGG's classifier "convolutionalized" (the paper's key step): with ImageNet
        # weights they carry them over, without they inherit torchvision's fc initialisation.
        self.fc6 = _convolutionalize(vgg.classifier[0], 512, 7)
        self.fc7 = _convolutionalize(vgg.classifier[3], 4096, 1)
        self.drop6 = nn.Dropout(0.5)
        self.drop7 = nn.Dropout(0.5)
        self.score_fr = _score(4096, num_classes)
        if stride <= 16:
            self.score_pool4 = _score(512, num_classes)
            self.upscore2 = _learned_up(num_classes)
        if stride == 8:
            self.score_pool3 = _score(256, num_classes)
            self.upscore_pool4 = _learned_up(num_classes)
        self.upscore = FixedBilinearUp(num_classes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = pad_to_multiple(x, 32)
        pool3 = self.features[:_POOL3](x)
        pool4 = self.features[_POOL3:_POOL4](pool3)
        pool5 = self.features[_POOL4:](pool4)
        y = self.drop6(F.relu(self.fc6(pool5), inplace=True))
        y = self.drop7(F.relu(self.fc7(y), inplace=True))
        score = self.score_fr(y)
        if self.stride <= 16:
            score = self.upscore2(score) + self.score_pool4(pool4)
        if self.stride == 8:
            score = self.upscore_pool4(score) + self.score_pool3(pool3)
        return self.upscore(score)[..., :h, :w].contiguous()


def build_fcn(stride: int) -> Callable[..., FCN]:
    def build(num_classes: int, pretrained_backbone: str | Path | None = None) -> FCN:
        return FCN(num_classes, stride, pretrained_backbone)

    return build
