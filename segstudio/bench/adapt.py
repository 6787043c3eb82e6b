"""Benchmark suite 'adapt': does a click on Fine-tune make a good model better on a new street?

CamVid val is one street (sequence 0016E5) that the shipped ENet never trained on. The
folder's images in their order are cut in two: a *reviewed* part (the first `--part` share)
and the *held-out rest*. For each K in `--k` (default 5, 10, 20), K images evenly spaced over
the reviewed part become a project with their labels (reviewed, CamVid's classes: the shipped
model's head fits), which is fine-tuned through `engine.workflow.run_finetune` with the app's
own defaults and starting point, exactly as the button does. Then, in the same run:

- `miou_start`: the shipped model on the held-out rest;
- `miou_after`: the run's best checkpoint on the same images (and `miou_active`: the
  project's active model after the verdict, what Segment would use next);
- `first_epoch_change`: the run's first validation minus epoch 0, on the project's own
  validation images (how much the first steps damage or help), and `worst_change`: the
  lowest validation point minus epoch 0;
- the verdict, with its certainty, and the minutes.

The held-out frames are consecutive to none of the reviewed ones (the rest of the sequence
after them), so a gain here is a gain on the street, not on near-copies of the training
frames.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path,
                        help="labelled folder of one scene, in order (default "
                        "../shared/datasets/camvid/val)")
    parser.add_argument("--k", default="5,10,20",
                        help="reviewed images per run, comma-separated (default 5,10,20)")
    parser.add_argument("--part", type=float, default=0.5,
                        help="share of the folder the reviewed images come from; the rest is "
                        "held out (default 0.5)")
    parser.add_argument("--start", type=Path,
                        help="the model the user relies on (default: the shipped ENet)")
    parser.add_argument("--edited", type=int, default=0,
                        help="also E edited images a run: the start's prediction with its "
                        "wrong pixels painted to the truth and not reviewed (the window's "
                        "case: --k 3 --edited 3); default 0")
    parser.add_argument("--steps", type=int, help="optimiser steps (default: the app's)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")


def _ks(text: str) -> list[int]:
    from segstudio.cli import UsageError

    try:
        ks = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--k: {text!r} is not a list of numbers") from None
    if not ks or min(ks) < 2:
        raise UsageError("--k: at least 2 reviewed images a run")
    return ks


def _spaced(items: list, n: int) -> list:
    """n items evenly spaced over `items`, first and last included."""
    if n >= len(items):
        return list(items)
    return [items[round(i * (len(items) - 1) / max(n - 1, 1))] for i in range(n)]


def _link_folder(dest: Path, samples, classes) -> Path:
    """dest/images and dest/labels as links to the samples' files, and the classes."""
    for s in samples:
        for kind, src in (("images", s.image), ("labels", s.label)):
            name = Path(s.key).with_suffix(src.suffix)
            path = dest / kind / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(Path(src).resolve())
    classes.save(dest / "classes.json")
    return dest


def _add_edited(project, samples, start: Path, device: str | None) -> None:
    """Each sample as an EDITED image of `project`: the start's prediction, with the pixels
    it got wrong painted to the truth (touched), not reviewed: what a person correcting a
    prediction stroke by stroke leaves before marking it reviewed."""
    import numpy as np

    from segstudio.core.entries import ImageState
    from segstudio.core.labels import read_label
    from segstudio.engine.predict import Predictor, predict_paths

    if not samples:
        return
    for s in samples:
        dest = project.images_dir / Path(s.key).with_suffix(s.image.suffix)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(Path(s.image).resolve())
    project.refresh()
    entries = {e.path.name: e for e in project.entries}
    classes = project.classes
    predictor = Predictor.from_checkpoint(start, device)
    for s, result in zip(samples, predict_paths(predictor, [s.image for s in samples]),
                         strict=True):
        truth = read_label(s.label, classes, expected_shape=result.labels.shape)
        pred = result.labels.astype(np.uint8)
        touched = (pred != truth) & (truth != classes.ignore_index)
        entry = entries[Path(s.key).with_suffix(s.image.suffix).name]
        project.save_label(entry, np.where(touched, truth, pred).astype(np.uint8),
                           state=ImageState.EDITED, touched=touched)


