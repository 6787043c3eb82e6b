"""`segstudio train`: fine-tune a project, or train a network on a labelled folder.

`segstudio train PROJECT` fine-tunes the project exactly as the app's Fine-tune button does:
the same engine function, the project's own settings (or defaults derived from its images),
the same starting weights (the active model when it is this architecture; for ENet the shipped
CamVid model; for FCN/SegNet/U-Net/LinkNet their ImageNet encoder when downloaded), training on
the reviewed images and the touched pixels of edited ones. It records the run in the project and
makes it the active model only if it finished and is at least as good as the active one on the
same validation images (`segstudio runs PROJECT` lists them). Options given here override the
project's settings for this run and are kept as the project's settings.

`segstudio train DATA --arch NAME --epochs N --out DIR` trains on a project's reviewed images or
a folder with images/ and labels/ (e.g. ../shared/datasets/camvid/train; classes.json is read
from DATA or its parent) and writes DIR/best.safetensors + DIR/best.json (the epoch with the
best validation mIoU), DIR/last.* (the latest epoch) and DIR/train_state.safetensors (for
--resume). Runs on several GPUs with: torchrun --nproc_per_node N -m segstudio train ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from segstudio.cli.common import TrainBar
from segstudio.cli.options import (
    checkpoint_file,
    crop_size,
    non_negative_float,
    output_folder,
    positive_int,
    schema_type,
    seed,
    thread_count,
    worker_count,
)
from segstudio.core.settings_schema import WEIGHTINGS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train or fine-tune a network on labelled images",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", metavar="DATA", type=Path,
                   help="project folder, or folder with images/ and labels/")
    p.add_argument("--arch", metavar="NAME",
                   help="architecture (see `segstudio models`), e.g. enet; needed with --out "
                   "(a project defaults to its last one, else enet)")
    p.add_argument("--epochs", type=schema_type("epochs"), metavar="N",
                   help="with --out: number of passes over the training images")
    p.add_argument("--steps", type=schema_type("steps"), metavar="N",
                   help="length in optimiser steps (a project's default: 300 or more)")
    p.add_argument("--out", type=output_folder, metavar="DIR",
                   help="folder for best.*, last.* and train_state.safetensors; without it "
                   "DATA is fine-tuned as a project, as the app does")
    p.add_argument("--size", type=crop_size, metavar="HxW",
                   help="training crop size (default 360x480 with --out; a project's default "
                   "comes from its images)")
    p.add_argument("--batch", type=schema_type("batch"), metavar="B",
                   help="images per step and process (default 8)")
    p.add_argument("--init", type=checkpoint_file, metavar="CKPT",
                   help="start from this checkpoint (same architecture; if its classes differ, "
                   "the matching layers load and the head starts fresh)")
    # Ranges from core.settings_schema (the project file's): refused here, before anything.
    p.add_argument("--lr", type=schema_type("lr"), help="peak learning rate (default 5e-4)")
    p.add_argument("--optimizer", choices=("adam", "adamw"), default="adam",
                   help="Adam with L2 decay or AdamW (default adam)")
    p.add_argument("--schedule", choices=("poly", "cosine", "constant"), default="poly",
                   help="learning-rate decay over all steps (default poly, power 0.9)")
    p.add_argument("--weight-decay", type=non_negative_float, default=2e-4, help="default 2e-4")
    p.add_argument("--weighting", choices=WEIGHTINGS,
                   help="class weights from the training labels: median frequency, or ENet's "
                   "1/ln(1.02+p) (default none)")
    p.add_argument("--dice", action="store_true", help="add a soft Dice loss to cross-entropy")
    p.add_argument("--val", type=Path, metavar="DIR",
                   help="validation folder/project (default: a deterministic split of DATA)")
    p.add_argument("--val-fraction", type=schema_type("val_fraction"), metavar="F",
                   help="share of DATA held out for validation when --val is not given "
                   "(default 0.1; chosen by a hash of each image name)")
    p.add_argument("--patience", type=positive_int, metavar="N",
                   help="stop early after N epochs without a better validation mIoU")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from DIR/train_state.safetensors (a "
                   "project: its latest cancelled or interrupted run)")
    p.add_argument("--no-edited", action="store_true",
                   help="a project: train on reviewed images only, not on the touched pixels "
                   "of edited ones")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("--workers", type=worker_count, metavar="N",
                   help="data-loading processes (default: 0 on CPU, up to 8 on GPU)")
    p.add_argument("--threads", type=thread_count, metavar="N",
                   help="CPU threads for the network (default: torch's choice)")
    p.add_argument("--backbone", metavar="imagenet|PATH",
                   help="ImageNet backbone weights for new FCN/SegNet/U-Net/LinkNet models "
                   "(from the torch hub cache or a file; never downloaded)")
    p.add_argument("--json", action="store_true",
                   help="print the result as one JSON object instead of a summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segstudio.cli import UsageError
    from segstudio.models import list_models

    if args.arch is not None and args.arch not in list_models():
        raise UsageError(f"unknown architecture {args.arch!r}; choose one of: "
                         f"{', '.join(list_models())}")
    if args.val_fraction is not None and not 0 <= args.val_fraction < 1:
        raise UsageError(f"--val-fraction {args.val_fraction}: must be in [0, 1)")
    if args.init is not None and not args.init.with_suffix(".safetensors").is_file() \
            and not args.init.is_file():
        raise UsageError(f"{args.init}: checkpoint not found")
    if args.out is None:
        from segstudio.cli.train_project import train_project

        return train_project(args)
    return _train_folder(args)


def _train_folder(args: argparse.Namespace) -> int:
    from segstudio.cli import UsageError
    from segstudio.cli.options import set_threads
    from segstudio.engine.distributed import env_info
    from segstudio.engine.train import TrainConfig, train

    if args.arch is None:
        raise UsageError("--arch is needed with --out (see `segstudio models`)")
    if args.epochs is None and args.steps is None:
        raise UsageError("--epochs (or --steps) is needed with --out")
    set_threads(args.threads)
    config = TrainConfig(
        arch=args.arch, data=args.data, out_dir=args.out, epochs=args.epochs or 1,
        steps=args.steps, size=args.size or (360, 480), batch=args.batch or 8,
        lr=5e-4 if args.lr is None else args.lr, weighting=args.weighting or "none",
        dice=args.dice, init=args.init, val_dir=args.val,
        val_fraction=0.1 if args.val_fraction is None else args.val_fraction,
        seed=args.seed, patience=args.patience, resume=args.resume, device=args.device,
        workers=args.workers, optimizer=args.optimizer, schedule=args.schedule,
        weight_decay=args.weight_decay, backbone=args.backbone,
        train_edited=not args.no_edited,
    )
    main = env_info().main
    bar = TrainBar(quiet=args.json or not main)
    try:
        result = train(config, progress=bar)
    finally:
        bar.close()
    if not main:
        return 0
    summary = {
        "best": str(result.best) if result.best else None,
        "last": str(result.last) if result.last else None,
        "best_epoch": result.best_epoch, "epochs_done": result.epochs_done,
        "stopped_early": result.stopped_early, "seconds": round(result.seconds, 1),
        "miou": result.metrics.get("miou"), "pixel_accuracy": result.metrics.get("pixel_accuracy"),
        "iou": result.metrics.get("iou"), "status": result.status,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        from segstudio.cli.options import fmt

        if result.diverged:
            print(result.message)
        print(f"best epoch {result.best_epoch}/{result.epochs_done}: val mIoU "
              f"{fmt(summary['miou'])}%, pixel accuracy {fmt(summary['pixel_accuracy'])}% "
              f"({result.seconds / 60:.1f} min)")
        print(f"wrote {summary['best']} and {summary['last']}")
    return 2 if result.diverged else 0
