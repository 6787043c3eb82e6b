"""The `segstudio` command: gui, models, train, segment, runs, classes, eval, import,
export, bench, weights.

Each subcommand lives in its own module here and exposes `register(subparsers)`, which adds
its parser and sets `func(args) -> int`. Heavy imports (torch, Qt) happen inside `func`, so
`segstudio --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from segstudio import __version__
from segstudio.core.errors import SegstudioError

# Order is the order shown in --help.
SUBCOMMANDS = ("gui", "models", "train", "segment", "runs", "classes", "eval", "import",
               "export", "bench", "weights")


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line naming the option, exit 2 (the usage is one --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="segstudio",
        description="Label images for semantic segmentation, auto-segment them with a network, "
        "brush-correct the masks and fine-tune the network on the corrections.",
    )
    parser.add_argument("--version", action="version", version=f"segstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"segstudio.cli.{name}_cmd")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        argv = ["gui"]
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, SegstudioError) as exc:
        # Bad input is the user's to fix: one line, no traceback.
        print(f"segstudio {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"segstudio {args.command}: interrupted", file=sys.stderr)
        return 130
