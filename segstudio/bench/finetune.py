"""Benchmark suite 'finetune': what the Fine-tune defaults give a user with a small set.

For each size in `--images` (default 10 and 20), that many labelled images of the pool
(default CamVid train, evenly spaced) become a project whose class list is the pool's in
reverse order, so that the shipped CamVid ENet's head does not fit (a user's own classes: the
app starts from the shipped ENet's layers with a fresh head). The project is fine-tuned through
`engine.workflow.run_finetune` with the app's default settings (or `--steps` `--lr` `--batch`
`--size`), and the model is measured on held-out images (default CamVid val, same classes).
Figures: val mIoU and pixel accuracy, minutes of the run, and the share of it that went to
validation.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pool", type=Path,
                        help="labelled folder (default ../shared/datasets/camvid/train)")
    parser.add_argument("--val", type=Path,
                        help="held-out labelled folder (default ../shared/datasets/camvid/val)")
    parser.add_argument("--images", default="10,20",
                        help="project sizes, comma-separated (default 10,20)")
    parser.add_argument("--val-images", type=int, default=0,
                        help="held-out images, evenly spaced (default 0: all)")
    parser.add_argument("--arch", default="enet", help="architecture (default enet)")
    parser.add_argument("--start", default="app",
                        help="app (the Fine-tune button's choice, default), scratch, imagenet "
                        "or a checkpoint")
    parser.add_argument("--steps", type=int, help="optimiser steps (default: the app's)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the app's)")
    parser.add_argument("--batch", type=int, help="batch size (default: the app's)")
    parser.add_argument("--size", help="training crop HxW (default: the app's)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")


def _reverse(folder: Path, dest: Path, n: int, classes=None, *, reverse: bool = True):
    """dest/images (links) + dest/labels with the class indices reversed, and the reversed
    class list (as they are with `reverse` False); returns (pool classes, its classes)."""
    import numpy as np

    from segstudio.bench.loop import spaced
    from segstudio.core.classes import ClassSet
    from segstudio.core.labels import read_label, write_label
    from segstudio.engine.data import load_source

    source = load_source(folder, classes)
    c = source.classes
    k = c.num_classes
    rev = ClassSet(list(reversed(c.names)), list(reversed(c.colors)), c.ignore_index,
                   c.ignore_name, c.ignore_color, name=f"{c.name or 'pool'} (reversed)",
                   weights=None if c.weights is None else list(reversed(c.weights)))
    lut = np.arange(256, dtype=np.uint8)
    if reverse:
        lut[:k] = np.arange(k - 1, -1, -1, dtype=np.uint8)
    else:
        rev = c
    for s in spaced(source.samples, n):
        image = dest / "images" / s.key
        image.parent.mkdir(parents=True, exist_ok=True)
        image.symlink_to(s.image.resolve())
        label = dest / "labels" / (str(Path(s.key).with_suffix("")) + ".png")
        label.parent.mkdir(parents=True, exist_ok=True)
        write_label(label, lut[read_label(s.label, c)], rev)
    rev.save(dest / "classes.json")
    return c, rev


def _sizes(text: str) -> list[int]:
    from segstudio.cli import UsageError

    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--images: {text!r} is not a list of numbers") from None
    if not sizes or min(sizes) < 2:
        raise UsageError("--images: sizes of at least 2 images")
    return sizes


def run(args: argparse.Namespace) -> dict:
    from dataclasses import replace

    from segstudio.bench.loop import default_dir, first_start
    from segstudio.cli.options import parse_size, set_threads
    from segstudio.core.project import Project
    from segstudio.engine.device import device_name, select_device
    from segstudio.engine.evaluate import evaluate
    from segstudio.engine.predict import Predictor
    from segstudio.engine.workflow import (
        active_checkpoint,
        finetune_settings,
        run_finetune,
        starting_point,
    )

    sizes = _sizes(args.images)
    set_threads(args.threads)
    pool = args.pool or default_dir("pool")
    val = args.val or default_dir("val")
    start, _ = first_start(args)
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else \
        (lambda m: print(m, flush=True))
    runs = []
    with tempfile.TemporaryDirectory(prefix="segstudio-finetune-") as tmp:
        pool_classes, _ = _reverse(val, Path(tmp) / "val", args.val_images)
        _reverse(val, Path(tmp) / "val-as-is", args.val_images, reverse=False)
        for n in sizes:
            root = Path(tmp) / f"p{n}"
            _reverse(pool, root, n, pool_classes)
            project = Project.open(root)
            settings = finetune_settings(project, args.arch)
            over = {"steps": args.steps, "lr": args.lr, "batch": args.batch}
            if args.size:
                h, w = parse_size(args.size)
                over |= {"height": h, "width": w}
            settings = replace(settings, **{k: v for k, v in over.items() if v is not None})
            note = (start or starting_point(project, args.arch)).note
            t0 = time.perf_counter()
            outcome = run_finetune(project, args.arch, settings, start=start,
                                   device=args.device, log=lambda _m: None)
            seconds = time.perf_counter() - t0
            result = outcome.result
            active = active_checkpoint(project)
            best = active or outcome.result.best
            metrics = evaluate(Predictor.from_checkpoint(best, args.device), Path(tmp) / "val")
            train_s = sum(result.epoch_seconds)
            row = {
                "images": n, "train_images": result.train_images,
                "settings": settings.to_dict(), "start": note,
                "val_miou": metrics["miou"], "val_pixel_accuracy": metrics["pixel_accuracy"],
                "val_images": metrics["images"],
                "minutes": round(seconds / 60, 2),
                "train_minutes": round(train_s / 60, 2),
                "seconds_per_step": train_s / max(settings.steps, 1),
                "other_minutes": round((seconds - train_s) / 60, 2),
                "epochs": result.epochs_done, "best_epoch": result.best_epoch,
                "status": result.status,
            }
            runs.append(row)
            say(f"  {n} images: val mIoU {100 * row['val_miou']:.1f}% (pixel accuracy "
                f"{100 * row['val_pixel_accuracy']:.1f}%), {row['minutes']:.1f} min "
                f"({row['train_minutes']:.1f} training, {row['seconds_per_step']:.2f} s/step)")
        reference = _reference(Path(tmp) / "val-as-is", pool_classes, args.device)
    out = {"device": device_name(select_device(args.device)), "arch": args.arch,
           "pool": str(pool), "val": str(val), "runs": runs, "shipped_val_miou": reference}
    if reference:
        # What a few images and minutes give, next to the shipped model (the whole pool,
        # hours of training) on the same images.
        out["ratio"] = runs[0]["val_miou"] / reference
        say(f"  shipped ENet (CamVid train, own classes): val mIoU {100 * reference:.1f}%; "
            f"ratio {out['ratio']:.2f} for {runs[0]['images']} images")
    return out


def _reference(val: Path, classes, device: str | None) -> float | None:
    """The shipped ENet's val mIoU when it was trained on these classes, else None."""
    from segstudio.engine.checkpoint import classes_mismatch, default_checkpoint, read_checkpoint
    from segstudio.engine.evaluate import evaluate
    from segstudio.engine.predict import Predictor

    path = default_checkpoint()
    if not path.is_file() or classes_mismatch(classes, read_checkpoint(path)[1].classes):
        return None
    return evaluate(Predictor.from_checkpoint(path, device), val)["miou"]
