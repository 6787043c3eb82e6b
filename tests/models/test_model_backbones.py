"""ImageNet backbone weights: local files and the torch hub cache, never a download.

The "ImageNet" files here are torchvision state_dicts saved in tmp (random weights, with the
1-D tensors randomised too so every tensor is recognisable)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torchvision.models as tvm
from safetensors.torch import save_file

from segstudio.models import BackboneWeightsError, build_model, list_models, model_info
from segstudio.models.backbones import hub_cache_path, weights_url

_CTORS = {
    "vgg16": tvm.vgg16,
    "vgg16_bn": tvm.vgg16_bn,
    "resnet18": tvm.resnet18,
    "resnet34": tvm.resnet34,
}
_HEADS = ("classifier.", "fc.")  # the ImageNet classifier; segmentation nets drop or reshape it


@pytest.fixture(scope="session")
def backbone_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """arch -> path of a saved torchvision state_dict (made once per session, on demand)."""
    folder = tmp_path_factory.mktemp("backbones")
    made: dict[str, Path] = {}

    def get(arch: str) -> Path:
        if arch not in made:
            torch.manual_seed(hash(arch) % 1000)
            state = _CTORS[arch](weights=None).state_dict()
            with torch.no_grad():
                for t in state.values():
                    if t.is_floating_point() and t.ndim == 1:
                        t.uniform_(0.5, 1.5)
            made[arch] = folder / f"{arch}.pth"
            torch.save(state, made[arch])
        return made[arch]

    return get


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("segstudio tried to download weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)


def _missing_backbone_tensors(model: torch.nn.Module, path: Path) -> list[str]:
    """Backbone tensors (outside the ImageNet head) whose values appear nowhere in the model."""
    state = torch.load(path, weights_only=True)
    by_numel: dict[int, list[torch.Tensor]] = {}
    for t in model.state_dict().values():
        by_numel.setdefault(t.numel(), []).append(t.flatten())
    missing = []
    for key, t in state.items():
        if key.startswith(_HEADS) or not t.is_floating_point():
            continue
        if not any(torch.equal(t.flatten(), m) for m in by_numel.get(t.numel(), [])):
            missing.append(key)
    return missing


def _vgg(name: str) -> bool:
    """VGG state_dicts are 530 MB each (the classifier): those cases are in the slow set."""
    return (model_info(name).backbone or "").startswith("vgg")


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if _vgg(n) else n for n in list_models()],
)
def test_imagenet_from_the_hub_cache(
    name: str,
    backbone_file: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    arch = model_info(name).backbone
    if arch is None:
        with pytest.raises(BackboneWeightsError, match="no ImageNet backbone"):
            build_model(name, 11, pretrained_backbone="imagenet")
        return
    cached = hub_cache_path(arch)
    assert cached.parent == tmp_path / "hub" / "checkpoints"
    assert cached.name == weights_url(arch).rsplit("/", 1)[-1]
    cached.parent.mkdir(parents=True)
    os.symlink(backbone_file(arch), cached)
    model = build_model(name, 11, pretrained_backbone="imagenet")
    assert _missing_backbone_tensors(model, cached) == []


def test_imagenet_missing_says_which_file_and_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(BackboneWeightsError) as exc:
        build_model("unet_resnet34", 11, pretrained_backbone="imagenet")
    message = str(exc.value)
    assert "\n" not in message
    assert str(tmp_path / "hub" / "checkpoints" / "resnet34-b627a593.pth") in message
    assert "https://download.pytorch.org/models/resnet34-b627a593.pth" in message
    assert exc.value.path == tmp_path / "hub" / "checkpoints" / "resnet34-b627a593.pth"


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_file(
    suffix: str, backbone_file: Callable[[str], Path], tmp_path: Path
) -> None:
    path = backbone_file("resnet18")
    if suffix == ".safetensors":
        converted = tmp_path / "resnet18.safetensors"
        save_file(torch.load(path, weights_only=True), str(converted))
        path = converted
    model = build_model("linknet", 11, pretrained_backbone=path)
    assert _missing_backbone_tensors(model, backbone_file("resnet18")) == []
    # A plain string path works as well as a Path.
    again = build_model("linknet", 11, pretrained_backbone=str(path))
    assert torch.equal(again.encoder.conv1.weight, model.encoder.conv1.weight)


@pytest.mark.slow
def test_fcn_convolutionalizes_the_imagenet_classifier(
    backbone_file: Callable[[str], Path],
) -> None:
    path = backbone_file("vgg16")
    state = torch.load(path, weights_only=True)
    model = build_model("fcn8s", 11, pretrained_backbone=path)
    assert torch.equal(model.fc6.weight.flatten(1), state["classifier.0.weight"])
    assert torch.equal(model.fc7.weight.flatten(1), state["classifier.3.weight"])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BackboneWeightsError, match="not found") as exc:
        build_model("linknet", 11, pretrained_backbone=tmp_path / "nope.pth")
    assert "resnet18-f37072fd.pth" in str(exc.value)  # says where to get it


def test_weights_of_another_network(backbone_file: Callable[[str], Path]) -> None:
    with pytest.raises(BackboneWeightsError, match="not a torchvision resnet34 state_dict"):
        build_model("unet_resnet34", 11, pretrained_backbone=backbone_file("resnet18"))


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04broken"])
def test_unreadable_file(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(BackboneWeightsError, match="cannot read") as exc:
        build_model("linknet", 11, pretrained_backbone=path)
    assert exc.value.path == path and "\n" not in str(exc.value)


def test_pickled_objects_are_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"model": torch.nn.Linear(2, 2)}, path)  # needs unpickling a class
    with pytest.raises(BackboneWeightsError):
        build_model("linknet", 11, pretrained_backbone=path)
