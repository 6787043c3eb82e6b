"""LinkNet (Chaurasia & Culurciello, "LinkNet: Exploiting Encoder Representations for Efficient
Semantic Segmentation", VCIP 2017) on torchvision's ResNet18.

Decoder block (m -> n): 1x1 conv m -> m/4, 3x3 full (transposed) convolution, 1x1 conv -> n,
each with BN + ReLU; its output is added to the input of the matching encoder block. Final
block: 3x3 full-conv (64 -> 32), 3x3 conv (32 -> 32), 2x2 full-conv (32 -> classes).

torchvision's ResNet18 `layer1` keeps the resolution (the paper's encoder block 1 halves it), so
decoder block 1 keeps it too: its full-conv has stride 1 and the other three stride 2. The
transposed convolutions are told the skip's size, so any input size works without padding.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .info import IMAGENET_MEAN, IMAGENET_STD, ModelInfo
from .layers import cpu_channels_last
from .resnet_encoder import ResNetEncoder

INFO = ModelInfo(
    name="linknet",
    title="LinkNet (ResNet18)",
    paper="Chaurasia & Culurciello, LinkNet: Exploiting Encoder Representations for "
    "Efficient Semantic Segmentation, VCIP 2017",
    output_stride=32,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    backbone="resnet18",
    expected_params=(11_155_000, 11_845_000),  # 11.5 M within 3%
)


def _bn_relu(c: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]


class DecoderBlock(nn.Module):
    # The full-conv needs the skip's size, so it cannot sit in a Sequential with its BN.
    FUSE_PAIRS = (("full", "full_act.0"),)

    def __init__(self, m: int, n: int, stride: int) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(m, m // 4, 1, bias=False), *_bn_relu(m // 4))
        self.full = nn.ConvTranspose2d(
            m // 4, m // 4, 3, stride=stride, padding=1, output_padding=stride - 1, bias=False
        )
        self.full_act = nn.Sequential(*_bn_relu(m // 4))
        self.expand = nn.Sequential(nn.Conv2d(m // 4, n, 1, bias=False), *_bn_relu(n))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        y = self.full(self.reduce(x), output_size=skip.shape[-2:])
        return self.expand(self.full_act(y)) + skip


class LinkNet(nn.Module):
    FUSE_PAIRS = (("final_full1", "final_act1.0"),)

    def __init__(self, num_classes: int, pretrained_backbone: str | Path | None = None) -> None:
        super().__init__()
        self.info = INFO
        self.encoder = ResNetEncoder("resnet18", pretrained_backbone)
        self.decoder4 = DecoderBlock(512, 256, 2)
        self.decoder3 = DecoderBlock(256, 128, 2)
        self.decoder2 = DecoderBlock(128, 64, 2)
        self.decoder1 = DecoderBlock(64, 64, 1)
        self.final_full1 = nn.ConvTranspose2d(
            64, 32, 3, stride=2, padding=1, output_padding=1, bias=False
        )
        self.final_act1 = nn.Sequential(*_bn_relu(32))
        self.final_conv = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, bias=False), *_bn_relu(32))
        self.final_full2 = nn.ConvTranspose2d(32, num_classes, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = cpu_channels_last(x)
        enc = self.encoder
        s1 = enc.relu(enc.bn1(enc.conv1(x)))
        s2 = enc.maxpool(s1)
        e1 = enc.layer1(s2)
        e2 = enc.layer2(e1)
        e3 = enc.layer3(e2)
        e4 = enc.layer4(e3)
        d = self.decoder4(e4, e3)
        d = self.decoder3(d, e2)
        d = self.decoder2(d, e1)
        d = self.decoder1(d, s2)
        y = self.final_act1(self.final_full1(d, output_size=s1.shape[-2:]))
        y = self.final_full2(self.final_conv(y))
        # The 2x2 full-conv can only double: odd sides come out one pixel long.
        return y[..., :h, :w].contiguous()


def build_linknet(num_classes: int, pretrained_backbone: str | Path | None = None) -> LinkNet:
    return LinkNet(num_classes, pretrained_backbone)
