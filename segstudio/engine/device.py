"""Device choice and the per-device execution settings (precision, memory layout).

Availability is injectable so the CUDA/MPS branches are unit-testable on a CPU-only machine.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from segstudio.core.errors import SegstudioError


class DeviceError(SegstudioError):
    """A device override that names no usable device (e.g. "cuda" on a machine without CUDA)."""


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(
    override: str | None = None,
    *,
    cuda_available: Callable[[], bool] = torch.cuda.is_available,
    mps_available: Callable[[], bool] = _mps_available,
    cuda_count: Callable[[], int] = torch.cuda.device_count,
) -> torch.device:
    """CUDA, then Apple MPS, then CPU; `override` ("cpu", "cuda", "cuda:1", "mps") wins when usable.

    `SEGSTUDIO_DEVICE` in the environment acts as an override when none is given, so a user can
    pin the GUI to a device without a settings dialog.
    """
    override = override or os.environ.get("SEGSTUDIO_DEVICE") or None
    if override and override != "auto":
        try:
            device = torch.device(override)
        except (RuntimeError, ValueError) as exc:
            raise DeviceError(f"device {override!r}: not a device name ({exc})") from None
        if device.type == "cuda":
            if not cuda_available():
                raise DeviceError(f"device {override!r}: CUDA is not available on this machine")
            if device.index is not None and device.index >= cuda_count():
                raise DeviceError(
                    f"device {override!r}: only {cuda_count()} CUDA device(s) on this machine"
                )
        elif device.type == "mps" and not mps_available():
            raise DeviceError(f"device {override!r}: Apple MPS is not available on this machine")
        elif device.type not in ("cpu", "cuda", "mps"):
            raise DeviceError(f"device {override!r}: use cpu, cuda, cuda:N or mps")
        return device
    if cuda_available():
        return torch.device("cuda")
    if mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device | str) -> str:
    """Human name: "NVIDIA H100 80GB HBM3 (cuda:0)", "Apple MPS" or "CPU (2 threads)"."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


@dataclass(frozen=True)
class ExecutionPolicy:
    """How to run on one device: mixed precision dtype (None = fp32) and memory layout."""

    device: torch.device
    amp_dtype: torch.dtype | None
    channels_last: bool

    @property
    def needs_grad_scaler(self) -> bool:
        # fp16 gradients underflow without loss scaling; bf16 has fp32's exponent range.
        return self.amp_dtype == torch.float16

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format


def execution_policy(
    device: torch.device,
    *,
    bf16_supported: Callable[[], bool] | None = None,
) -> ExecutionPolicy:
    """Mixed precision (bf16 when supported, else fp16) and channels_last on CUDA.

    CPU stays fp32 (CPU autocast is slower than fp32 for these conv nets on most CPUs) but
    uses channels_last too: oneDNN's native layout, measured 12-17% faster per ENet training
    step here. MPS keeps the default layout and fp32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        supported = bf16_supported or torch.cuda.is_bf16_supported
        dtype = torch.bfloat16 if supported() else torch.float16
        return ExecutionPolicy(device, dtype, channels_last=True)
    return ExecutionPolicy(device, None, channels_last=device.type == "cpu")


@contextlib.contextmanager
def inference_context(policy: ExecutionPolicy) -> Iterator[None]:
    """inference_mode (no autograd bookkeeping at all) plus the device's autocast."""
    with torch.inference_mode(), policy.autocast():
        yield
