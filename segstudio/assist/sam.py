"""The promptable segmenter: Meta's Segment Anything (the `segment-anything` package).

Two halves with very different costs: `encode(image)` runs the ViT image encoder once per
image (seconds on a CPU, so the window runs it on a worker thread and caches the result) and
`predict(embedding, points, labels, box)` runs the prompt encoder and the small mask decoder
(milliseconds) for every click and every hover.

The network is built from `SamConfig` (ViT-B's published shape, or a tiny one the tests build
and save themselves) on the meta device and filled from a plain state-dict .pth, so loading
never spends time on a random initialisation.

Layering: this module (and the other `assist/sam*.py`) may use torch and engine.weights; the
weight-free tools beside it stay numpy + OpenCV (tests/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from segstudio.core.errors import SegstudioError


class SamError(SegstudioError):
    """A SAM weights file that cannot be read or does not fit the network (one line)."""


class EncodeCancelled(Exception):
    """`cancel()` returned True between two encoder blocks."""


@dataclass(frozen=True)
class SamConfig:
    """The network's shape; `VIT_B` is segment_anything's build_sam_vit_b."""

    encoder_dim: int = 768
    encoder_depth: int = 12
    encoder_heads: int = 12
    global_attn: tuple[int, ...] = (2, 5, 8, 11)
    img_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    prompt_dim: int = 256
    decoder_depth: int = 2
    decoder_mlp: int = 2048
    decoder_heads: int = 8
    iou_hidden: int = 256
    mask_in_chans: int = 16


VIT_B = SamConfig()


@dataclass
class Embedding:
    """One image's encoding: the features (1, C, h, w) and the sizes `predict` maps back to."""

    features: torch.Tensor
    original_size: tuple[int, int]      # (H, W) of the image given
    input_size: tuple[int, int]         # (h, w) after resizing the longest side to img_size
    seconds: float = 0.0                # what encoding took
    nbytes: int = field(init=False)

    def __post_init__(self) -> None:
        self.nbytes = self.features.element_size() * self.features.nelement()


def build(config: SamConfig):
    """The segment_anything `Sam` of `config`, on the meta device (no weights yet)."""
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    from segstudio.assist.sam_attention import install

    c = config
    grid = c.img_size // c.patch_size
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=c.encoder_depth, embed_dim=c.encoder_dim, img_size=c.img_size, mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=c.encoder_heads,
            patch_size=c.patch_size, qkv_bias=True, use_rel_pos=True,
            global_attn_indexes=c.global_attn, window_size=c.window_size,
            out_chans=c.prompt_dim),
        prompt_encoder=PromptEncoder(
            embed_dim=c.prompt_dim, image_embedding_size=(grid, grid),
            input_image_size=(c.img_size, c.img_size), mask_in_chans=c.mask_in_chans),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=c.decoder_depth, embedding_dim=c.prompt_dim,
                                          mlp_dim=c.decoder_mlp, num_heads=c.decoder_heads),
            transformer_dim=c.prompt_dim, iou_head_depth=3, iou_head_hidden_dim=c.iou_hidden),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    install(sam.image_encoder)      # bounded attention maps on a CPU (sam_attention.py)
    return sam


