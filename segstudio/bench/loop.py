"""Benchmark suite 'loop': how much labelling work segstudio's loop saves.

A simulated person labels a labelled pool (default CamVid train) with the app's own workflow
code (engine.workflow: segment_project, review_queue, run_finetune and its verdict), in a
temporary project that holds the pool's images and no labels: a label is revealed only when the
person corrects that image. The model starts knowing nothing of the pool (ENet from scratch by
default; `--arch`, `--start` for others). Each round the person takes the next `--round`
images in the order the app offers them, corrects the active model's prediction, and the
project is fine-tuned on everything corrected so far; the next images are predicted by the
model that the fine-tune's verdict left active.

Strategies, in one run: the project's order ("natural") or "Worst first" by confidence
("worst"); the whole image corrected or only its least confident pixels ("-partial").
Figures: per round the correction fraction (pixels corrected / pixels labelled, void
excluded), the val mIoU of the active model on held-out images, wall time; per strategy its
`ratio`, total pixels corrected over the pixels that painting from scratch would take. The
headline `ratio` is the best full-correction strategy's (partial ones leave wrong pixels,
reported as `residual_fraction`). Beside the pixels: the clicks and strokes of painting from
scratch and of correcting, manual and assisted (loop_actions.py, `--actions`).

Bounded to about 15 minutes on a 2-core CPU by default: the pool and the val images at half
size (`--scale`), 48 pool images, 4 rounds of 8, `--steps` per fine-tune, 24 val images.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

STRATEGIES = "natural,worst,natural-partial,worst-partial"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pool", type=Path,
                        help="labelled folder to label again (images/ + labels/ + classes.json; "
                        "default ../shared/datasets/camvid/train)")
    parser.add_argument("--val", type=Path,
                        help="held-out labelled folder for the per-round mIoU (default "
                        "../shared/datasets/camvid/val)")
    parser.add_argument("--pool-size", type=int, default=48,
                        help="pool images, evenly spaced over the folder in its order "
                        "(default 48; 0: all)")
    parser.add_argument("--round", type=int, default=8, dest="round_images",
                        help="images corrected per round (default 8)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds (default 4)")
    parser.add_argument("--scale", type=float, default=0.5,
                        help="resize pool and val images by this factor (default 0.5; 1: as "
                        "they are)")
    parser.add_argument("--steps", type=int, default=0,
                        help="optimiser steps per fine-tune (default 0: the app's own length "
                        "for the project, as the button)")
    parser.add_argument("--merge",
                        help="relabel the pool into other classes, e.g. coarse (road / "
                        "vehicle / person / other) or 'road:Road;car:Car;other:*'")
    parser.add_argument("--size", help="training crop HxW (default: the app's for the images)")
    parser.add_argument("--batch", type=int, help="batch size (default: the app's)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the app's)")
    parser.add_argument("--partial", type=float, default=0.2,
                        help="share of each image's pixels corrected by the partial "
                        "strategies, least confident first (default 0.2)")
    parser.add_argument("--strategies", default=STRATEGIES,
                        help=f"comma-separated, from {STRATEGIES} (default: all)")
    parser.add_argument("--arch", default="enet", help="architecture (default enet)")
    parser.add_argument("--start", default="scratch",
                        help="starting weights: scratch (default), app (the Fine-tune "
                        "button's choice: for ENet the shipped CamVid model, which knows "
                        "CamVid), imagenet (the encoder's ImageNet weights) or a checkpoint")
    parser.add_argument("--val-images", type=int, default=24,
                        help="val images for the per-round mIoU, evenly spaced (default 24; "
                        "0: all)")
    parser.add_argument("--actions", choices=("estimate", "simulate", "off"),
                        default="estimate",
                        help="also count the clicks and strokes of painting from scratch and "
                        "of correcting, manual (polygons) and assisted (the box): estimate "
                        "(default) the box's clicks from bench assist's per class figures, "
                        "simulate it on every object (~+75%% time), off: pixels only")
    parser.add_argument("--plot", type=Path, help="write the correction curves to this PNG")
    parser.add_argument("--keep", type=Path,
                        help="keep the simulated projects in this new folder")
    parser.add_argument("--device", help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")


def spaced(items: list, n: int) -> list:
    """n items evenly spaced over `items`, in their order (all when n is 0 or too large)."""
    if n <= 0 or n >= len(items):
        return list(items)
    return [items[math.floor(i * len(items) / n)] for i in range(n)]


def _prepare(folder: Path, dest: Path, n: int, scale: float, classes=None, *,
             labels: bool, merge: str | None = None):
    """dest/images (+ dest/labels when `labels`) from `n` of the folder's labelled images,
    resized by `scale`; returns (classes, {key: truth}, description)."""
    import cv2
    from PIL import Image

    from segstudio.core.imageio import read_image
    from segstudio.core.labels import read_label, write_label
    from segstudio.engine.data import load_source

    source = load_source(folder, classes)
    samples = spaced(source.samples, n)
    out_classes, lut = source.classes, None
    if merge:
        from segstudio.bench.loop_classes import MergeError, merged_classes
        from segstudio.cli import UsageError

        try:
            out_classes, lut = merged_classes(merge, source.classes)
        except MergeError as exc:
            raise UsageError(str(exc)) from None
    truth = {}
    for s in samples:
        image = read_image(s.image)
        label = read_label(s.label, source.classes, expected_shape=image.shape[:2])
        if lut is not None:
            label = lut[label]
        if scale != 1:
            h, w = label.shape
            size = (max(32, round(w * scale)), max(32, round(h * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            label = cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)
        key = str(Path(s.key).with_suffix(".png").as_posix())
        path = dest / "images" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
        if labels:
            (dest / "labels" / key).parent.mkdir(parents=True, exist_ok=True)
            write_label(dest / "labels" / key, label, out_classes)
        truth[key] = label
    out_classes.save(dest / "classes.json")
    h, w = next(iter(truth.values())).shape
    return out_classes, truth, f"{source.root} ({len(samples)} images at {w}x{h})"


def default_dir(name: str) -> Path:
    from segstudio.bench.train import camvid_root
    from segstudio.cli import UsageError

    root = camvid_root()
    if root is None:
        raise UsageError(f"--{name}: no default (../shared/datasets/camvid is absent); "
                         "give a labelled folder")
    return root / ("train" if name == "pool" else "val")


def first_start(args: argparse.Namespace):
    """The first fine-tune's StartChoice (None: the app's rule) and the checkpoint, if any,
    that is the active model before round 1."""
    from segstudio.cli import UsageError
    from segstudio.engine.workflow import StartChoice

    if args.start == "scratch":
        return StartChoice.scratch(), None
    if args.start == "app":
        return None, "app"
    if args.start == "imagenet":
        from segstudio.engine.weights import backbone_entry

        entry = backbone_entry(args.arch)
        if entry is None or not entry.present:
            raise UsageError(f"--start imagenet: {args.arch} has no ImageNet encoder here "
                             "(segstudio weights list)")
        return StartChoice(None, entry.name, f"from the ImageNet {entry.name} encoder"), None
    path = Path(args.start).expanduser()
    if not path.is_file():
        raise UsageError(f"--start: {path}: not scratch, app, imagenet or a checkpoint file")
    return StartChoice(path.resolve(), None, f"from {path}"), path.resolve()


def _check(args: argparse.Namespace) -> list:
    from segstudio.bench.loop_sim import strategy
    from segstudio.cli import UsageError

    for name, low in (("rounds", 1), ("round_images", 1), ("steps", 0), ("pool_size", 0),
                      ("val_images", 0)):
        if getattr(args, name) < low:
            raise UsageError(f"--{name.replace('_', '-')}: must be at least {low}")
    if not 0 < args.partial <= 1:
        raise UsageError("--partial: a share above 0 and at most 1")
    if not 0 < args.scale <= 4:
        raise UsageError("--scale: above 0 and at most 4")
    try:
        names = [s.strip() for s in args.strategies.split(",") if s.strip()]
        chosen = [strategy(s, args.partial) for s in dict.fromkeys(names)]
    except ValueError as exc:
        raise UsageError(f"--strategies: {exc}") from None
    if not chosen:
        raise UsageError("--strategies: none given")
    if args.keep is not None and args.keep.exists():
        raise UsageError(f"--keep: {args.keep} exists; give a new folder")
    return chosen


def run(args: argparse.Namespace) -> dict:
    from segstudio.cli.options import set_threads
    from segstudio.engine.device import device_name, select_device

    strategies = _check(args)
    set_threads(args.threads)
    pool = args.pool or default_dir("pool")
    val = args.val or default_dir("val")
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else \
        (lambda m: print(m, flush=True))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="segstudio-loop-") as tmp:
        work = Path(args.keep) if args.keep is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = _simulate(args, strategies, pool, val, work, say)
    result["device"] = device_name(select_device(args.device))
    result["seconds"] = round(time.perf_counter() - t0, 1)
    if args.plot is not None:
        from segstudio.bench.loop_plot import plot

        plot(result, args.plot)
        say(f"plot: {args.plot}")
    if not args.json:
        print(summary(result))
    return result


def _simulate(args, strategies, pool: Path, val: Path, work: Path, say) -> dict:
    from dataclasses import replace

    from segstudio.bench.loop_sim import Loop
    from segstudio.cli.options import parse_size
    from segstudio.core.project import Project
    from segstudio.engine.evaluate import evaluate
    from segstudio.engine.predict import Predictor
    from segstudio.engine.workflow import (
        active_checkpoint,
        finetune_settings,
        run_finetune,
        set_active,
    )

    start, active0 = first_start(args)
    classes, truth, pool_desc = _prepare(pool, work / "base", args.pool_size, args.scale,
                                         labels=False, merge=args.merge)
    needed = args.rounds * args.round_images
    if needed > len(truth):
        from segstudio.cli import UsageError

        raise UsageError(f"--rounds x --round: {needed} images, the pool has {len(truth)}")
    _, _, val_desc = _prepare(val, work / "val", args.val_images, args.scale,
                              None if args.merge else classes, labels=True, merge=args.merge)
    overrides = {"steps": args.steps or None, "batch": args.batch, "lr": args.lr}
    if args.size:
        h, w = parse_size(args.size)
        overrides |= {"height": h, "width": w}
    used: dict = {}

    def finetune(project: Project, first: bool):
        settings = finetune_settings(project, args.arch)
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        used.update(settings.to_dict())
        return run_finetune(project, args.arch, settings, start=start if first else None,
                            device=args.device, log=lambda _m: None)

    scores: dict[Path | None, float | None] = {None: None}

    def score(project: Project) -> float | None:
        active = active_checkpoint(project)
        if active not in scores:
            predictor = Predictor.from_checkpoint(active, args.device)
            scores[active] = evaluate(predictor, work / "val")["miou"]
        return scores[active]

    base = Project.open(work / "base")
    base.classes = classes
    if active0 is None:
        set_active(base, None)   # no model at all, not even the shipped default
    elif active0 != "app":
        from segstudio.engine.checkpoint import classes_mismatch, read_checkpoint

        _, meta = read_checkpoint(active0)
        set_active(base, active0 if classes_mismatch(classes, meta.classes) is None else None)
    base.save()
    say(f"loop benchmark: {args.arch} {args.start}, pool {pool_desc}, val {val_desc}")
    loops = {}
    counter = None
    if args.actions != "off":
        from segstudio.bench.loop_actions import ActionCounter, min_size_for
        from segstudio.bench.loop_effort import box_ratios

        counter = ActionCounter(min_size_for(next(iter(truth.values())).shape),
                                box_ratios(classes.names) if args.actions == "estimate"
                                else None)
    first = Loop(base, strategies[0], truth, classes, finetune, score, args.device,
                 actions=counter)
    # Without a model the first round is the same for every strategy (the person paints the
    # first images in the project's order): run it once and copy the project.
    shared = active_checkpoint(base) is None
    if shared:
        report = first.run_round(args.round_images)
        say(f"  all strategies round 1: {_line(report)}")
    for i, strat in enumerate(strategies):
        loop = first if i == 0 else (
            first.fork(work / strat.name, strat) if shared else
            Loop(_copy_base(work, strat.name), strat, truth, classes, finetune, score,
                 args.device, actions=counter))
        loops[strat.name] = loop
    for strat in strategies:
        loop = loops[strat.name]
        while len(loop.rounds) < args.rounds:
            report = loop.run_round(args.round_images)
            say(f"  {strat.name} round {report.round}: {_line(report)}")
    out = _report(args, loops, used, pool_desc, val_desc)
    if counter is not None:
        out["actions_seconds"] = round(counter.seconds, 1)
        out["actions_min_size"] = counter.min_size
    return out


def _copy_base(work: Path, name: str):
    import shutil

    from segstudio.core.project import Project

    return Project.open(shutil.copytree(work / "base", work / name, symlinks=True))


def _line(report) -> str:
    d = report.to_dict()
    miou = "n/a" if d["val_miou"] is None else f"{100 * d['val_miou']:.1f}%"
    return (f"{d['images']} images, corrected {100 * d['correction_fraction']:.1f}%, "
            f"val mIoU {miou}, {d['seconds']:.0f} s")


def _report(args, loops: dict, used: dict, pool_desc: str, val_desc: str) -> dict:
    from segstudio.bench.loop_actions import report as actions

    strategies = {}
    for name, loop in loops.items():
        t = loop.total
        rounds = [r.to_dict() for r in loop.rounds]
        strategies[name] = {
            "ratio": t.corrected / max(t.labelled, 1),
            "residual_fraction": t.residual / max(t.labelled, 1),
            "pixels_labelled": t.labelled, "pixels_corrected": t.corrected,
            "images": len(loop.done),
            "final_val_miou": rounds[-1]["val_miou"] if rounds else None,
            "seconds": round(sum(r["seconds"] for r in rounds), 1),
            "rounds": rounds,
        }
        if (counted := actions(loop.rounds)) is not None:
            strategies[name]["actions"] = counted
    full = {n: s for n, s in strategies.items() if loops[n].strategy.partial is None}
    best = min(full, key=lambda n: full[n]["ratio"]) if full else None
    return {
        "ratio": full[best]["ratio"] if best else None,
        "best": best,
        # the headline strategy's actions (each strategy has its own)
        "actions": strategies[best].get("actions") if best else None,
        "strategies": strategies,
        "arch": args.arch, "start": args.start,
        "pool": pool_desc, "val": val_desc,
        "round_images": args.round_images, "rounds": args.rounds, "scale": args.scale,
        "partial": args.partial,
        "finetune": {k: used.get(k) for k in ("steps", "height", "width", "batch", "lr")},
    }


def summary(result: dict) -> str:
    """The human table: one row per round and strategy, then the headline."""
    lines = [f"loop benchmark on {result['device']}: {result['arch']} from {result['start']}, "
             f"pool {result['pool']}, val {result['val']}",
             f"fine-tune per round: {result['finetune']}",
             f"  {'strategy':<16}{'round':>6}{'images':>8}{'corrected':>11}{'so far':>9}"
             f"{'left wrong':>11}{'val mIoU':>10}{'seconds':>9}"]
    for name, s in result["strategies"].items():
        for r in s["rounds"]:
            miou = "n/a" if r["val_miou"] is None else f"{100 * r['val_miou']:.1f}%"
            lines.append(f"  {name:<16}{r['round']:>6}{r['images']:>8}"
                         f"{100 * r['correction_fraction']:>10.1f}%"
                         f"{100 * r['ratio_so_far']:>8.1f}%"
                         f"{100 * r['residual_fraction']:>10.1f}%{miou:>10}"
                         f"{r['seconds']:>9.0f}")
    for name, s in result["strategies"].items():
        lines.append(f"  {name}: ratio {s['ratio']:.3f}, wrong pixels left "
                     f"{100 * s['residual_fraction']:.1f}%, final val mIoU "
                     + ("n/a" if s["final_val_miou"] is None
                        else f"{100 * s['final_val_miou']:.1f}%"))
    from segstudio.bench.loop_actions import summary_lines

    lines += summary_lines(result["strategies"])
    if result["ratio"] is not None:
        lines.append(f"ratio {result['ratio']:.3f} ({result['best']}): pixels corrected / pixels "
                     "painted from scratch; lower is better")
    lines.append(f"total {result['seconds'] / 60:.1f} min")
    return "\n".join(lines)
