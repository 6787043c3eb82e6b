"""U-Net (Ronneberger, Fischer, Brox, MICCAI 2015) with a ResNet34 encoder, in the widely used
configuration of segmentation_models_pytorch: five decoder blocks of 256, 128, 64, 32, 16
channels, each upsampling 2x (nearest), concatenating the encoder skip of that stride (none for
the last), then two 3x3 conv-BN-ReLU; a 3x3 convolution gives the class scores.

Upsampling goes to the skip's exact size, so any input size works without padding (odd sizes
round up on the way down and are matched on the way up).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .info import IMAGENET_MEAN, IMAGENET_STD, ModelInfo
from .layers import conv_bn_relu, cpu_channels_last
from .resnet_encoder import ResNetEncoder

INFO = ModelInfo(
    name="unet_resnet34",
    title="U-Net (ResNet34)",
    paper="Ronneberger et al., U-Net: Convolutional Networks for Biomedical Image "
    "Segmentation, MICCAI 2015",
    output_stride=32,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    backbone="resnet34",
    expected_params=(23_668_000, 25_132_000),  # 24.4 M within 3%
)

DECODER_CHANNELS = (256, 128, 64, 32, 16)


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu(cin + cskip, cout)
        self.conv2 = conv_bn_relu(cout, cout)

    def forward(
        self, x: torch.Tensor, size: tuple[int, int], skip: torch.Tensor | None
    ) -> torch.Tensor:
        x = F.interpolate(x, size=size, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class UNetResNet34(nn.Module):
    def __init__(self, num_classes: int, pretrained_backbone: str | Path | None = None) -> None:
        super().__init__()
        self.info = INFO
        self.encoder = ResNetEncoder("resnet34", pretrained_backbone)
        enc = ResNetEncoder.channels
        ins = (enc[4], *DECODER_CHANNELS[:-1])
        skips = (enc[3], enc[2], enc[1], enc[0], 0)
        self.decoder = nn.ModuleList(
            DecoderBlock(i, s, o) for i, s, o in zip(ins, skips, DECODER_CHANNELS, strict=True)
        )
        self.head = nn.Conv2d(DECODER_CHANNELS[-1], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = cpu_channels_last(x)
        feats = self.encoder(x)
        skips: list[torch.Tensor | None] = [feats[3], feats[2], feats[1], feats[0], None]
        sizes = [f.shape[-2:] for f in (feats[3], feats[2], feats[1], feats[0], x)]
        y = feats[4]
        for block, size, skip in zip(self.decoder, sizes, skips, strict=True):
            y = block(y, size, skip)
        return self.head(y).contiguous()


def build_unet_resnet34(
    num_classes: int, pretrained_backbone: str | Path | None = None
) -> UNetResNet34:
    return UNetResNet34(num_classes, pretrained_backbone)
