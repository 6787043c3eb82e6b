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
    from segstudio.ui.display_check import DisplayError, check_display, describe_import_error

    check_display()  # before Qt: a missing xcb library makes Qt abort the process
    try:
        from segstudio.ui.app import run_app
    except ImportError as exc:
        if "cannot open shared object file" not in str(exc):
            raise
        raise DisplayError(describe_import_error(exc)) from None

    return run_app(args.folder)
