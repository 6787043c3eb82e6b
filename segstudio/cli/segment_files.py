"""`segstudio segment IMAGES --out DIR`: label maps written elsewhere, never over an input
image and never over an existing file unless asked; every refusal comes before any write."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path, PurePosixPath


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


def _key(path: Path) -> str:
    return os.path.normcase(str(path.resolve()))


def check_targets(items: list[tuple[Path, str]], out: Path, overwrite: bool) -> None:
    """UsageError naming the first file that must not be written, before anything is."""
    from segstudio.cli import UsageError

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    inputs = {_key(image) for image, _ in items}
    for image, name in items:
        target = out / name
        if _key(target) in inputs:
            raise UsageError(f"--out {out}: would write {target} over an input image "
                             f"({image}); choose another folder")
    # Label maps beside the photos (JPEG inputs, PNG outputs: no name clash) would be listed
    # as images by the next run, and mixed with them for good.
    folders = {_key(image.parent): image.parent for image, _ in items}
    for _, name in items:
        target = out / name
        if _key(target.parent) in folders:
            raise UsageError(f"--out {out}: would put label maps among the input images in "
                             f"{folders[_key(target.parent)]} (the next run would take them "
                             "for images); choose another folder")
    # A project's labels folder belongs to the project's states: in place is the way there.
    resolved = out.resolve()
    for folder in (resolved, *resolved.parents):
        root = folder.parent
        if folder.name == "labels" and ((root / "images").is_dir()
                                        or (root / "segstudio.json").is_file()):
            raise UsageError(f"--out {out}: is inside the labels folder of the project {root}; "
                             f"use `segstudio segment {root}` to segment it in place (that "
                             "keeps reviewed and edited labels)")
    if overwrite:
        return
    for _, name in items:
        target = out / name
        if target.exists():
            raise UsageError(f"--out {out}: {target} exists; give --overwrite to replace the "
                             "files there")


def segment_to_folder(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from segstudio.cli.common import load_predictor, segment_progress
    from segstudio.cli.options import set_threads
    from segstudio.core.errors import WriteError
    from segstudio.core.labels import write_label
    from segstudio.core.problems import ProblemReport
    from segstudio.engine.distributed import env_info
    from segstudio.engine.predict import predict_paths

    items = collect(args.images)
    check_targets(items, args.out, args.overwrite)
    info = env_info()
    if info.world > 1:
        items = items[info.rank::info.world]
    set_threads(args.threads)
    predictor, _ = load_predictor(args.checkpoint, args.device, args.tile, args.scale)
    names = {image: name for image, name in items}
    failed = ProblemReport(lambda line: tqdm.write(line, file=sys.stderr), what="unreadable images",
                           prefix="segstudio segment: skipped ", name="segstudio-segment-skipped")
    with tqdm(total=len(items), unit="img", dynamic_ncols=True,
              disable=None if info.main else True, leave=False) as bar:
        for result in predict_paths(predictor, [i for i, _ in items], batch=args.batch,
                                    progress=segment_progress(bar)):
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
    if info.main:
        print(f"wrote {len(items) - failed.count} label maps to {args.out}"
              + (f"; {failed.count} unreadable images skipped" if failed.count else ""))
    return 2 if failed.count else 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
