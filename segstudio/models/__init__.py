"""The segmentation networks segstudio can build, and their metadata.

from segstudio.models import build_model, list_models, model_info
model = build_model("enet", num_classes=11)           # (N, 3, H, W) -> (N, 11, H, W)
fast = optimize_for_inference(model)                   # same outputs, faster on CPU
"""

from __future__ import annotations

from .backbones import BackboneWeightsError
from .fast import optimize_for_inference
from .info import ModelInfo
from .registry import ModelError, UnknownModelError, build_model, list_models, model_info

__all__ = [
    "BackboneWeightsError",
    "ModelError",
    "ModelInfo",
    "UnknownModelError",
    "build_model",
    "list_models",
    "model_info",
    "optimize_for_inference",
]
