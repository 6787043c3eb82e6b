"""Benchmark suite 'predict': folder throughput of `predict_paths` (decode on threads, normalise,
forward, softmax/argmax, back to numpy) against the bare model forward on the same images,
pre-decoded and pre-normalised, in the same run. Target ratio >= 0.9. `--scale` sets the
pipeline's inference scale (auto leaves CamVid's 480x360 frames as they are); the bare forward
always runs the images as they are."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", type=int, default=16,
                        help="images per pass (default 16, from CamVid val or generated)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="alternating pipeline/forward rounds; each side's best "
                        "round is kept (the least disturbed by other processes)")
    parser.add_argument("--checkpoint", type=Path,
                        help="checkpoint to run (default: the shipped ENet, else a fresh ENet)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for both sides (default 1: on a shared machine "
                        "two OpenMP threads turn every other process's burst into a stall)")
    parser.add_argument("--batch", type=int, default=1, help="images per forward (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="decode threads (default 2)")
    from segstudio.cli.options import add_scale_argument

    add_scale_argument(parser)


def _images(count: int, folder: Path) -> tuple[list[Path], str]:
    from segstudio.bench.train import camvid_root

    root = camvid_root()
    if root is not None:
        paths = sorted((root / "val" / "images").glob("*.jpg"))[:count]
        if len(paths) == count:
            return paths, f"CamVid val ({count} x 480x360 JPEG)"
    import numpy as np
    from PIL import Image

    from segstudio.core.sample import render_scene

    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        image, _ = render_scene(rng, (360, 480))
        path = folder / f"scene_{i:03d}.jpg"
        Image.fromarray(image).save(path, quality=95)
        paths.append(path)
    return paths, f"generated scenes ({count} x 480x360 JPEG)"


def build_predictor(args: argparse.Namespace, **kwargs):
    """Predictor (kwargs: its options) for --checkpoint, the shipped ENet, or a fresh ENet."""
    import torch

    from segstudio.core.classes import builtin_classes
    from segstudio.engine.checkpoint import CheckpointMeta, default_checkpoint, load_checkpoint
    from segstudio.engine.predict import Predictor
    from segstudio.models import build_model, model_info

    path = args.checkpoint or default_checkpoint()
    if path.is_file():
        model, meta = load_checkpoint(path)
        return Predictor(model, meta, args.device, **kwargs), str(path.name)
    torch.manual_seed(0)
    classes = builtin_classes("camvid")
    info = model_info("enet")
    model = build_model("enet", classes.num_classes).eval()
    meta = CheckpointMeta("enet", classes, info.mean, info.std, train_size=(360, 480))
    return Predictor(model, meta, args.device, **kwargs), "enet (untrained, same cost)"


def run(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    from segstudio.cli.options import set_threads
    from segstudio.core.imageio import read_image
    from segstudio.engine.device import device_name, inference_context
    from segstudio.engine.predict import predict_paths
    from segstudio.engine.scale import parse_scale

    scale = parse_scale(args.scale, "--scale")
    set_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        paths, source = _images(args.images, Path(tmp))
        predictor, model_name = build_predictor(args, scale=scale)
        # Baseline: what the network alone costs, inputs already decoded and on the device.
        inputs = [predictor.to_input(np.stack([read_image(p) for p in paths[i:i + args.batch]]))
                  for i in range(0, len(paths), args.batch)]

        def forward_only() -> float:
            t0 = time.perf_counter()
            with inference_context(predictor.policy):
                for x in inputs:
                    predictor.model(x)
            if predictor.device.type == "cuda":
                torch.cuda.synchronize()
            return len(paths) / (time.perf_counter() - t0)

        def pipeline() -> float:
            t0 = time.perf_counter()
            n = sum(1 for r in predict_paths(predictor, paths, batch=args.batch,
                                             workers=args.workers) if r.error is None)
            return n / (time.perf_counter() - t0)

        forward_only()  # warm-up: allocator, oneDNN primitive caches
        fwd, pipe = [], []
        for _ in range(max(1, args.rounds)):
            pipe.append(pipeline())
            fwd.append(forward_only())
    result = {
        "device": device_name(predictor.device),
        "model": model_name,
        "images": source,
        "batch": args.batch,
        "scale": scale,
        "folder_pipeline": {"images_per_s": max(pipe)},
        "forward_only": {"images_per_s": max(fwd)},
        "ratio": max(pipe) / max(fwd),
        "target_ratio": 0.9,
    }
    if not args.json:
        print(f"predict benchmark on {result['device']}: {model_name}, {source}")
        for label, key in (("folder pipeline (predict_paths)", "folder_pipeline"),
                           ("bare forward, pre-decoded", "forward_only")):
            print(f"  {label:<34}{result[key]['images_per_s']:8.2f} img/s")
        print(f"  ratio {result['ratio']:.3f} (target >= 0.9; best of {args.rounds} rounds each)")
    return result
