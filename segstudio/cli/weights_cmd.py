"""`segstudio weights list|fetch|import`: the pretrained weights segstudio knows and getting them.

  segstudio weights list [--json]             what is known, and whether it is on this machine
  segstudio weights fetch NAME [--mirror URL] download into the torch hub cache, verified
  segstudio weights import NAME FILE          copy a file fetched elsewhere, verified

Mirror: a base URL (or folder) holding torchvision's file names; --mirror, else
$SEGSTUDIO_WEIGHTS_MIRROR. Every file is checked against the SHA-256 prefix in its name before
it is kept; a failed or interrupted transfer leaves nothing in the cache.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "weights", help="list, download or import pretrained weights", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser("list", help="the known weights, their size and whether present")
    p.add_argument("--json", action="store_true", help="a JSON list of objects instead of a table")
    p.set_defaults(func=run_list)
    p = actions.add_parser("fetch", help="download NAME into the torch hub cache (verified)")
    p.add_argument("name")
    p.add_argument("--mirror", metavar="URL",
                   help="base URL or folder holding the same file names "
                        "(default: $SEGSTUDIO_WEIGHTS_MIRROR, else torchvision's URL)")
    p.set_defaults(func=run_fetch)
    p = actions.add_parser("import", help="copy FILE into the hub cache as NAME (verified)")
    p.add_argument("name")
    p.add_argument("file", type=Path)
    p.set_defaults(func=run_import)


def run_list(args: argparse.Namespace) -> int:
    from segstudio.engine.weights import format_size, list_weights

    rows = list_weights()
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    table = [("NAME", "STATUS", "SIZE", "USED BY", "FILE")]
    for r in rows:
        state = ("shipped" if r.kind == "shipped" else "present") if r.present else "missing"
        table.append((r.name, state, format_size(r.size), r.used_by, str(r.path)))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[4]]))
    return 0


def _bar(name: str):
    """A tqdm bar fed with TransferProgress events; returns (callback, close)."""
    from tqdm import tqdm

    bar = None

    def update(p) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=p.total, desc=p.file, unit="B", unit_scale=True, file=sys.stderr,
                       dynamic_ncols=True, leave=True)
        bar.update(p.done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close


def run_fetch(args: argparse.Namespace) -> int:
    from segstudio.engine.weights import (
        MIRROR_ENV,
        WeightsUnreachable,
        fetch,
        format_size,
        source_url,
        status,
    )

    st = status(args.name)
    if st.present and st.kind == "shipped":
        print(st.path)
        return 0
    url = source_url(args.name, args.mirror)  # a bad name or mirror fails here, in one line
    if st.present:
        print(f"{st.file} is already present", file=sys.stderr)
        print(st.path)
        return 0
    print(f"downloading {st.file} ({format_size(st.size)}) from {url}", file=sys.stderr)
    update, close = _bar(st.file)
    try:
        path = fetch(args.name, args.mirror, progress=update)
    except WeightsUnreachable as exc:
        raise WeightsUnreachable(exc.path, f"{exc.problem}; from a machine without access, "
                                 "use --mirror URL (or $" + MIRROR_ENV + "), or copy the file "
                                 f"over and run `segstudio weights import {args.name} FILE`"
                                 ) from None
    finally:
        close()
    print(path)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from segstudio.engine.weights import import_file

    update, close = _bar(args.name)
    try:
        path = import_file(args.name, args.file, progress=update)
    finally:
        close()
    print(path)
    return 0
