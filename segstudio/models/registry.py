"""Name -> architecture: the one place a new model is registered (the tests pick it up)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from segstudio.core.errors import SegstudioError

from . import enet, fcn, linknet, segnet, unet
from .info import ModelInfo

Builder = Callable[..., nn.Module]


class ModelError(SegstudioError):
    """A model that cannot be built as asked (unknown name, bad class count)."""


class UnknownModelError(ModelError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown model {name!r}; choose one of: {', '.join(list_models())}")


# Insertion order is the order the app lists them in.
_REGISTRY: dict[str, tuple[ModelInfo, Builder]] = {
    "fcn32s": (fcn.INFO[32], fcn.build_fcn(32)),
    "fcn16s": (fcn.INFO[16], fcn.build_fcn(16)),
    "fcn8s": (fcn.INFO[8], fcn.build_fcn(8)),
    "segnet": (segnet.INFO, segnet.build_segnet),
    "unet_resnet34": (unet.INFO, unet.build_unet_resnet34),
    "linknet": (linknet.INFO, linknet.build_linknet),
    "enet": (enet.INFO, enet.build_enet),
}


def list_models() -> list[str]:
    """Names accepted by `build_model`, in display order."""
    return list(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    """Metadata of `name`, without building the network."""
    try:
        return _REGISTRY[name][0]
    except KeyError:
        raise UnknownModelError(name) from None


def build_model(
    name: str, num_classes: int, *, pretrained_backbone: str | Path | None = None
) -> nn.Module:
    """A freshly initialised `name` for `num_classes` classes (train mode, CPU, float32).

    `pretrained_backbone`: None, "imagenet" (the torch hub cache; never downloads), or a path to
    a torchvision backbone state_dict. Raises `BackboneWeightsError` when that cannot be used.
    """
    model_info(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ModelError(
            f"{name}: the number of classes must be a positive integer, not {num_classes!r}"
        )
    return _REGISTRY[name][1](num_classes, pretrained_backbone=pretrained_backbone)
