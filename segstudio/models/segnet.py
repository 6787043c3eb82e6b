"""SegNet (Badrinarayanan, Kendall, Cipolla, "SegNet: A Deep Convolutional Encoder-Decoder
Architecture for Image Segmentation", TPAMI 2017).

Encoder: the 13 convolutions of VGG16-BN (torchvision's `vgg16_bn().features`, so ImageNet
weights load directly). Decoder: the mirror image, 13 conv-BN-ReLU layers, each stage starting
with max-unpooling driven by the pooling indices its encoder stage recorded; the last
convolution outputs the class scores (no BN/ReLU), as in the paper's softmax classifier input.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
from torch import nn

from .backbones import torchvision_backbone
from .info import IMAGENET_MEAN, IMAGENET_STD, ModelInfo
from .layers import conv_bn_relu, cpu_channels_last, pad_to_multiple

INFO = ModelInfo(
    name="segnet",
    title="SegNet (VGG16-BN)",
    paper="Badrinarayanan et al., SegNet: A Deep Convolutional Encoder-Decoder Architecture "
    "for Image Segmentation, TPAMI 2017",
    output_stride=32,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    backbone="vgg16_bn",
    expected_params=(28_518_000, 30_282_000),  # 29.4 M within 3%
)

# Decoder stages, deepest first: channel sequence of each stage's convolutions (mirror of VGG16).
_DECODER = (
    (512, 512, 512, 512),
    (512, 512, 512, 256),
    (256, 256, 256, 128),
    (128, 128, 64),
    (64, 64),
)


class SegNet(nn.Module):
    def __init__(self, num_classes: int, pretrained_backbone: str | Path | None = None) -> None:
        super().__init__()
        self.info = INFO
        self.encoder = torchvision_backbone("vgg16_bn", pretrained_backbone).features
        for layer in self.encoder:
            if isinstance(layer, nn.MaxPool2d):
                layer.return_indices = True
        self.unpool = nn.MaxUnpool2d(2, 2)
        stages = []
        for i, chans in enumerate(_DECODER):
            layers: list[nn.Module] = [
                conv_bn_relu(cin, cout) for cin, cout in itertools.pairwise(chans)
            ]
            if i == len(_DECODER) - 1:
                layers.append(nn.Conv2d(chans[-1], num_classes, 3, padding=1))
            stages.append(nn.Sequential(*layers))
        self.decoder = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = pad_to_multiple(cpu_channels_last(x), 32)
        pooled = []  # (indices, size before pooling) per stage, for the decoder's unpooling
        for layer in self.encoder:
            if isinstance(layer, nn.MaxPool2d):
                size = x.shape[-2:]
                x, idx = layer(x)
                pooled.append((idx, size))
            else:
                x = layer(x)
        for stage, (idx, size) in zip(self.decoder, reversed(pooled), strict=True):
            x = stage(self.unpool(x, idx, output_size=size))
        return x[..., :h, :w].contiguous()


def build_segnet(num_classes: int, pretrained_backbone: str | Path | None = None) -> SegNet:
    return SegNet(num_classes, pretrained_backbone)
