"""`segstudio gui [FOLDER]`: the desktop app (also the default with no command)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("gui", help="open the desktop app", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, help="folder of images to open directly")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segstudio.cli import UsageError

    if args.folder is not None and not args.folder.is_dir():
        raise UsageError(f"{args.folder}: not a folder")
    from segstudio.ui.app import run_app

    return run_app(args.folder)
