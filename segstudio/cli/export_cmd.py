"""`segstudio export FOLDER --format FMT --out PATH`: write a project's labels for other tools.

Formats: voc (Pascal VOC folder), cvat-mask (CVAT "Segmentation mask 1.1"; a .zip when PATH
ends in .zip, else a folder), coco (annotations/instances_<subset>.json + images/), color (RGB
colour masks + classes.json). Only reviewed labels are exported unless --all: predicted and
edited labels are not ground truth. Every file is written atomically; Ctrl+C leaves no
half-written file. See docs/formats.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segstudio.cli.common import TransferBar

FORMATS = ("voc", "cvat-mask", "coco", "color")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write labels as VOC, CVAT masks, COCO or colour masks",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", metavar="FOLDER", type=Path, help="the project folder")
    p.add_argument("--format", required=True, choices=FORMATS, metavar="FMT",
                   help=f"one of {', '.join(FORMATS)}")
    p.add_argument("--out", required=True, type=Path, metavar="PATH",
                   help="folder to write (must be empty unless --force); a .zip for cvat-mask")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--reviewed-only", dest="all", action="store_false",
                       help="export reviewed labels only (the default)")
    which.add_argument("--all", dest="all", action="store_true",
                       help="also export predicted and edited labels (not ground truth)")
    p.add_argument("--split", metavar="NAME=FRACTION", type=_split,
                   help="e.g. val=0.2 (or val=0.1,test=0.1): subsets with train/val lists; "
                   "the rest is train")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder / replace an existing zip")
    p.add_argument("--no-images", dest="images", action="store_false",
                   help="write labels only, not copies of the images")
    p.add_argument("--polygons", action="store_true",
                   help="coco: polygons (approximate) instead of exact RLE masks")
    p.set_defaults(func=run, all=False)


def _split(text: str) -> dict[str, float]:
    from segstudio.core.formats.common import parse_split

    try:
        return parse_split(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    from segstudio.core.formats import export_labels

    if args.polygons and args.format != "coco":
        from segstudio.cli import UsageError

        raise UsageError("--polygons is a coco option")
    bar = TransferBar()
    try:
        report = export_labels(args.folder, args.format, args.out, include_all=args.all,
                               split=args.split, force=args.force, images=args.images,
                               polygons=args.polygons, progress=bar)
    except KeyboardInterrupt:
        bar.close()
        print(f"segstudio export: the files already in {args.out} are complete (none is half "
              "written), but the export is not", file=sys.stderr)
        raise
    finally:
        bar.close()
    for line in report.summary():
        print(line)
    return 2 if report.problems else 0
