"""Prediction: one image of any size -> label map + confidence; folders with decode-ahead."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.errors import ImageReadError, SegstudioError
from segstudio.engine.checkpoint import CheckpointMeta
from segstudio.engine.device import execution_policy, inference_context, select_device
from segstudio.engine.tiling import tile_starts, window

MIN_SIDE = 32  # the registry's networks accept any H, W >= 32
REDUCE_ROWS = 128  # rows of blended logits turned into labels at a time


class Predictor:
    """Runs a trained network at the image's native resolution.

    Images larger than `tile` on a side go through overlapping tiles whose logits are blended
    with a linear window; tiles are consumed one row at a time and finished rows are reduced
    to labels at once, so memory is bounded by (classes x tile x width), not by image area.
    """

    def __init__(self, model: nn.Module, meta: CheckpointMeta,
                 device: torch.device | str | None = None,
                 *, tile: int = 1024, overlap: int = 128) -> None:
        if overlap >= tile:
            raise ValueError(f"overlap {overlap} must be smaller than tile {tile}")
        self.meta = meta
        self.device = select_device(str(device) if device is not None else None)
        self.policy = execution_policy(self.device)
        self.tile = max(tile, MIN_SIDE)
        self.overlap = overlap
        model = model.to(self.device).eval()
        if self.policy.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = _optimized(model, self.device)
        self.num_classes = meta.classes.num_classes
        self._mean = torch.tensor(meta.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(meta.std, device=self.device).view(1, 3, 1, 1)
        self._windows: dict[tuple[int, int], torch.Tensor] = {}

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: torch.device | str | None = None,
                        **kwargs) -> Predictor:
        from segstudio.engine.checkpoint import load_checkpoint

        model, meta = load_checkpoint(path)
        return cls(model, meta, device, **kwargs)

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
    def predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """labels (H, W) uint8 and confidence (max softmax, H, W) float32 in 0..1."""
        image = _check_image(image)
        h, w = image.shape[:2]
        if h <= self.tile and w <= self.tile:
            labels, conf = self._reduce(self.logits(self.to_input(image)))
            return labels[0], conf[0]
        return self._predict_tiled(image)

    def predict_batch(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Several images; same-size images that fit one tile share one forward."""
        images = [_check_image(im) for im in images]
        shapes = {im.shape for im in images}
        if len(images) > 1 and len(shapes) == 1:
            h, w = images[0].shape[:2]
            if h <= self.tile and w <= self.tile:
                labels, conf = self._reduce(self.logits(self.to_input(np.stack(images))))
                return list(zip(labels, conf, strict=True))
        return [self.predict(im) for im in images]

    def _reduce(self, logits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        conf, labels = logits.softmax(1).max(1)
        return labels.to(torch.uint8).cpu().numpy(), conf.cpu().numpy()

    def start_batch(self, images: list[np.ndarray]) -> Callable[[], list]:
        """Run the network now; return a function that finishes the batch (softmax, argmax,
        copy to numpy). predict_paths calls the finisher on another thread, overlapping it
        with the next forward. Same results as predict_batch."""
        images = [_check_image(im) for im in images]
        h, w = images[0].shape[:2]
        if len({im.shape for im in images}) == 1 and h <= self.tile and w <= self.tile:
            logits = self.logits(self.to_input(np.stack(images)))

            def finish() -> list:
                labels, conf = self._reduce(logits)
                return list(zip(labels, conf, strict=True))
            return finish
        done = [self.predict(im) for im in images]
        return lambda: done

    def _window(self, h: int, w: int) -> torch.Tensor:
        if (h, w) not in self._windows:
            self._windows[(h, w)] = window(h, w, self.overlap).to(self.device)
        return self._windows[(h, w)]

    def _predict_tiled(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = image.shape[:2]
        th, tw = min(self.tile, h), min(self.tile, w)
        ys, xs = tile_starts(h, th, self.overlap), tile_starts(w, tw, self.overlap)
        labels = np.empty((h, w), np.uint8)
        conf = np.empty((h, w), np.float32)
        # Band of rows [band_top, band_top + th) accumulating weighted logits and weights.
        acc = torch.zeros(self.num_classes, th, w, device=self.device)
        wsum = torch.zeros(th, w, device=self.device)
        win = self._window(th, tw)
        for i, y in enumerate(ys):
            for x in xs:
                crop = image[y:y + th, x:x + tw]
                logits = self.logits(self.to_input(crop))[0]
                acc[:, :, x:x + tw] += logits * win
                wsum[:, x:x + tw] += win
            # Rows above the next tile row's start will receive no more tiles: finish them,
            # a slab at a time so the temporaries stay small next to the band.
            done = (ys[i + 1] - y) if i + 1 < len(ys) else th
            for r in range(0, done, REDUCE_ROWS):
                r1 = min(done, r + REDUCE_ROWS)
                lab, cf = self._reduce((acc[:, r:r1] / wsum[r:r1]).unsqueeze(0))
                labels[y + r:y + r1], conf[y + r:y + r1] = lab[0], cf[0]
            # Shift the unfinished rows (the overlap) to the top of the band.
            keep = th - done
            if keep:
                acc[:, :keep] = acc[:, done:].clone()
                wsum[:keep] = wsum[done:].clone()
            acc[:, keep:] = 0
            wsum[keep:] = 0
        return labels, conf


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
    done: int
    total: int
    path: Path
    eta_s: float | None


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

    Unreadable images yield a result with `error` set and the run goes on. `cancel` is checked
    before every batch; at most `workers + batch` decoded images wait in memory.
    """
    if reader is None:
        from segstudio.core.imageio import read_image as reader
    paths = [Path(p) for p in paths]
    total, done, start = len(paths), 0, time.perf_counter()
    ahead = max(1, workers) + max(1, batch)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="decode") as pool, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="finish") as post:
        pending: deque[tuple[Path, Future]] = deque()
        queue = iter(paths)
        previous: tuple[list, Future | None] | None = None

        def refill() -> None:
            while len(pending) < ahead:
                path = next(queue, None)
                if path is None:
                    return
                pending.append((path, pool.submit(_read, path, reader)))

        def results(group: list, finished: Future | None) -> Iterator[PredictResult]:
            nonlocal done
            outputs = iter(finished.result() if finished is not None else [])
            for path, item in group:
                if isinstance(item, SegstudioError):
                    result = PredictResult(path, None, None, item)
                else:
                    result = PredictResult(path, *next(outputs))
                done += 1
                if progress is not None:
                    rate = done / max(time.perf_counter() - start, 1e-9)
                    progress(PredictProgress(done, total, path, (total - done) / rate))
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
                finished = post.submit(predictor.start_batch(images)) if images else None
                if previous is not None:
                    yield from results(*previous)
                previous = (loaded, finished)
            if previous is not None and not (cancel is not None and cancel()):
                yield from results(*previous)
        finally:
            for _, fut in pending:
                fut.cancel()
