"""`segstudio segment IMAGES --checkpoint CKPT --out DIR`: label images with a network.

IMAGES: image files and/or folders (a project's images/ or a plain folder, searched
recursively). Writes DIR/NAME.png per image (a palette PNG of class indices, keeping
sub-folders), at each image's native size; large images are predicted in overlapping tiles.
An unreadable image is reported and skipped; the exit code is then 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePosixPath

from segstudio.engine.cliutil import (
    batch_size,
    checkpoint_file,
    output_folder,
    thread_count,
    tile_size,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segment", help="write predicted label maps for images",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", metavar="IMAGES", nargs="+", type=Path,
                   help="image files or folders")
    p.add_argument("--out", required=True, type=output_folder, metavar="DIR",
                   help="folder for the label PNGs (created if needed)")
    p.add_argument("--checkpoint", type=checkpoint_file, metavar="CKPT",
                   help="checkpoint (.safetensors with its .json; default: the shipped ENet "
                   "road-scene model)")
    p.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("--threads", type=thread_count, metavar="N", help="CPU threads")
    p.add_argument("--batch", type=batch_size, default=1, metavar="B",
                   help="images per forward when they share a size (default 1; more helps GPUs)")
    p.add_argument("--tile", type=tile_size, default=1024,
                   help="largest side predicted in one piece (default 1024)")
    p.set_defaults(func=run)


def collect(inputs: list[Path]) -> list[tuple[Path, str]]:
    """(image path, output name relative to DIR) for every input; names must not collide."""
    from segstudio.cli import UsageError
    from segstudio.core.imageio import is_image_name
    from segstudio.core.problems import report_all
    from segstudio.core.project import Project

    items: list[tuple[Path, str]] = []
    for path in inputs:
        if path.is_dir():
            project = Project.open(path)
            items += [(e.path, e.key) for e in project.entries]
            report_all(project.listing_warnings, _stderr, prefix="segstudio segment: warning: ",
                       what="folder warnings")
        elif path.is_file():
            if not is_image_name(path.name):
                raise UsageError(f"{path}: not an image file name")
            items.append((path, path.name))
        else:
            raise UsageError(f"{path}: no such file or folder")
    if not items:
        raise UsageError(f"no images in {', '.join(map(str, inputs))}")
    seen: dict[str, Path] = {}
    out = []
    for image, key in items:
        name = PurePosixPath(key).with_suffix(".png").as_posix()
        if name in seen:
            raise UsageError(f"{image} and {seen[name]} would both be written as {name}")
        seen[name] = image
        out.append((image, name))
    return out


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from segstudio.cli.eval_cmd import load_predictor
    from segstudio.core.errors import WriteError
    from segstudio.core.labels import write_label
    from segstudio.core.problems import ProblemReport
    from segstudio.engine.cliutil import set_threads
    from segstudio.engine.predict import predict_paths

    items = collect(args.images)
    set_threads(args.threads)
    predictor, _ = load_predictor(args.checkpoint, args.device, args.tile)
    names = {image: name for image, name in items}
    failed = ProblemReport(lambda line: tqdm.write(line, file=sys.stderr), what="unreadable images",
                           prefix="segstudio segment: skipped ", name="segstudio-segment-skipped")
    with tqdm(total=len(items), unit="img", dynamic_ncols=True, disable=None, leave=False) as bar:
        for result in predict_paths(predictor, [i for i, _ in items], batch=args.batch):
            bar.update(1)
            if result.error is not None:
                failed.add(result.error)
                continue
            target = args.out / names[result.path]
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WriteError(target.parent, f"cannot create folder ({exc})") from None
            write_label(target, result.labels, predictor.meta.classes)
    failed.finish()
    print(f"wrote {len(items) - failed.count} label maps to {args.out}"
          + (f"; {failed.count} unreadable images skipped" if failed.count else ""))
    return 2 if failed.count else 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
