"""Small helpers shared by the train/segment/eval commands. No torch import at module level:
the commands' parsers are built for every `segstudio --help`.

The `type=` functions below check an option's value when the command line is parsed, before
any data is read or any work starts; argparse turns their ArgumentTypeError into one line
naming the option ("argument --lr: 'nan' is not a finite number") and exit code 2. The same
rules hold for the GUI through `engine.train_validate.validate_config`.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path

from segstudio.engine.limits import (
    MAX_BATCH,
    MAX_SEED,
    MAX_THREADS,
    MAX_TILE,
    MAX_WORKERS,
    MIN_SIDE,
    MIN_TILE,
)


def parse_size(text: str) -> tuple[int, int]:
    """"360x480" -> (360, 480): HxW, each a positive integer >= 32, at most max_pixels() in
    all (a training crop is never larger than the largest image segstudio reads)."""
    from segstudio.core.imageio import size_problem

    m = re.fullmatch(r"\s*(\d+)\s*[xX×,]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected HxW, e.g. 360x480")
    h, w = int(m.group(1)), int(m.group(2))
    if h < MIN_SIDE or w < MIN_SIDE:
        raise argparse.ArgumentTypeError(f"size {text!r}: height and width must be >= "
                                         f"{MIN_SIDE}")
    problem = size_problem(w, h)
    if problem:
        raise argparse.ArgumentTypeError(f"size {text!r}: {problem}")
    return h, w


def _int(text: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def int_between(low: int, high: int) -> Callable[[str], int]:
    """A `type=` for whole numbers in [low, high]."""

    def parse(text: str) -> int:
        value = _int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be from {low} to {high}")
        return value

    parse.__name__ = f"whole number {low}..{high}"
    return parse


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (a learning rate: NaN or inf would train a NaN network)."""
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def non_negative_float(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def fraction(text: str) -> float:
    """A share in [0, 1)."""
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 0 and below 1")
    return value


def seed(text: str) -> int:
    """0 .. 2**63-1: the seed is offset per epoch and must stay within torch's 64 bits."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 0 to {MAX_SEED} (2**63-1)")
    return value


def schema_type(name: str) -> Callable[[str], int | float]:
    """A `type=` for setting `name` of core.settings_schema: the one range the project file,
    the Fine-tune panel and `validate_config` use, so `--lr 50` is refused here, before a
    project's settings are read or written."""
    from segstudio.core.settings_schema import setting

    spec = setting(name)

    def parse(text: str) -> int | float:
        value: int | float = _int(text) if spec.kind is int else _float(text)
        problem = spec.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{text!r} must be within {spec.range_text()} "
                                             f"({spec.what})")
        return value

    parse.__name__ = spec.what
    return parse


def crop_size(text: str) -> tuple[int, int]:
    """A training crop "HxW": `parse_size`, each side within the schema's height/width."""
    from segstudio.core.settings_schema import setting

    h, w = parse_size(text)
    for name, value in (("height", h), ("width", w)):
        spec = setting(name)
        if spec.problem(value):
            raise argparse.ArgumentTypeError(f"size {text!r}: {spec.what} must be within "
                                             f"{spec.range_text()}")
    return h, w


# Prediction batches (segment --batch); a training batch is the schema's (schema_type("batch")).
batch_size = int_between(1, MAX_BATCH)
thread_count = int_between(1, MAX_THREADS)
worker_count = int_between(0, MAX_WORKERS)
tile_size = int_between(MIN_TILE, MAX_TILE)


def output_folder(text: str) -> Path:
    """A folder to write into: it may not exist yet, but must not be a file (nor lie inside
    one) and must not be read-only."""
    from segstudio.engine.limits import output_folder_problem

    path = Path(text).expanduser()
    problem = output_folder_problem(path)
    if problem:
        raise argparse.ArgumentTypeError(f"{path}: {problem}")
    return path


def checkpoint_file(text: str) -> Path:
    """An existing checkpoint file (`x`, `x.safetensors` or `x.json` naming `x.safetensors`).
    Its content is checked when it is loaded, first thing in the command."""
    path = Path(text).expanduser()
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    weights = stem.with_name(stem.name + ".safetensors")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: is a folder, not a checkpoint file")
    if not weights.is_file():
        if path.is_file():
            raise argparse.ArgumentTypeError(f"{path}: not a checkpoint (expected "
                                             "NAME.safetensors with its NAME.json)")
        raise argparse.ArgumentTypeError(f"{weights}: no such checkpoint")
    return path


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
