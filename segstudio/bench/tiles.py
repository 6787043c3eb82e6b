"""Benchmark suite 'tiles': pixels per second of predicting one big image through the tiled
path (`Predictor.predict`: tiles, normalisation, forward, blending, argmax/confidence into
numpy) against the bare forward of the same network over the same number of pixels in
inputs of the tiles' size, in the same run. Target ratio >= 0.8.

The two are interleaved: after each tile of the tiled path (its progress callback), the bare
forwards catch up to the same fraction of their pixels, and the time spent in the callback is
taken off the tiled path's time. Both sides then see the same moments of a shared machine's
load, which otherwise moves single runs by 2x. A first, plain run measures peak memory and
the uninterleaved time.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from segstudio.cli.options import parse_size, positive_int

    parser.add_argument("--size", type=parse_size, default=(6000, 8000), metavar="HxW",
                        help="image size (default 6000x8000: an 8000x6000 photo)")
    parser.add_argument("--tile", type=positive_int, default=None,
                        help="tile side (default: Predictor's)")
    parser.add_argument("--overlap", type=int, default=None,
                        help="tile overlap in pixels (default: Predictor's)")
    parser.add_argument("--scale", default="native",
                        help="inference scale: native (default: the tiled path at full "
                        "size), auto or a factor")
    parser.add_argument("--checkpoint", type=Path,
                        help="checkpoint to run (default: the shipped ENet, else a fresh ENet)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="torch CPU threads (default 1: the machine is shared)")
    parser.add_argument("--rounds", type=positive_int, default=1,
                        help="interleaved timing rounds after the plain one; the best is kept")
    parser.add_argument("--end-to-end", action="store_true",
                        help="also time `segment` of the image as a JPEG (decode, predict, "
                        "write the label PNG) at scale auto and native")


def _image(size: tuple[int, int]):
    """A CamVid val frame (or a generated scene) upscaled to `size`: real content, wrong
    scale for a model trained on 480x360 frames, which costs the same at native scale."""
    import cv2
    import numpy as np

    from segstudio.bench.train import camvid_root

    root = camvid_root()
    frames = sorted((root / "val" / "images").glob("*.jpg")) if root is not None else []
    if frames:
        from segstudio.core.imageio import read_image

        small, what = read_image(frames[0]), f"CamVid val {frames[0].name}"
    else:
        from segstudio.core.sample import render_scene

        small, _ = render_scene(np.random.default_rng(0), (360, 480))
        what = "generated scene"
    h, w = size
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), \
        f"{what} upscaled to {w}x{h}"


def _predictor(args: argparse.Namespace):
    from segstudio.bench.predict import build_predictor as build
    from segstudio.engine.scale import parse_scale

    kwargs = {"scale": parse_scale(args.scale, "--scale")}
    if args.tile is not None:
        kwargs["tile"] = args.tile
    if args.overlap is not None:
        kwargs["overlap"] = args.overlap
    return build(args, **kwargs)


class PeakMemory:
    """Peak resident memory above the level at start (Linux: VmHWM after resetting it via
    /proc/self/clear_refs), plus the device's own peak on CUDA. None where unavailable."""

    def __init__(self, device) -> None:
        self.device = device

    def __enter__(self) -> PeakMemory:
        import torch

        self.base = _status_kb("VmRSS")
        self.reset = _reset_peak()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.cuda_base = torch.cuda.memory_allocated(self.device)
        return self

    def __exit__(self, *exc) -> None:
        import torch

        peak = _status_kb("VmHWM")
        self.extra_mb = (peak - self.base) / 1024 if self.reset and peak and self.base else None
        self.cuda_extra_mb = None
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            used = torch.cuda.max_memory_allocated(self.device) - self.cuda_base
            self.cuda_extra_mb = used / 2**20


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _end_to_end(predictor, image, folder: Path) -> dict:
    from PIL import Image

    from segstudio.core.labels import write_label
    from segstudio.engine.predict import predict_paths

    path = folder / "big.jpg"
    Image.fromarray(image).save(path, quality=95)
    out = {}
    for scale in ("auto", "native"):
        predictor.scale = scale
        t0 = time.perf_counter()
        for result in predict_paths(predictor, [path]):
            write_label(folder / "big.png", result.labels, predictor.meta.classes)
        out[f"{scale}_s"] = time.perf_counter() - t0
    return out


