"""torchvision backbones, built without weights, optionally loaded from a local ImageNet file.

segstudio never downloads: "imagenet" means the file torchvision would have downloaded, already
in the torch hub cache (`torch.hub.get_dir()/checkpoints/`); anything else is a path to a
torchvision state_dict (`.pth`/`.pt`, or `.safetensors`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torchvision.models as tvm
from torch import nn

from segstudio.core.errors import PathError

# arch -> (constructor, weights enum member whose url/file name torchvision uses)
_TORCHVISION: dict[str, tuple[Callable[..., nn.Module], tvm.WeightsEnum]] = {
    "vgg16": (tvm.vgg16, tvm.VGG16_Weights.IMAGENET1K_V1),
    "vgg16_bn": (tvm.vgg16_bn, tvm.VGG16_BN_Weights.IMAGENET1K_V1),
    "resnet18": (tvm.resnet18, tvm.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (tvm.resnet34, tvm.ResNet34_Weights.IMAGENET1K_V1),
}

IMAGENET = "imagenet"


class BackboneWeightsError(PathError):
    """ImageNet backbone weights that are missing, unreadable, or for another network."""


def weights_url(arch: str) -> str:
    """Where torchvision publishes the ImageNet weights of `arch`."""
    return _TORCHVISION[arch][1].url


def hub_cache_path(arch: str) -> Path:
    """Where torchvision would cache the weights of `arch` (honours $TORCH_HOME)."""
    filename = weights_url(arch).rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def torchvision_backbone(arch: str, pretrained: str | Path | None = None) -> nn.Module:
    """The whole torchvision classifier `arch` (weights=None), with ImageNet weights if asked.

    Loading into the complete torchvision model (strict) proves the file is the right network
    before any layer is reused.
    """
    ctor, _ = _TORCHVISION[arch]
    model = ctor(weights=None)
    if pretrained is not None:
        path = _resolve(arch, pretrained)
        state = _read_state_dict(path)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise BackboneWeightsError(
                path, f"not a torchvision {arch} state_dict ({first})"
            ) from None
        # Marked on the parameters themselves (they survive being reused as an encoder's
        # layers), so that training can give pretrained layers their own rate.
        for p in model.parameters():
            p.segstudio_pretrained = True
    return model


def is_pretrained(param: nn.Parameter) -> bool:
    """Whether `param` came from ImageNet weights loaded by `torchvision_backbone`."""
    return bool(getattr(param, "segstudio_pretrained", False))


def _resolve(arch: str, pretrained: str | Path) -> Path:
    url = weights_url(arch)
    if str(pretrained).lower() == IMAGENET:
        path = hub_cache_path(arch)
        if not path.is_file():
            raise BackboneWeightsError(
                path,
                f"ImageNet weights for {arch} are not in the torch hub cache and segstudio "
                f"never downloads; on a machine with internet fetch {url} and copy it here "
                "(or pass the file's path instead of 'imagenet')",
            )
        return path
    path = Path(pretrained).expanduser()
    if not path.is_file():
        raise BackboneWeightsError(
            path, f"backbone weights file not found (the {arch} ImageNet weights are at {url})"
        )
    return path


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable / unpicklable / truncated file is the user's file
        raise BackboneWeightsError(
            path, f"cannot read backbone weights ({type(exc).__name__})"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BackboneWeightsError(path, "not a state_dict of tensors")
    return state
