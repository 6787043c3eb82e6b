"""Metadata every architecture carries, readable without building the network."""

from __future__ import annotations

from dataclasses import dataclass

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelInfo:
    """What the app needs to know about an architecture before (or without) building it.

    `output_stride` is the downsampling factor of the deepest feature map: inputs whose sides
    are not a multiple of it are padded inside the network and cropped back. `mean`/`std`
    normalise 0..1 RGB input: `(x - mean) / std` per channel.
    """

    name: str
    title: str
    paper: str
    output_stride: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    backbone: str | None
    # Parameter count with 11 classes as given in the paper/issue; used by the tests as the bound.
    expected_params: tuple[int, int] | None = None
