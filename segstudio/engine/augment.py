"""Joint image + mask transforms (torchvision.transforms.v2 with tv_tensors.Mask).

Images stay uint8 (C, H, W) through augmentation; normalisation happens on the training device,
so host->device copies are 4x smaller and the CPU (often the bottleneck) does less.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


def to_tv(image: np.ndarray, label: np.ndarray) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
    """(H, W, 3) uint8 + (H, W) uint8 numpy -> tv_tensors without copying pixel data."""
    img = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1))
    mask = tv_tensors.Mask(torch.from_numpy(np.ascontiguousarray(label)))
    return img, mask


class RandomScale(v2.Transform):
    """Resize image and mask together by one random factor of their own size.

    Scaling relative to the image (not to a fixed target) keeps training at the image's native
    scale on average, which is the scale Predictor sees (it never resizes).
    """

    def __init__(self, scale: tuple[float, float]) -> None:
        super().__init__()
        self.scale = scale

    def make_params(self, flat_inputs: list) -> dict:
        from torchvision.transforms.v2._utils import query_size

        h, w = query_size(flat_inputs)
        lo, hi = self.scale
        s = lo + (hi - lo) * float(torch.rand(()))
        return {"size": [max(1, round(h * s)), max(1, round(w * s))]}

    def transform(self, inpt, params: dict):
        return self._call_kernel(v2.functional.resize, inpt, size=params["size"], antialias=True)


def train_transform(size: tuple[int, int], ignore_index: int, *,
                    scale: tuple[float, float] = (0.5, 2.0), jitter: float = 0.3) -> v2.Compose:
    """Random scale (of the image's own size), crop to `size` (void padding), h-flip, colour
    jitter. RandomCrop pads with the ignore index so padded pixels never count in the loss."""
    return v2.Compose([
        RandomScale(scale),
        v2.RandomCrop(size, pad_if_needed=True,
                      fill={tv_tensors.Image: 0, tv_tensors.Mask: ignore_index}),
        v2.RandomHorizontalFlip(),
        v2.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter, hue=0.05 * jitter),
    ])


def normalize_batch(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float normalised; mean/std shaped (1, 3, 1, 1) on the same device."""
    return (images.float().div_(255.0) - mean) / std
