"""`segstudio import PATH --format FMT --out FOLDER`: bring labels made elsewhere into a project.

Formats: voc (a VOC folder), cvat-mask (CVAT "Segmentation mask 1.1" zip or folder), coco (a
JSON file, or a folder with annotations/*.json), labelme (a folder of labelme / X-AnyLabeling
JSON files, or one file). FOLDER is created, or extended when it is a project already. Images
are copied (or linked with --link); labels are written as reviewed. Into an existing project
whose classes differ, pass --map-by-name or --map SOURCE=PROJECT; a reviewed label already
there is kept unless --overwrite-reviewed. Nothing of the source is modified.
See docs/formats.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("voc", "cvat-mask", "coco", "labelme")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import VOC, CVAT mask, COCO or labelme labels",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="PATH", type=Path, help="the dataset (file or folder)")
    p.add_argument("--format", required=True, choices=FORMATS, metavar="FMT",
                   help=f"one of {', '.join(FORMATS)}")
    p.add_argument("--out", required=True, type=Path, metavar="FOLDER",
                   help="the project folder to create or extend")
    p.add_argument("--images", type=Path, metavar="DIR",
                   help="where the images are, when the source does not hold them "
                   "(e.g. a CVAT export without images)")
    p.add_argument("--labels", type=Path, metavar="FILE",
                   help="labelme: labels.txt giving the classes and their order "
                   "(__ignore__ = void, _background_ = what no shape covers)")
    p.add_argument("--link", action="store_true",
                   help="link the images instead of copying them")
    p.add_argument("--overwrite-reviewed", action="store_true",
                   help="replace reviewed labels already in the project")
    p.add_argument("--map", action="append", default=[], metavar="SOURCE=PROJECT",
                   type=_pair, help="import source class SOURCE as project class PROJECT "
                   "(or as void); repeat for each")
    p.add_argument("--map-by-name", action="store_true",
                   help="match classes by name; add the source classes the project lacks")
    p.set_defaults(func=run)


def _pair(text: str) -> tuple[str, str]:
    src, sep, dst = text.partition("=")
    if not sep or not src or not dst:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SOURCE=PROJECT")
    return src, dst


def run(args: argparse.Namespace) -> int:
    from segstudio.cli.common import TransferBar
    from segstudio.core.formats import import_labels

    class_map = dict(args.map)
    if len(class_map) != len(args.map):
        from segstudio.cli import UsageError

        raise UsageError("--map: a source class is mapped twice")
    bar = TransferBar()
    try:
        report = import_labels(args.source, args.format, args.out, images=args.images,
                               labels=args.labels, link=args.link,
                               overwrite_reviewed=args.overwrite_reviewed, class_map=class_map,
                               map_by_name=args.map_by_name, progress=bar)
    except KeyboardInterrupt:
        bar.close()
        print(f"segstudio import: every label and image already in {args.out} is complete; "
              "run the import again to finish (reviewed labels are kept)", file=sys.stderr)
        raise
    finally:
        bar.close()
    for line in report.summary():
        print(line)
    return 2 if report.problems else 0