class SamModel:
    """A loaded SAM: `encode` (slow, cancellable between blocks) and `predict` (fast)."""

    def __init__(self, sam, device: torch.device | str = "cpu") -> None:
        from segment_anything.utils.transforms import ResizeLongestSide

        self.sam = sam.eval().to(device)
        self.device = torch.device(device)
        self.transform = ResizeLongestSide(sam.image_encoder.img_size)
        # The dense positional encoding depends on the network only: computed once, not per
        # click (a sin/cos over the 64 x 64 grid each time otherwise).
        with torch.inference_mode():
            self._dense_pe = self.sam.prompt_encoder.get_dense_pe()

    @classmethod
    def load(cls, path: str | Path, config: SamConfig = VIT_B,
             device: torch.device | str = "cpu") -> SamModel:
        """Build `config` and fill it from the state dict at `path` (SamError if it does not
        fit: a checkpoint of another SAM size, or not a SAM file)."""
        path = Path(path)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:      # pickle, zip and IO errors alike: not a usable file
            raise SamError(f"{path}: not a SAM weights file ({type(exc).__name__}: {exc})") \
                from None
        if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
            state = state["model"]
        with torch.device("meta"):
            sam = build(config)
        try:
            sam.load_state_dict(state, assign=True)
        except (RuntimeError, TypeError, AttributeError) as exc:
            first = str(exc).strip().splitlines()
            raise SamError(f"{path}: does not fit SAM "
                           f"{config.encoder_dim}x{config.encoder_depth} "
                           f"({first[1].strip() if len(first) > 1 else first[0]})") from None
        # pixel_mean / pixel_std are not saved (non-persistent buffers): make them real if
        # the meta device took them.
        for name in ("pixel_mean", "pixel_std"):
            if getattr(sam, name).is_meta:
                values = [123.675, 116.28, 103.53] if name == "pixel_mean" else \
                    [58.395, 57.12, 57.375]
                sam.register_buffer(name, torch.tensor(values).view(-1, 1, 1), False)
        return cls(sam, device)

    # -- the slow half -------------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, image: np.ndarray, cancel: Callable[[], bool] | None = None) -> Embedding:
        """(H, W, 3) uint8 RGB -> its embedding. EncodeCancelled when `cancel()` says so
        between two transformer blocks (a ViT-B block is ~1/12 of the time)."""
        import time

        start = time.perf_counter()
        rgb = np.ascontiguousarray(image[..., :3])
        resized = self.transform.apply_image(rgb)
        x = torch.as_tensor(resized, device=self.device).permute(2, 0, 1)[None].float()
        x = self.sam.preprocess(x)            # normalise, pad to img_size x img_size
        enc = self.sam.image_encoder
        x = enc.patch_embed(x)
        if enc.pos_embed is not None:
            x = x + enc.pos_embed
        for block in enc.blocks:
            if cancel is not None and cancel():
                raise EncodeCancelled()
            x = block(x)
        features = enc.neck(x.permute(0, 3, 1, 2))
        return Embedding(features, rgb.shape[:2], resized.shape[:2],
                         time.perf_counter() - start)

    # -- the fast half -------------------------------------------------------------------
    @torch.inference_mode()
    def predict(self, embedding: Embedding, points: Sequence[tuple[float, float]] = (),
                labels: Sequence[int] = (), box: tuple[float, float, float, float] | None = None,
                ) -> np.ndarray:
        """(H, W) bool mask of the object the prompts point at. `points` (x, y) in image
        pixels with `labels` 1 (object) / 0 (not object); `box` (x0, y0, x1, y1).

        One point alone is ambiguous (a wheel, the car, the street): SAM's three masks are
        asked for and the one it scores best is taken, as SamPredictor's docs advise; with
        more prompts one mask is asked for."""
        if not len(points) and box is None:
            return np.zeros(embedding.original_size, bool)
        sam = self.sam
        pts = None
        if len(points):
            coords = self.transform.apply_coords(np.asarray(points, np.float64).reshape(-1, 2),
                                                 embedding.original_size)
            pts = (torch.as_tensor(coords, dtype=torch.float, device=self.device)[None],
                   torch.as_tensor(np.asarray(labels), dtype=torch.int, device=self.device)[None])
        boxes = None
        if box is not None:
            b = self.transform.apply_boxes(np.asarray(box, np.float64).reshape(1, 4),
                                           embedding.original_size)
            boxes = torch.as_tensor(b, dtype=torch.float, device=self.device)
        sparse, dense = sam.prompt_encoder(points=pts, boxes=boxes, masks=None)
        multi = len(points) == 1 and box is None
        low, scores = sam.mask_decoder(
            image_embeddings=embedding.features, image_pe=self._dense_pe,
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
            multimask_output=multi)
        best = int(scores[0].argmax()) if multi else 0
        return self._upscale(low[:, best : best + 1], embedding)

    def _upscale(self, low: torch.Tensor, embedding: Embedding) -> np.ndarray:
        # segment_anything's postprocess_masks goes through a padded img_size x img_size
        # map; the crop of the low-resolution map is resized straight to the image instead
        # (the same mask at the threshold, a quarter of the work on a 1024-px map).
        size = self.sam.image_encoder.img_size
        h, w = embedding.input_size
        lh, lw = low.shape[-2:]
        crop = low[..., : max(1, round(h * lh / size)), : max(1, round(w * lw / size))]
        up = F.interpolate(crop, embedding.original_size, mode="bilinear", align_corners=False)
        return (up[0, 0] > self.sam.mask_threshold).cpu().numpy()
