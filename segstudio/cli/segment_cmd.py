"""`segstudio segment`: label images with a network.

`segstudio segment PROJECT` segments a project folder in place, under the app's rules:
unlabeled and predicted images get the new prediction, edited images keep every pixel a person
painted (only the rest is re-predicted), reviewed images are left alone unless named with
--replace-reviewed. It prints what it did for each state. The checkpoint is the project's
active model unless --checkpoint says otherwise.

`segstudio segment IMAGES... --out DIR` writes DIR/NAME.png per image (a palette PNG of class
indices, keeping sub-folders) at each image's native size. It never writes over an input
image, and never over an existing file in DIR unless --overwrite is given: otherwise it stops
before writing anything, naming the file. An unreadable image is reported and skipped; the
exit code is then 2.

By default (--scale auto) an image whose size puts objects far from the size the checkpoint
learnt is resized for the network and the logits are upsampled back; large images are
predicted in overlapping tiles, with the tiles of the current image on the progress bar.

Under torchrun (`torchrun --nproc_per_node N -m segstudio segment ...`) each process takes
its own share of the images: the scale-out path for big folders on several GPUs or machines.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from segstudio.cli.options import (
    add_scale_argument,
    batch_size,
    checkpoint_file,
    output_folder,
    thread_count,
    tile_size,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segment", help="segment a project in place, or write label maps",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", metavar="IMAGES", nargs="+", type=Path,
                   help="a project folder (in place), or image files and/or folders with --out")
    p.add_argument("--out", type=output_folder, metavar="DIR",
                   help="folder for the label PNGs (created if needed); without it a single "
                   "folder is segmented in place as a project")
    p.add_argument("--overwrite", action="store_true",
                   help="with --out: replace label files already in DIR")
    p.add_argument("--replace-reviewed", action="append", default=[], metavar="IMAGE",
                   help="in place: also replace this reviewed image's label (its name as the "
                   "project lists it, e.g. sub/0001.jpg); repeat for more")
    p.add_argument("--checkpoint", type=checkpoint_file, metavar="CKPT",
                   help="checkpoint (.safetensors with its .json; default: the project's active "
                   "model, else the shipped ENet road-scene model)")
    p.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("--threads", type=thread_count, metavar="N", help="CPU threads")
    p.add_argument("--batch", type=batch_size, default=1, metavar="B",
                   help="images per forward when they share a size (default 1; more helps GPUs)")
    p.add_argument("--tile", type=tile_size, default=1024,
                   help="largest side predicted in one piece (default 1024)")
    add_scale_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segstudio.cli import UsageError
    from segstudio.engine.scale import parse_scale

    args.scale = parse_scale(args.scale, "--scale")

    if args.out is None:
        if len(args.images) != 1 or not args.images[0].is_dir():
            raise UsageError("without --out, give one project folder to segment in place "
                             "(or --out DIR to write label maps of images elsewhere)")
        if args.overwrite:
            raise UsageError("--overwrite is for --out; in place the image states decide")
        from segstudio.cli.segment_project import segment_in_place

        return segment_in_place(args)
    if args.replace_reviewed:
        raise UsageError("--replace-reviewed is for segmenting a project in place (no --out)")
    from segstudio.cli.segment_files import segment_to_folder

    return segment_to_folder(args)
