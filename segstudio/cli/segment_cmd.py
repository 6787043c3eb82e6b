"""`segstudio segment IMAGES --checkpoint CKPT --out DIR`: label images with a network.

IMAGES: image files and/or folders (a project's images/ or a plain folder, searched
recursively). Writes DIR/NAME.png per image (a palette PNG of class indices, keeping
sub-folders), at each image's native size. By default (--scale auto) an image whose size puts
objects far from the size the checkpoint learnt is resized for the network and the logits are
upsampled back; large images are predicted in overlapping tiles, with the tiles of the
current image on the progress bar. An unreadable image is reported and skipped; the exit code
is then 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePosixPath

from segstudio.engine.cliutil import add_scale_argument, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segment", help="write predicted label maps for images",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", metavar="IMAGES", nargs="+", type=Path,
                   help="image files or folders")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="folder for the label PNGs (created if needed)")
    p.add_argument("--checkpoint", type=Path, metavar="CKPT",
                   help="checkpoint (.safetensors with its .json; default: the shipped ENet "
                   "road-scene model)")
    p.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("--threads", type=positive_int, metavar="N", help="CPU threads")
    p.add_argument("--batch", type=positive_int, default=1, metavar="B",
                   help="images per forward when they share a size (default 1; more helps GPUs)")
    p.add_argument("--tile", type=positive_int, default=1024,
                   help="largest side predicted in one piece (default 1024)")
    add_scale_argument(p)
    p.set_defaults(func=run)


def collect(inputs: list[Path]) -> list[tuple[Path, str]]:
    """(image path, output name relative to DIR) for every input; names must not collide."""
    from segstudio.cli import UsageError
    from segstudio.core.imageio import is_image_name
    from segstudio.core.project import Project

    items: list[tuple[Path, str]] = []
    for path in inputs:
        if path.is_dir():
            items += [(e.path, e.key) for e in Project.open(path).entries]
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
    from segstudio.engine.cliutil import set_threads
    from segstudio.engine.predict import predict_paths
    from segstudio.engine.scale import parse_scale

    scale = parse_scale(args.scale, "--scale")
    items = collect(args.images)
    set_threads(args.threads)
    predictor, _ = load_predictor(args.checkpoint, args.device, args.tile, scale)
    names = {image: name for image, name in items}
    failed = 0
    with tqdm(total=len(items), unit="img", dynamic_ncols=True, disable=None, leave=False) as bar:
        for result in predict_paths(predictor, [i for i, _ in items], batch=args.batch,
                                    progress=_show(bar)):
            if result.error is not None:
                failed += 1
                tqdm.write(f"segstudio segment: skipped {result.error}", file=sys.stderr)
                continue
            target = args.out / names[result.path]
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WriteError(target.parent, f"cannot create folder ({exc})") from None
            write_label(target, result.labels, predictor.meta.classes)
    print(f"wrote {len(items) - failed} label maps to {args.out}"
          + (f"; {failed} unreadable images skipped" if failed else ""))
    return 2 if failed else 0


def progress_text(event) -> str:
    """The bar's note for a progress event: the tiles of a big image, else nothing."""
    if event.tiles_total is None or event.tiles_total < 2:
        return ""
    return f"{event.path.name}: tile {event.tiles_done}/{event.tiles_total}"


def _show(bar):
    """Progress callback moving the bar by images and, inside a big image, by its tiles."""
    def update(event) -> None:
        fraction = 0.0
        if event.tiles_total:
            fraction = event.tiles_done / event.tiles_total
        bar.n = round(event.done + min(fraction, 0.999), 3)
        bar.set_postfix_str(progress_text(event), refresh=False)
        bar.refresh()
    return update
