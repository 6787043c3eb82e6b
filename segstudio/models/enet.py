"""ENet (Paszke, Chaurasia, Kim, Culurciello, "ENet: A Deep Neural Network Architecture for
Real-Time Semantic Segmentation", 2016), as in the paper's Table 1 and the authors' Torch code.

Initial block: 3x3 stride-2 conv (13 channels) concatenated with a 2x2 max-pool of the input.
Bottleneck: 1x1 projection to a quarter of the output channels (2x2 stride 2 when
downsampling), main convolution (3x3, dilated 3x3, asymmetric 5x1 + 1x5, or 3x3 stride-2
full-conv when upsampling), 1x1 expansion, spatial dropout, added to the main branch, PReLU.
Downsampling main branch: max-pool (indices kept) and zero channels; upsampling main branch:
1x1 conv + BN and max-unpooling with the indices of the matching downsampling bottleneck.
No ImageNet backbone: ENet is trained from scratch.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import BackboneWeightsError
from .info import IMAGENET_MEAN, IMAGENET_STD, ModelInfo
from .layers import cpu_channels_last, pad_to_multiple

INFO = ModelInfo(
    name="enet",
    title="ENet",
    paper="Paszke et al., ENet: A Deep Neural Network Architecture for Real-Time Semantic "
    "Segmentation, arXiv:1606.02147, 2016",
    output_stride=8,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    backbone=None,
    expected_params=(350_000, 370_000),
)

_EPS = 1e-3  # the authors' batch-norm epsilon


def _bn_prelu(c: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(c, eps=_EPS), nn.PReLU(c)]


class InitialBlock(nn.Module):
    def __init__(self, cout: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, cout - 3, 3, stride=2, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2, 2)
        self.act = nn.Sequential(*_bn_prelu(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(torch.cat([self.conv(x), self.pool(x)], dim=1))


class Bottleneck(nn.Module):
    """Regular / dilated / asymmetric bottleneck with an identity main branch."""

    def __init__(
        self, c: int, *, dilation: int = 1, asymmetric: bool = False, dropout: float = 0.1
    ) -> None:
        super().__init__()
        inner = c // 4
        if asymmetric:
            main: list[nn.Module] = [
                nn.Conv2d(inner, inner, (5, 1), padding=(2, 0), bias=False),
                nn.Conv2d(inner, inner, (1, 5), padding=(0, 2), bias=False),
            ]
        else:
            main = [nn.Conv2d(inner, inner, 3, padding=dilation, dilation=dilation, bias=False)]
        self.ext = nn.Sequential(
            nn.Conv2d(c, inner, 1, bias=False),
            *_bn_prelu(inner),
            *main,
            *_bn_prelu(inner),
            nn.Conv2d(inner, c, 1, bias=False),
            nn.BatchNorm2d(c, eps=_EPS),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.ext(x))


class DownBottleneck(nn.Module):
    """Halves the resolution; returns the max-pool indices for the decoder's unpooling."""

    def __init__(self, cin: int, cout: int, dropout: float) -> None:
        super().__init__()
        inner = cout // 4
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.extra = cout - cin
        self.ext = nn.Sequential(
            nn.Conv2d(cin, inner, 2, stride=2, bias=False),
            *_bn_prelu(inner),
            nn.Conv2d(inner, inner, 3, padding=1, bias=False),
            *_bn_prelu(inner),
            nn.Conv2d(inner, cout, 1, bias=False),
            nn.BatchNorm2d(cout, eps=_EPS),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        main, indices = self.pool(x)
        main = F.pad(main, (0, 0, 0, 0, 0, self.extra))  # zero feature maps up to cout
        return self.act(main + self.ext(x)), indices


class UpBottleneck(nn.Module):
    """Doubles the resolution, unpooling the main branch with a downsampling block's indices."""

    def __init__(self, cin: int, cout: int, dropout: float) -> None:
        super().__init__()
        inner = cout // 4
        self.main = nn.Sequential(
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=_EPS)
        )
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.ext = nn.Sequential(
            nn.Conv2d(cin, inner, 1, bias=False),
            *_bn_prelu(inner),
            nn.ConvTranspose2d(inner, inner, 3, stride=2, padding=1, output_padding=1, bias=False),
            *_bn_prelu(inner),
            nn.Conv2d(inner, cout, 1, bias=False),
            nn.BatchNorm2d(cout, eps=_EPS),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU(cout)

    def forward(self, x: torch.Tensor, indices: torch.Tensor, size: torch.Size) -> torch.Tensor:
        main = self.unpool(self.main(x), indices, output_size=size)
        return self.act(main + self.ext(x))


def _stage_2_or_3(c: int = 128) -> nn.Sequential:
    return nn.Sequential(
        Bottleneck(c),
        Bottleneck(c, dilation=2),
        Bottleneck(c, asymmetric=True),
        Bottleneck(c, dilation=4),
        Bottleneck(c),
        Bottleneck(c, dilation=8),
        Bottleneck(c, asymmetric=True),
        Bottleneck(c, dilation=16),
    )


class ENet(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.info = INFO
        self.initial = InitialBlock(16)
        self.down1 = DownBottleneck(16, 64, dropout=0.01)
        self.stage1 = nn.Sequential(*(Bottleneck(64, dropout=0.01) for _ in range(4)))
        self.down2 = DownBottleneck(64, 128, dropout=0.1)
        self.stage2 = _stage_2_or_3()
        self.stage3 = _stage_2_or_3()
        self.up4 = UpBottleneck(128, 64, dropout=0.1)
        self.stage4 = nn.Sequential(Bottleneck(64), Bottleneck(64))
        self.up5 = UpBottleneck(64, 16, dropout=0.1)
        self.stage5 = Bottleneck(16)
        self.fullconv = nn.ConvTranspose2d(16, num_classes, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = pad_to_multiple(cpu_channels_last(x), 8)
        y = self.initial(x)
        size1 = y.shape[-2:]
        y, idx1 = self.down1(y)
        y = self.stage1(y)
        size2 = y.shape[-2:]
        y, idx2 = self.down2(y)
        y = self.stage3(self.stage2(y))
        y = self.stage4(self.up4(y, idx2, size2))
        y = self.stage5(self.up5(y, idx1, size1))
        return self.fullconv(y)[..., :h, :w].contiguous()


def build_enet(num_classes: int, pretrained_backbone: str | Path | None = None) -> ENet:
    if pretrained_backbone is not None:
        raise BackboneWeightsError(
            pretrained_backbone,
            "enet has no ImageNet backbone (the paper trains it from scratch); "
            "leave pretrained_backbone empty or start from a segstudio checkpoint",
        )
    return ENet(num_classes)
