"""Joint image + mask transforms (torchvision.transforms.v2 with tv_tensors.Mask).

Images stay uint8 (C, H, W) through augmentation; normalisation happens on the training device,
so host->device copies are 4x smaller and the CPU (often the bottleneck) does less.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F


def to_tv(image: np.ndarray, label: np.ndarray) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
    """(H, W, 3) uint8 + (H, W) uint8 numpy -> tv_tensors without copying pixel data."""
    img = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1))
    mask = tv_tensors.Mask(torch.from_numpy(np.ascontiguousarray(label)))
    return img, mask


class RandomScaleCrop(v2.Transform):
    """Random scale (a factor of the image's own size) and a random crop of `size`, done as
    crop-then-resize: only the window that ends up in the crop is resampled (at scale 2 that
    is 1/16 of the work of scaling the whole image first). Where the window leaves the image,
    images are padded with 0 and masks with the ignore index, so padding never counts.

    Scaling relative to the image (not to a fixed target) keeps training at the image's native
    scale on average, which is the scale Predictor sees (it never resizes).
    """

    def __init__(self, size: tuple[int, int], scale: tuple[float, float],
                 ignore_index: int) -> None:
        super().__init__()
        self.size = size
        self.scale = scale
        self.ignore_index = ignore_index

    @staticmethod
    def _axis(length: int, out: int, s: float) -> tuple[int, int, int, int]:
        """Source span [a, b) and its place [p, q) in the output along one axis."""
        span = out / s
        lo, hi = min(0.0, length - span), max(0.0, length - span)
        start = lo + (hi - lo) * float(torch.rand(()))
        a, b = max(0, int(start)), min(length, math.ceil(start + span))
        p = min(out - 1, max(0, round((a - start) * s)))
        q = max(p + 1, min(out, round((b - start) * s)))
        return a, b, p, q

    def make_params(self, flat_inputs: list) -> dict:
        from torchvision.transforms.v2._utils import query_size

        h, w = query_size(flat_inputs)
        lo, hi = self.scale
        s = lo + (hi - lo) * float(torch.rand(()))
        return {"y": self._axis(h, self.size[0], s), "x": self._axis(w, self.size[1], s)}

    def transform(self, inpt, params: dict):
        (y0, y1, py0, py1), (x0, x1, px0, px1) = params["y"], params["x"]
        out = self._call_kernel(F.crop, inpt, top=y0, left=x0, height=y1 - y0, width=x1 - x0)
        out = self._call_kernel(F.resize, out, size=[py1 - py0, px1 - px0], antialias=True)
        pad = [px0, py0, self.size[1] - px1, self.size[0] - py1]
        if any(pad):
            fill = self.ignore_index if isinstance(inpt, tv_tensors.Mask) else 0
            out = self._call_kernel(F.pad, out, padding=pad, fill=fill)
        return out


def train_transform(size: tuple[int, int], ignore_index: int, *,
                    scale: tuple[float, float] = (0.5, 2.0), jitter: float = 0.3) -> v2.Compose:
    """Random scale + crop to `size` (void padding), h-flip, colour jitter (images only).

    Colour jitter leaves hue alone: its RGB->HSV round trip costs ~7 ms per 180x240 crop,
    more than everything else here together, for little gain on photographs.
    """
    return v2.Compose([
        RandomScaleCrop(size, scale, ignore_index),
        v2.RandomHorizontalFlip(),
        v2.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter),
    ])


def normalize_batch(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float normalised; mean/std shaped (1, 3, 1, 1) on the same device."""
    return (images.float().div_(255.0) - mean) / std