def run(args: argparse.Namespace) -> dict:
    from segstudio.bench.train import camvid_root
    from segstudio.cli import UsageError
    from segstudio.cli.options import set_threads
    from segstudio.core.project import Project
    from segstudio.engine.checkpoint import default_checkpoint
    from segstudio.engine.data import load_source
    from segstudio.engine.device import device_name, select_device
    from segstudio.engine.evaluate import evaluate
    from segstudio.engine.predict import Predictor
    from segstudio.engine.workflow import (
        active_checkpoint,
        finetune_settings,
        run_finetune,
        set_active,
    )

    ks = _ks(args.k)
    if not 0.05 <= args.part <= 0.95:
        raise UsageError(f"--part {args.part}: a share from 0.05 to 0.95")
    set_threads(args.threads)
    if args.data is None and camvid_root() is None:
        raise UsageError("--data: no default (../shared/datasets/camvid is absent); give a "
                         "labelled folder of one scene")
    data = args.data or camvid_root() / "val"
    start = (args.start or default_checkpoint()).expanduser()
    if not start.is_file():
        raise UsageError(f"--start: {start}: no such checkpoint")

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    source = load_source(data)
    samples = sorted(source.samples, key=lambda s: s.key)
    cut = round(args.part * len(samples))
    part, rest = samples[:cut], samples[cut:]
    if args.edited < 0:
        raise UsageError(f"--edited {args.edited}: a number of images, 0 or more")
    if max(ks) + args.edited > len(part) or len(rest) < 2:
        raise UsageError(f"--k {max(ks)}: {data} has {len(part)} images in its reviewed part "
                         f"and {len(rest)} held out; use a smaller --k or another --part")
    results = []
    with tempfile.TemporaryDirectory(prefix="segstudio-adapt-") as tmp:
        held = _link_folder(Path(tmp) / "held-out", rest, source.classes)
        scores: dict[str, float] = {}

        def score(path: Path) -> float:
            key = str(path.resolve())
            if key not in scores:
                scores[key] = evaluate(Predictor.from_checkpoint(path, args.device),
                                       held)["miou"]
            return scores[key]

        miou_start = score(start)
        say(f"adapt: {start.name} on the held-out {len(rest)} images: "
            f"mIoU {100 * miou_start:.1f}%")
        for k in ks:
            chosen = _spaced(part, k)
            root = _link_folder(Path(tmp) / f"k{k}", chosen, source.classes)
            project = Project.open(root)
            others = [s for s in part if s not in chosen]
            _add_edited(project, _spaced(others, args.edited) if args.edited else [], start,
                        args.device)
            set_active(project, start)
            project.save()
            settings = finetune_settings(project, "enet")
            if args.steps:
                from dataclasses import replace

                settings = replace(settings, steps=args.steps)
            curve: list[float] = []

            def progress(e, curve=curve) -> None:
                if e.kind == "epoch" and e.metrics and e.metrics.get("miou") is not None:
                    curve.append(e.metrics["miou"])

            t0 = time.perf_counter()
            outcome = run_finetune(project, "enet", settings, progress=progress,
                                   device=args.device, log=say)
            minutes = (time.perf_counter() - t0) / 60
            result = outcome.result
            after = score(result.best) if result.best is not None else None
            active = active_checkpoint(project)
            row = {
                "k": k, "edited": args.edited, "train_images": result.train_images,
                "val_images": outcome.record.get("metrics", {}).get("images"),
                "miou_start": miou_start, "miou_after": after,
                "miou_active": score(active) if active is not None else None,
                "change": None if after is None else after - miou_start,
                "first_epoch_change": curve[1] - curve[0] if len(curve) > 1 else None,
                "worst_change": min(curve[1:]) - curve[0] if len(curve) > 1 else None,
                "curve": [round(c, 4) for c in curve],
                "activated": outcome.activated, "verdict": outcome.reason,
                "recipe": outcome.record.get("recipe"),
                "steps": settings.steps, "minutes": round(minutes, 2),
            }
            results.append(row)
            say(_line(row))
    out = {"device": device_name(select_device(args.device)), "data": str(data),
           "start": str(start), "held_out": len(rest), "reviewed_part": len(part),
           "results": results}
    if not args.json:
        print(summary(out))
    return out


def _line(row: dict) -> str:
    def pts(v):
        return "n/a" if v is None else f"{100 * v:+.1f}"

    after = "n/a" if row["miou_after"] is None else f"{100 * row['miou_after']:.1f}%"
    return (f"  K={row['k']}: held-out mIoU {100 * row['miou_start']:.1f}% -> {after} "
            f"({pts(row['change'])} points); first epoch {pts(row['first_epoch_change'])}, "
            f"worst {pts(row['worst_change'])} vs epoch 0; {row['minutes']:.1f} min; "
            f"{row['verdict']}")


def summary(result: dict) -> str:
    lines = [f"bench adapt on {result['data']} ({result['device']}): K reviewed images of the "
             f"first {result['reviewed_part']}, held out the other {result['held_out']}"]
    lines += [_line(r) for r in result["results"]]
    return "\n".join(lines)
