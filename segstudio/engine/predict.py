"""Prediction: one image of any size -> label map + confidence; folders with decode-ahead."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.errors import ImageReadError, SegstudioError
from segstudio.engine.checkpoint import CheckpointMeta
from segstudio.engine.device import execution_policy, inference_context, select_device
from segstudio.engine.logit_rows import (
    LabelRows,
    PredictCancelled,
    UpsampledRows,
    check,
    reduce_logits,
)
from segstudio.engine.scale import Scale, ScaleError, TrainScale, parse_scale, scaled_size
from segstudio.engine.tiled import predict_tiles, tile_grid

MIN_SIDE = 32  # the registry's networks accept any H, W >= 32
# Default tile side: about 0.8 s of ENet on one CPU thread. 1280 rather than 1024: on an
# 8000x6000 image its 35 fitted tiles of 1256x1200 compute 9% more pixels than the image
# where 1024's 63 tiles compute 14%; the tiled path ran at 1.31 Mpx/s against 1.24 (tile
# 1536: 1.28) for 250 MB more peak memory (docs/prediction.md, `bench tiles --tile`).
TILE = 1280
# Default overlap: as faithful as 128 at the learnt scale (docs/prediction.md) and 15% fewer
# pixels through the network on an 8000x6000 image.
OVERLAP = 64
MAX_SCALED_PIXELS = 2**28  # 16384^2: a larger resized image is a mistaken factor


@dataclass(frozen=True)
class Plan:
    """How an image of a given size is predicted (for display: "0.06x, 1 tile")."""

    factor: float                 # resize factor applied before the network (1.0: native)
    size: tuple[int, int]         # (H, W) the network sees, in tiles when larger than one
    tiles: int


class Predictor:
    """Runs a trained network on images of any size, at the scale it learnt.

    `scale`: "auto" (default) resizes an image whose size puts objects outside the middle of
    the scale the checkpoint learnt (`CheckpointMeta.learnt_scale()`) to that scale, predicts,
    and upsamples the logits back to the image's own size; "native" never resizes; a number
    resizes by that factor. Images larger than `tile` on a side (after resizing) go through
    overlapping tiles (engine.tiled): memory is bounded by (classes x tile x width), not by
    the image area, and the result is always at the image's native size.
    """

    def __init__(self, model: nn.Module, meta: CheckpointMeta,
                 device: torch.device | str | None = None,
                 *, tile: int = TILE, overlap: int = OVERLAP, scale: Scale = "auto",
                 tile_batch: int | None = None) -> None:
        if overlap >= tile:
            raise ValueError(f"overlap {overlap} must be smaller than tile {tile}")
        self.meta = meta
        self.device = select_device(str(device) if device is not None else None)
        self.policy = execution_policy(self.device)
        self.tile = max(tile, MIN_SIDE)
        self.overlap = overlap
        self.scale = scale
        # One tile per forward on a CPU keeps Cancel within a tile's time and costs nothing
        # (a 1280 px tile is already a large batch for a CPU); accelerators like a row.
        self.tile_batch = tile_batch or (1 if self.device.type == "cpu" else 4)
        info = getattr(model, "info", None)
        self.multiple = min(32, getattr(info, "output_stride", 8) or 8)
        model = model.to(self.device).eval()
        if self.policy.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = _optimized(model, self.device)
        self.num_classes = meta.classes.num_classes
        self._mean = torch.tensor(meta.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(meta.std, device=self.device).view(1, 3, 1, 1)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: torch.device | str | None = None,
                        **kwargs) -> Predictor:
        from segstudio.engine.checkpoint import load_checkpoint

        model, meta = load_checkpoint(path)
        return cls(model, meta, device, **kwargs)

    # -- scale -----------------------------------------------------------------------------
    @property
    def scale(self) -> Scale:
        return self._scale

    @scale.setter
    def scale(self, value: Scale) -> None:
        """"auto", "native" or a factor (text or number); ScaleError otherwise. Changing it
        needs no new Predictor."""
        self._scale = parse_scale(value)

    @property
    def learnt(self) -> TrainScale | None:
        return self.meta.learnt_scale()

    def factor_for(self, height: int, width: int) -> float:
        """The resize factor this predictor applies to an image of (height, width)."""
        if self._scale == "native":
            return 1.0
        if self._scale == "auto":
            learnt = self.learnt
            return 1.0 if learnt is None else learnt.factor_for(height, width)
        return float(self._scale)

    def plan(self, height: int, width: int) -> Plan:
        factor = self.factor_for(height, width)
        size = scaled_size(height, width, factor)
        if size == (height, width):
            factor = 1.0
        if size[0] <= self.tile and size[1] <= self.tile:
            return Plan(factor, size, 1)
        return Plan(factor, size, tile_grid(*size, self.tile, self.overlap, self.multiple).count)

    # -- tensors ---------------------------------------------------------------------------
    def to_input(self, images: np.ndarray) -> torch.Tensor:
        """(H, W, 3) or (N, H, W, 3) uint8 -> normalised (N, 3, H, W) on the device."""
        batch = torch.from_numpy(np.ascontiguousarray(images))
        if batch.ndim == 3:
            batch = batch.unsqueeze(0)
        batch = batch.to(self.device, non_blocking=True).permute(0, 3, 1, 2)
        x = (batch.float().div_(255.0) - self._mean) / self._std
        return x.contiguous(memory_format=self.policy.memory_format())

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Forward a normalised batch; pads sides below MIN_SIDE; float32 logits, same H, W."""
        h, w = x.shape[-2:]
        pad_h, pad_w = max(0, MIN_SIDE - h), max(0, MIN_SIDE - w)
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        with inference_context(self.policy):
            out = self.model(x)
        return out[..., :h, :w].float()

    # -- images ----------------------------------------------------------------------------
    @torch.inference_mode()
    def predict(self, image: np.ndarray, *, on_tile: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """labels (H, W) uint8 and confidence (max softmax, H, W) float32 in 0..1, at the
        image's own size. `on_tile(done, total)` after each tile through the network;
        `cancel` is checked between tiles and row bands (PredictCancelled)."""
        image = _check_image(image)
        h, w = image.shape[:2]
        plan = self.plan(h, w)
        sh, sw = plan.size
        if sh * sw > MAX_SCALED_PIXELS:
            raise ScaleError(f"scale {self._scale}: a {w}x{h} image would become {sw}x{sh}, "
                             "too large to predict; use a smaller factor")
        sink = LabelRows(h, w, cancel)
        target = sink
        if plan.factor != 1.0:
            shrink = sh * sw < h * w
            image = cv2.resize(image, (sw, sh),
                               interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            target = UpsampledRows((sh, sw), (h, w), sink, cancel)
        if plan.tiles == 1:
            check(cancel)
            logits = self.logits(self.to_input(image))[0]
            if on_tile is not None:
                on_tile(1, 1)
            target.put(0, logits)
        else:
            grid = tile_grid(sh, sw, self.tile, self.overlap, self.multiple)
            predict_tiles(self._forward_tiles, image, self.num_classes, grid, self.overlap,
                          target, device=self.device, batch=self.tile_batch,
                          on_tile=on_tile, cancel=cancel)
        return sink.labels, sink.confidence

    def _forward_tiles(self, crops: np.ndarray) -> torch.Tensor:
        return self.logits(self.to_input(crops))

    def one_forward(self, images: list[np.ndarray]) -> bool:
        """Whether these images go through the network as one batch at their own size (the
        fast path of predict_batch/start_batch): same size, one tile, no resizing."""
        shapes = {im.shape[:2] for im in images}
        if len(shapes) != 1:
            return False
        h, w = shapes.pop()
        plan = self.plan(h, w)
        return plan.tiles == 1 and plan.factor == 1.0

    def predict_batch(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Several images; same-size images that fit one tile share one forward."""
        images = [_check_image(im) for im in images]
        if len(images) > 1 and self.one_forward(images):
            labels, conf = reduce_logits(self.logits(self.to_input(np.stack(images))))
            return list(zip(labels, conf, strict=True))
        return [self.predict(im) for im in images]

    def start_batch(self, images: list[np.ndarray]) -> Callable[[], list]:
        """Run the network now; return a function that finishes the batch (softmax, argmax,
        copy to numpy). predict_paths calls the finisher on another thread, overlapping it
        with the next forward. Same results as predict_batch."""
        images = [_check_image(im) for im in images]
        if self.one_forward(images):
            logits = self.logits(self.to_input(np.stack(images)))

            def finish() -> list:
                labels, conf = reduce_logits(logits)
                return list(zip(labels, conf, strict=True))
            return finish
        done = [self.predict(im) for im in images]
        return lambda: done


def _optimized(model: nn.Module, device: torch.device) -> nn.Module:
    """The models package's inference fast path: batch norms folded, channels-last weights."""
    from segstudio.models import optimize_for_inference

    return optimize_for_inference(model, channels_last=device.type != "mps").to(device)


def _check_image(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
    return image


# -- folders -------------------------------------------------------------------------------
@dataclass
class PredictResult:
    path: Path
    labels: np.ndarray | None
    confidence: np.ndarray | None
    error: SegstudioError | None = None


@dataclass
class PredictProgress:
    done: int                       # images finished
    total: int
    path: Path                      # the image just finished, or (tile events) in progress
    eta_s: float | None
    tiles_done: int | None = None   # tile events: tiles of `path` through the network so far
    tiles_total: int | None = None  # ... of how many; None on image-finished events


def _read(path: Path, reader: Callable[[Path], np.ndarray]) -> np.ndarray | SegstudioError:
    try:
        return reader(path)
    except SegstudioError as exc:
        return exc
    except Exception as exc:  # a decoder bug must not end a folder run either
        return ImageReadError(path, f"cannot read image ({type(exc).__name__}: {exc})")


def predict_paths(predictor: Predictor, paths: Iterable[str | Path], *,
                  progress: Callable[[PredictProgress], None] | None = None,
                  cancel: Callable[[], bool] | None = None,
                  workers: int = 2, batch: int = 1,
                  reader: Callable[[Path], np.ndarray] | None = None) -> Iterator[PredictResult]:
    """Predict images in order, keeping the network busy: the next images are decoded on
    worker threads while it runs, and each batch's softmax/argmax/copy-out runs on another
    thread while the next batch goes through the network.

    Images that need tiles or resizing are predicted one at a time with a progress event
    after every tile (`tiles_done`/`tiles_total` set) and `cancel` checked between tiles, so
    a cancel stops within about one tile's forward even inside one huge image. Unreadable
    images, and images the scale makes too large, yield a result with `error` set and the run
    goes on. `cancel` is also checked before every batch; at most `workers + batch` decoded
    images wait in memory.
    """
    if reader is None:
        from segstudio.core.imageio import read_image as reader
    paths = [Path(p) for p in paths]
    total, done, start = len(paths), 0, time.perf_counter()
    ahead = max(1, workers) + max(1, batch)

    def report(path: Path, fraction: float = 0.0, tiles: tuple[int, int] | None = None) -> None:
        if progress is None:
            return
        finished = done + fraction
        rate = finished / max(time.perf_counter() - start, 1e-9)
        eta = (total - finished) / rate if finished > 0 else None
        progress(PredictProgress(done, total, path, eta, *(tiles or (None, None))))

    def one_by_one(group: list) -> list:
        """Outputs (or the SegstudioError) of each readable image, predicted in turn."""
        outputs: list = []
        for path, item in group:
            if isinstance(item, SegstudioError):
                continue

            def on_tile(k: int, n: int, path: Path = path, before: int = len(outputs)) -> None:
                report(path, before + k / n, (k, n))
            try:
                outputs.append(predictor.predict(item, on_tile=on_tile, cancel=cancel))
            except ScaleError as exc:
                outputs.append(ScaleError(f"{path}: {exc}"))
        return outputs

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="decode") as pool, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="finish") as post:
        pending: deque[tuple[Path, Future]] = deque()
        queue = iter(paths)
        previous: tuple[list, Future | list | None] | None = None

        def refill() -> None:
            while len(pending) < ahead:
                path = next(queue, None)
                if path is None:
                    return
                pending.append((path, pool.submit(_read, path, reader)))

        def results(group: list, finished: Future | list | None) -> Iterator[PredictResult]:
            nonlocal done
            if isinstance(finished, Future):
                finished = finished.result()
            outputs = iter(finished or [])
            for path, item in group:
                if not isinstance(item, SegstudioError):
                    item = next(outputs)
                if isinstance(item, SegstudioError):
                    result = PredictResult(path, None, None, item)
                else:
                    result = PredictResult(path, *item)
                done += 1
                report(path)
                yield result

        refill()
        try:
            while pending:
                if cancel is not None and cancel():
                    return
                group = [pending.popleft() for _ in range(min(batch, len(pending)))]
                refill()
                loaded = [(p, f.result()) for p, f in group]
                images = [im for _, im in loaded if isinstance(im, np.ndarray)]
                if images and not predictor.one_forward(images):
                    # Big or resized images: finish the previous batch first (its results
                    # should not wait for this one), then predict these with tile progress.
                    if previous is not None:
                        yield from results(*previous)
                    previous = (loaded, one_by_one(loaded))
                    continue
                finished = post.submit(predictor.start_batch(images)) if images else None
                if previous is not None:
                    yield from results(*previous)
                previous = (loaded, finished)
            if previous is not None and not (cancel is not None and cancel()):
                yield from results(*previous)
        except PredictCancelled:
            return
        finally:
            for _, fut in pending:
                fut.cancel()
