"""A torchvision ResNet without its classifier, returning the feature map of every stride."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .backbones import torchvision_backbone


class ResNetEncoder(nn.Module):
    """Features at strides 2, 4, 8, 16, 32 (64, 64, 128, 256, 512 channels for resnet18/34).

    Attribute names match torchvision's, so `encoder.<name>` mirrors the backbone state_dict.
    """

    channels = (64, 64, 128, 256, 512)

    def __init__(self, arch: str, pretrained_backbone: str | Path | None = None) -> None:
        super().__init__()
        net = torchvision_backbone(arch, pretrained_backbone)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = (
            net.layer1,
            net.layer2,
            net.layer3,
            net.layer4,
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f1 = self.relu(self.bn1(self.conv1(x)))
        f2 = self.layer1(self.maxpool(f1))
        f3 = self.layer2(f2)
        f4 = self.layer3(f3)
        f5 = self.layer4(f4)
        return [f1, f2, f3, f4, f5]
