"""One suite over every registered architecture: a newly registered model is tested here with
no new code. Each model is built once per module (module-scoped fixture) to keep the big FCNs
cheap; tests that change its mode or gradients put them back."""

from __future__ import annotations

import dataclasses

import pytest
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from segstudio.core.errors import SegstudioError
from segstudio.models import (
    ModelError,
    UnknownModelError,
    build_model,
    list_models,
    model_info,
    optimize_for_inference,
)

# The parameter bounds of the issue are stated for 11 classes (CamVid).
NUM_CLASSES = 11


def _randomise_zero_params(model: torch.nn.Module) -> None:
    """FCN zero-initialises its score layers (as in the paper), which would make every output 0
    and every upstream gradient 0; small random values make the checks below meaningful."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.01)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial eval statistics
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


def _heavy(name: str) -> bool:
    """The 134 M-parameter FCNs take seconds per test on 2 cores: in the slow set (CI runs it)."""
    bounds = model_info(name).expected_params
    return bounds is not None and bounds[0] > 100_000_000


@pytest.fixture(
    scope="module",
    params=[pytest.param(n, marks=pytest.mark.slow) if _heavy(n) else n for n in list_models()],
)
def built(request: pytest.FixtureRequest) -> tuple[str, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(request.param, NUM_CLASSES)
    _randomise_zero_params(model)
    model.eval()
    return request.param, model


def test_list_models_is_exactly_the_seven() -> None:
    assert list_models() == [
        "fcn32s",
        "fcn16s",
        "fcn8s",
        "segnet",
        "unet_resnet34",
        "linknet",
        "enet",
    ]


def test_unknown_model_names_the_valid_ones() -> None:
    with pytest.raises(UnknownModelError) as exc:
        build_model("deeplab", 3)
    assert isinstance(exc.value, SegstudioError)
    message = str(exc.value)
    assert "deeplab" in message and "\n" not in message
    assert all(name in message for name in list_models())
    with pytest.raises(UnknownModelError):
        model_info("fcn4s")


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_class_count_is_a_user_error(bad: object) -> None:
    with pytest.raises(ModelError, match="number of classes"):
        build_model("enet", bad)  # type: ignore[arg-type]


def test_info_matches_the_built_model(built: tuple[str, torch.nn.Module]) -> None:
    name, model = built
    info = model_info(name)
    assert model.info == info and info.name == name
    assert info.paper and info.title
    assert info.output_stride in (8, 16, 32)
    assert len(info.mean) == 3 and len(info.std) == 3 and min(info.std) > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "other"  # type: ignore[misc]


def test_parameter_count_within_the_papers_bounds(built: tuple[str, torch.nn.Module]) -> None:
    name, model = built
    counted = sum(p.numel() for p in model.parameters())
    low, high = model_info(name).expected_params
    assert low <= counted <= high, f"{name}: {counted:,} parameters, expected {low:,}..{high:,}"


@pytest.mark.parametrize("size", [(97, 131), (32, 32), (360, 480)])
def test_output_shape_at_any_size(
    built: tuple[str, torch.nn.Module], size: tuple[int, int]
) -> None:
    _, model = built
    batch = 2 if size != (360, 480) else 1
    with torch.inference_mode():
        y = model(torch.randn(batch, 3, *size))
    assert y.shape == (batch, NUM_CLASSES, *size)
    assert y.dtype == torch.float32 and torch.isfinite(y).all()
    assert y.is_contiguous()  # plain NCHW logits whatever layout the network uses inside


@settings(max_examples=4, deadline=None)
@given(h=st.integers(32, 99), w=st.integers(32, 99))
def test_any_size_from_32(built: tuple[str, torch.nn.Module], h: int, w: int) -> None:
    _, model = built
    with torch.inference_mode():
        assert model(torch.randn(1, 3, h, w)).shape == (1, NUM_CLASSES, h, w)


def test_backward_reaches_every_trainable_parameter(built: tuple[str, torch.nn.Module]) -> None:
    name, model = built
    model.train()
    try:
        torch.manual_seed(0)
        x = torch.randn(2, 3, 64, 96)
        target = torch.randint(0, NUM_CLASSES, (2, 64, 96))
        loss = torch.nn.functional.cross_entropy(model(x), target)
        loss.backward()
        for pname, p in model.named_parameters():
            if not p.requires_grad:
                continue
            assert p.grad is not None, f"{name}.{pname} gets no gradient (unused layer?)"
            assert torch.isfinite(p.grad).all(), f"{name}.{pname} has a non-finite gradient"
            assert p.grad.abs().sum() > 0, f"{name}.{pname} has an all-zero gradient"
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()


def test_eval_is_deterministic(built: tuple[str, torch.nn.Module]) -> None:
    _, model = built
    x = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        a, b = model(x), model(x)
    assert torch.equal(a, b)
    assert a.std() > 0  # not a constant map, or the check above would prove nothing


def test_state_dict_round_trip_through_safetensors(built: tuple[str, torch.nn.Module]) -> None:
    name, model = built
    # Checkpoints are safetensors, which refuses shared or non-contiguous tensors.
    data = safetensors.torch.save(model.state_dict())
    # Built on the meta device, `assign` must supply every tensor the forward needs: anything
    # the state_dict missed would still be on "meta" and fail below.
    with torch.device("meta"):
        other = build_model(name, NUM_CLASSES)
    other.load_state_dict(safetensors.torch.load(data), assign=True)
    other.eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        assert torch.equal(model(x), other(x))


def test_torch_export_matches_eager(built: tuple[str, torch.nn.Module]) -> None:
    _, model = built
    x = torch.randn(1, 3, 64, 96)
    exported = torch.export.export(model, (x,)).module()
    with torch.inference_mode():
        expected = model(x)
        got = exported(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_fast_inference_path_matches_eager(built: tuple[str, torch.nn.Module]) -> None:
    _, model = built
    before = {k: v.clone() for k, v in list(model.state_dict().items())[:4]}
    fast = optimize_for_inference(model)
    assert fast.info == model.info
    kinds = [type(m) for m in fast.modules()]
    # Every BN follows a convolution except ENet's initial one (after a concat with a max-pool).
    assert kinds.count(torch.nn.BatchNorm2d) <= 1
    assert torch.nn.Dropout not in kinds and torch.nn.Dropout2d not in kinds
    x = torch.randn(1, 3, 97, 131)
    with torch.inference_mode():
        expected = model(x)
        got = fast(x)
    assert got.shape == expected.shape and got.is_contiguous()
    # Folding reorders float sums, so a near-tie in a max-pool can pick the other pixel and the
    # unpooling decoders (SegNet, ENet) then differ locally: allow such rare flips, nothing more.
    tol = 1e-4 * max(1.0, expected.abs().max().item())
    off = (got - expected).abs() > tol + 1e-3 * expected.abs()
    assert off.float().mean() < 0.01, f"{off.float().mean():.2%} of logits differ"
    agree = (got.argmax(1) == expected.argmax(1)).float().mean()
    assert agree > 0.99, f"only {agree:.2%} of pixels get the same class"
    # The original is untouched: still has its batch norms and weights.
    for k, v in before.items():
        assert torch.equal(model.state_dict()[k], v)


# Max-unpooling with the encoder's indices (not plain upsampling) is what the SegNet and ENet
# papers specify; a model missing here must not unpool at all.
UNPOOLINGS = {"segnet": 5, "enet": 2}


def test_max_unpooling_as_in_the_paper(built: tuple[str, torch.nn.Module]) -> None:
    name, model = built
    calls = []

    def record(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> None:
        calls.append(args[1].dtype)  # the indices argument

    hooks = [
        m.register_forward_hook(record)
        for m in model.modules()
        if isinstance(m, torch.nn.MaxUnpool2d)
    ]
    try:
        with torch.inference_mode():
            model(torch.randn(1, 3, 64, 96))
    finally:
        for h in hooks:
            h.remove()
    assert len(calls) == UNPOOLINGS.get(name, 0)
    assert all(dtype == torch.int64 for dtype in calls)
