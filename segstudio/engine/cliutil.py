"""Small helpers shared by the train/segment/eval commands. No torch import at module level:
the commands' parsers are built for every `segstudio --help`."""

from __future__ import annotations

import argparse
import re


def parse_size(text: str) -> tuple[int, int]:
    """"360x480" -> (360, 480): HxW, each a positive integer >= 32."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×,]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected HxW, e.g. 360x480")
    h, w = int(m.group(1)), int(m.group(2))
    if h < 32 or w < 32:
        raise argparse.ArgumentTypeError(f"size {text!r}: height and width must be >= 32")
    return h, w


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


SCALE_HELP = ("inference scale: auto (default: resize each image so objects have the size "
              "the checkpoint learnt, predict, upsample the logits back), native (never "
              "resize) or a factor such as 0.5")


def add_scale_argument(parser: argparse.ArgumentParser) -> None:
    """--scale for segment/eval/bench, kept as text: commands check it with
    `engine.scale.parse_scale(args.scale, "--scale")` (a one-line error, exit 2)."""
    parser.add_argument("--scale", default="auto", metavar="auto|native|F", help=SCALE_HELP)


def set_threads(threads: int | None) -> None:
    """Fewer intra-op threads than cores is often faster on a busy machine (no spin-waiting)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def fmt(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "  n/a"
    return f"{100 * value:5.1f}" if percent else f"{value:.4f}"
