"""`segstudio bench SUITE`: every benchmark lives in segstudio/bench/<suite>.py."""

from __future__ import annotations

import argparse
import importlib
import json

SUITES = {
    "models": "forward latency, parameters and GFLOPs per model, against smp where it has one",
    "core": "brush segment, undo memory and folder listing on large inputs, against naive ways",
    "predict": "folder prediction throughput against the bare model forward",
    "tiles": "tiled prediction of one big image against the bare forward over its pixels",
    "train": "training images/s against a plain hand-written PyTorch loop",
    "ui": "brush stroke with on-screen overlay refresh, and GUI stalls during background work",
    "loop": "labelling effort the correct/fine-tune loop saves: a simulated person relabels "
            "a pool",
    "finetune": "the Fine-tune defaults on 10 and 20 images of other classes: val mIoU, minutes",
    "adapt": "a click on Fine-tune on a new street: the shipped model before and after K "
             "reviewed images, on the held-out rest",
    "assist": "clicks per object (NoC@85/90) with the weight-free assisted tools against the "
              "polygon's vertices, per-click latency",
    "prompt": "one click on an object the prediction missed: fill against the object fill "
              "(the prediction as a prompt)",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark suite", description=__doc__)
    suites = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for name, help_text in SUITES.items():
        p = suites.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="print one JSON object with the figures")
        module = importlib.import_module(f"segstudio.bench.{name}")
        module.add_arguments(p)
        p.set_defaults(func=_run, bench_module=module)


def _run(args: argparse.Namespace) -> int:
    result = args.bench_module.run(args)
    if args.json:
        print(json.dumps(result, indent=None, default=float))
    return 0
