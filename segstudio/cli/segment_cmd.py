"""`segstudio segment`: placeholder until the engine lands (replaced by the engine work)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("segment", help="(not available yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segstudio.cli import UsageError

    raise UsageError("not available yet")
