"""A tiny SAM the tests build and save themselves (no download): segment_anything's own
modules at a few thousand parameters, a 64-px input and an 8 x 8 embedding."""

from __future__ import annotations

from pathlib import Path

from segstudio.assist.sam import SamConfig

TINY = SamConfig(encoder_dim=32, encoder_depth=2, encoder_heads=2, global_attn=(1,),
                 img_size=64, patch_size=8, window_size=4, prompt_dim=32, decoder_depth=1,
                 decoder_mlp=64, decoder_heads=2, iou_hidden=16, mask_in_chans=4)


def save_tiny(path: Path, seed: int = 0) -> Path:
    """Build TINY with its default (random) initialisation and save its state dict."""
    import torch

    from segstudio.assist.sam import build

    torch.manual_seed(seed)
    torch.save(build(TINY).state_dict(), path)
    return path
