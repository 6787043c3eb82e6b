"""`segstudio train DATA --arch NAME --epochs N --out DIR`: train or fine-tune a network.

DATA is a segstudio project (its reviewed images) or a folder with images/ and labels/
(e.g. ../shared/datasets/camvid/train; classes.json is read from DATA or its parent).
Writes DIR/best.safetensors + DIR/best.json (the epoch with the best validation mIoU),
DIR/last.* (the latest epoch) and DIR/train_state.safetensors (for --resume).
Runs on several GPUs with: torchrun --nproc_per_node N -m segstudio train ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from segstudio.engine.cliutil import (
    batch_size,
    checkpoint_file,
    fraction,
    non_negative_float,
    output_folder,
    parse_size,
    positive_float,
    positive_int,
    seed,
    thread_count,
    worker_count,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train or fine-tune a network on labelled images",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", metavar="DATA", type=Path,
                   help="project folder, or folder with images/ and labels/")
    p.add_argument("--arch", required=True, metavar="NAME",
                   help="architecture (see `segstudio models`), e.g. enet")
    p.add_argument("--epochs", required=True, type=positive_int, metavar="N",
                   help="number of passes over the training images")
    p.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                   help="folder for best.*, last.* and train_state.safetensors")
    p.add_argument("--size", type=parse_size, default=(360, 480), metavar="HxW",
                   help="training crop and validation size (default 360x480)")
    p.add_argument("--batch", type=batch_size, default=8, metavar="B",
                   help="images per step and process (default 8)")
    p.add_argument("--init", type=checkpoint_file, metavar="CKPT",
                   help="start from this checkpoint (same architecture; if its classes differ, "
                   "the matching layers load and the head starts fresh)")
    p.add_argument("--lr", type=positive_float, default=5e-4,
                   help="peak learning rate (default 5e-4)")
    p.add_argument("--optimizer", choices=("adam", "adamw"), default="adam",
                   help="Adam with L2 decay or AdamW (default adam)")
    p.add_argument("--schedule", choices=("poly", "cosine", "constant"), default="poly",
                   help="learning-rate decay over all steps (default poly, power 0.9)")
    p.add_argument("--weight-decay", type=non_negative_float, default=2e-4, help="default 2e-4")
    p.add_argument("--weighting", choices=("none", "median", "enet"), default="none",
                   help="class weights from the training labels: median frequency, or ENet's "
                   "1/ln(1.02+p) (default none)")
    p.add_argument("--dice", action="store_true", help="add a soft Dice loss to cross-entropy")
    p.add_argument("--val", type=Path, metavar="DIR",
                   help="validation folder/project (default: a deterministic split of DATA)")
    p.add_argument("--val-fraction", type=fraction, default=0.1, metavar="F",
                   help="share of DATA held out for validation when --val is not given "
                   "(default 0.1; chosen by a hash of each image name)")
    p.add_argument("--patience", type=positive_int, metavar="N",
                   help="stop early after N epochs without a better validation mIoU")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from DIR/train_state.safetensors")
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
    from segstudio.engine.cliutil import set_threads
    from segstudio.engine.distributed import env_info
    from segstudio.engine.train import TrainConfig, train
    from segstudio.models import list_models

    if args.arch not in list_models():
        raise UsageError(f"unknown architecture {args.arch!r}; choose one of: "
                         f"{', '.join(list_models())}")
    if not 0 <= args.val_fraction < 1:
        raise UsageError(f"--val-fraction {args.val_fraction}: must be in [0, 1)")
    if args.init is not None and not args.init.with_suffix(".safetensors").is_file() \
            and not args.init.is_file():
        raise UsageError(f"{args.init}: checkpoint not found")
    set_threads(args.threads)
    config = TrainConfig(
        arch=args.arch, data=args.data, out_dir=args.out, epochs=args.epochs, size=args.size,
        batch=args.batch, lr=args.lr, weighting=args.weighting, dice=args.dice, init=args.init,
        val_fraction=args.val_fraction, val_dir=args.val, seed=args.seed,
        patience=args.patience, resume=args.resume, device=args.device, workers=args.workers,
        optimizer=args.optimizer, schedule=args.schedule, weight_decay=args.weight_decay,
        backbone=args.backbone,
    )
    main = env_info().main
    bar = _Bar(quiet=args.json or not main)
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
        "iou": result.metrics.get("iou"),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        from segstudio.engine.cliutil import fmt

        print(f"best epoch {result.best_epoch}/{result.epochs_done}: val mIoU "
              f"{fmt(summary['miou'])}%, pixel accuracy {fmt(summary['pixel_accuracy'])}% "
              f"({result.seconds / 60:.1f} min)")
        print(f"wrote {summary['best']} and {summary['last']}")
    return 0


class _Bar:
    """tqdm bar per epoch, log lines above it, epoch metrics as lines (stderr)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None

    def __call__(self, event) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        from segstudio.engine.cliutil import fmt

        if event.kind == "log":
            tqdm.write(event.message)
        elif event.kind == "step":
            if self.bar is None:
                self.bar = tqdm(total=event.steps, desc=f"epoch {event.epoch}/{event.epochs}",
                                unit="step", leave=False, dynamic_ncols=True, disable=None)
            self.bar.n = event.step
            self.bar.set_postfix(loss=f"{event.loss:.3f}", lr=f"{event.lr:.2e}", refresh=False)
            self.bar.refresh()
        elif event.kind == "epoch":
            self.close()
            m = event.metrics or {}
            eta = f", eta {event.eta_s / 60:.1f} min" if event.eta_s is not None else ""
            tqdm.write(f"epoch {event.epoch}/{event.epochs}: loss {event.loss:.4f}, val mIoU "
                       f"{fmt(m.get('miou'))}%, pixel acc {fmt(m.get('pixel_accuracy'))}%{eta}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
