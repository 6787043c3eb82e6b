"""`segstudio eval DATA --checkpoint CKPT`: mIoU, per-class IoU and pixel accuracy.

DATA is a project (its reviewed images) or a folder with images/ and labels/ (e.g.
../shared/datasets/camvid/val). Every image is predicted as in the app, at the scale the
checkpoint learnt (--scale auto) with the result at the image's own size; metrics come from one
confusion matrix over all pixels (void pixels ignored).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from segstudio.cli.common import load_predictor
from segstudio.cli.options import add_scale_argument, checkpoint_file, thread_count, tile_size


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure a checkpoint on labelled images",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", metavar="DATA", type=Path,
                   help="project folder, or folder with images/ and labels/")
    p.add_argument("--checkpoint", type=checkpoint_file, metavar="CKPT",
                   help="checkpoint (.safetensors with its .json; default: the project's "
                   "active model, else the shipped ENet)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object: {"miou", "iou": {class: value}, '
                   '"pixel_accuracy"} (fractions 0..1; null for a class never seen)')
    p.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("--threads", type=thread_count, metavar="N", help="CPU threads")
    p.add_argument("--tile", type=tile_size, default=1024,
                   help="largest side predicted in one piece (default 1024)")
    add_scale_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from segstudio.cli.options import fmt, set_threads
    from segstudio.core.problems import report_all
    from segstudio.core.project import Project
    from segstudio.engine.evaluate import evaluate
    from segstudio.engine.scale import parse_scale

    scale = parse_scale(args.scale, "--scale")
    set_threads(args.threads)
    project = Project.open(args.data)
    checkpoint = args.checkpoint
    if checkpoint is None:
        from segstudio.engine.workflow import active_checkpoint

        checkpoint = active_checkpoint(project)   # the project's active model, if any
    predictor, ckpt = load_predictor(checkpoint, args.device, args.tile, scale)
    report_all(project.listing_warnings, lambda line: print(line, file=sys.stderr),
               prefix="segstudio eval: warning: ", what="folder warnings")
    bar = _bar(args.json)
    try:
        metrics = evaluate(predictor, project, checkpoint=ckpt,
                           progress=None if bar is None else _tick(bar))
    finally:
        if bar is not None:
            bar.close()
    assert metrics is not None  # no cancel flag here
    if args.json:
        print(json.dumps({k: metrics[k] for k in ("miou", "iou", "pixel_accuracy")}))
        return 0
    width = max(len(n) for n in metrics["iou"])
    print(f"{ckpt} on {args.data} ({metrics['images']} images)")
    for name, value in metrics["iou"].items():
        print(f"  {name:<{width}}  IoU {fmt(value)}%")
    print(f"mIoU {fmt(metrics['miou'])}%   pixel accuracy {fmt(metrics['pixel_accuracy'])}%")
    return 0


def _bar(quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    return tqdm(unit="img", leave=False, dynamic_ncols=True, disable=None)


def _tick(bar):
    def update(event) -> None:
        bar.total = event.total
        bar.update(event.done - bar.n)
    return update
