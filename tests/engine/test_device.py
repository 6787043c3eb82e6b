import pytest
import torch

from segstudio.engine.device import (
    DeviceError,
    device_name,
    execution_policy,
    inference_context,
    select_device,
)


def _avail(cuda: bool, mps: bool, count: int = 1) -> dict:
    return {"cuda_available": lambda: cuda, "mps_available": lambda: mps,
            "cuda_count": lambda: count}


def test_auto_order_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("SEGSTUDIO_DEVICE", raising=False)
    assert select_device(**_avail(True, True)).type == "cuda"
    assert select_device(**_avail(False, True)).type == "mps"
    assert select_device(**_avail(False, False)).type == "cpu"


def test_override_wins_and_is_validated(monkeypatch):
    monkeypatch.delenv("SEGSTUDIO_DEVICE", raising=False)
    assert select_device("cpu", **_avail(True, True)) == torch.device("cpu")
    assert select_device("cuda:1", **_avail(True, False, count=2)) == torch.device("cuda:1")
    with pytest.raises(DeviceError, match="only 1 CUDA"):
        select_device("cuda:1", **_avail(True, False, count=1))
    with pytest.raises(DeviceError, match="CUDA is not available"):
        select_device("cuda", **_avail(False, False))
    with pytest.raises(DeviceError, match="MPS"):
        select_device("mps", **_avail(False, False))
    with pytest.raises(DeviceError, match="not a device"):
        select_device("gpu please", **_avail(False, False))


def test_environment_override(monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_DEVICE", "cpu")
    assert select_device(**_avail(True, True)).type == "cpu"


def test_policy_cuda_uses_bf16_or_fp16_and_channels_last():
    bf16 = execution_policy(torch.device("cuda"), bf16_supported=lambda: True)
    assert bf16.amp_dtype == torch.bfloat16 and bf16.channels_last
    assert not bf16.needs_grad_scaler
    fp16 = execution_policy(torch.device("cuda"), bf16_supported=lambda: False)
    assert fp16.amp_dtype == torch.float16 and fp16.needs_grad_scaler
    assert fp16.memory_format() == torch.channels_last


def test_cpu_policy_is_fp32_inference_mode():
    policy = execution_policy(torch.device("cpu"))
    assert policy.amp_dtype is None and policy.channels_last
    assert not execution_policy(torch.device("mps")).channels_last
    with inference_context(policy):
        y = torch.ones(2, requires_grad=True) * 2
        assert torch.is_inference_mode_enabled()
    assert not y.requires_grad
    assert device_name("cpu").startswith("CPU (")