def run(args: argparse.Namespace) -> dict:
    import torch

    from segstudio.cli.options import set_threads
    from segstudio.engine.device import device_name, inference_context
    from segstudio.engine.tiled import tile_grid

    set_threads(args.threads)
    predictor, model_name = _predictor(args)
    image, source = _image(args.size)
    h, w = image.shape[:2]
    plan = predictor.plan(h, w)
    # The bare forward takes inputs of the tiles' own size: fit_tiles shrinks them below the
    # tile side to fit the image evenly, and a network's speed per pixel depends on its input
    # size (ENet on one CPU thread: 1.55 Mpx/s at 1024x1024, 1.26 at 1536x1536), so a
    # tile-side input measured that, not the tiled path's overhead.
    if plan.tiles > 1:
        grid = tile_grid(*plan.size, predictor.tile, predictor.overlap, predictor.multiple)
        th, tw = grid.height, grid.width
    else:
        th, tw = plan.size
    bare_input = predictor.to_input(image[:th, :tw])
    forwards = math.ceil(h * w / (th * tw))
    sync = torch.cuda.synchronize if predictor.device.type == "cuda" else (lambda: None)

    def bare_forward() -> float:
        t0 = time.perf_counter()
        with inference_context(predictor.policy):
            predictor.model(bare_input)
        sync()
        return time.perf_counter() - t0

    bare_forward()  # warm-up: allocator, oneDNN primitive caches
    with PeakMemory(predictor.device) as memory:
        t0 = time.perf_counter()
        predictor.predict(image)
        plain_s = time.perf_counter() - t0

    best_tiled, best_bare = math.inf, math.inf
    for _ in range(args.rounds):
        bare = {"n": 0, "s": 0.0, "aside": 0.0}

        def catch_up(done: int, total: int, bare: dict = bare) -> None:
            t0 = time.perf_counter()
            while bare["n"] < math.ceil(forwards * done / total):
                bare["s"] += bare_forward()
                bare["n"] += 1
            bare["aside"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        predictor.predict(image, on_tile=catch_up)
        sync()
        tiled_s = time.perf_counter() - t0 - bare["aside"]
        best_tiled = min(best_tiled, tiled_s)
        best_bare = min(best_bare, bare["s"] / bare["n"] * forwards)

    tiled_rate, bare_rate = h * w / best_tiled, h * w / best_bare
    k = predictor.num_classes
    result = {
        "device": device_name(predictor.device),
        "model": model_name,
        "image": source,
        "size": [h, w],
        "threads": args.threads,
        "scale": predictor.scale,
        "factor": plan.factor,
        "tile": predictor.tile,
        "overlap": predictor.overlap,
        "tiles": plan.tiles,
        "tiled": {"pixels_per_s": tiled_rate, "seconds": best_tiled,
                  "plain_run_seconds": plain_s},
        "bare_forward": {"pixels_per_s": bare_rate, "seconds": best_bare,
                         "forwards": forwards, "input": [th, tw]},
        "ratio": tiled_rate / bare_rate,
        "target_ratio": 0.8,
        "peak_memory_mb": {
            "tiled_extra": memory.extra_mb,
            "cuda_extra": memory.cuda_extra_mb,
            "outputs": h * w * 5 / 2**20,            # labels uint8 + confidence float32
            "band": k * th * plan.size[1] * 4 / 2**20,    # one band: a tile's rows
        },
    }
    if args.end_to_end:
        with tempfile.TemporaryDirectory() as tmp:
            result["end_to_end"] = _end_to_end(predictor, image, Path(tmp))
    if not args.json:
        _print(result)
    return result


def _print(r: dict) -> None:
    h, w = r["size"]
    print(f"tiles benchmark on {r['device']}: {r['model']}, "
          f"{r['image']}")
    print(f"  scale {r['scale']} (x{r['factor']:.3g}), tile {r['tile']}, overlap "
          f"{r['overlap']}: {r['tiles']} tiles")
    print(f"  tiled path (Predictor.predict)  {r['tiled']['pixels_per_s'] / 1e6:8.3f} Mpx/s "
          f"({r['tiled']['seconds']:.1f} s; plain run {r['tiled']['plain_run_seconds']:.1f} s)")
    b = r["bare_forward"]
    print(f"  bare forward, {b['forwards']} x {b['input'][0]}x{b['input'][1]}"
          f"{b['pixels_per_s'] / 1e6:10.3f} Mpx/s ({b['seconds']:.1f} s)")
    print(f"  ratio {r['ratio']:.3f} (target >= 0.8)")
    m = r["peak_memory_mb"]
    extra = "n/a" if m["tiled_extra"] is None else f"{m['tiled_extra']:.0f} MB"
    cuda = "" if m["cuda_extra"] is None else f", GPU {m['cuda_extra']:.0f} MB"
    print(f"  peak memory above the loaded image and model: {extra}{cuda} (label and "
          f"confidence maps {m['outputs']:.0f} MB, one band of logits {m['band']:.0f} MB)")
    if "end_to_end" in r:
        e = r["end_to_end"]
        print(f"  segment one {w}x{h} JPEG end to end: auto {e['auto_s']:.1f} s, "
              f"native {e['native_s']:.1f} s")
