"""Import labels made elsewhere into a new or existing project.

Images are copied (or linked) into the project's images folder, labels are written as REVIEWED
through `Project.save_label`, and the classes come from the source. Into an existing project
the classes must match, or be mapped explicitly (`class_map`, `map_by_name`); a REVIEWED label
already there is kept unless `overwrite_reviewed`. Nothing of the source is written to: every
write goes to the project folder, which may neither contain the source nor lie inside it.
"""

from __future__ import annotations

import filecmp
import importlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segstudio.core.atomic import TMP_SUFFIX, atomic_write_bytes
from segstudio.core.classes import ClassSet, default_classes
from segstudio.core.entries import ImageState
from segstudio.core.errors import ClassSetError, ProjectError, SegstudioError
from segstudio.core.formats.common import (
    CancelFn,
    Cancelled,
    ClassMismatchError,
    FormatError,
    Job,
    ProgressFn,
    Source,
    SourceItem,
    TransferProgress,
    plural,
    safe_key,
    stem,
)
from segstudio.core.formats.guards import check_image
from segstudio.core.imageio import is_image_name
from segstudio.core.listing import scan_files

IMPORT_FORMATS = ("voc", "cvat-mask", "coco", "labelme")
_MODULES = {"voc": "voc", "cvat-mask": "cvat", "coco": "coco", "labelme": "labelme"}


@dataclass
class ImportReport:
    format: str
    source: Path
    out: Path
    created: bool = False
    imported: int = 0
    kept_reviewed: int = 0
    replaced: dict[str, int] = field(default_factory=dict)   # earlier state -> labels replaced
    images: dict[str, int] = field(default_factory=dict)     # copied / linked / present
    classes_added: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> list[str]:
        verb = "created" if self.created else "extended"
        head = (f"imported {plural(self.imported, 'label')} as reviewed from {self.source} "
                f"({self.format}); {verb} project {self.out}")
        if self.cancelled:
            head = (f"cancelled: {plural(self.imported, 'label')} imported into {self.out} "
                    "before that; each is complete")
        lines = [head]
        if self.images:
            lines.append("images: " + ", ".join(f"{n} {k}" for k, n in self.images.items() if n))
        if self.kept_reviewed:
            lines.append(f"kept {plural(self.kept_reviewed, 'reviewed label')} already in the "
                         "project (--overwrite-reviewed replaces them)")
        if self.replaced:
            lines.append("replaced " + ", ".join(plural(n, f"{s} label")
                                                 for s, n in self.replaced.items()))
        if self.classes_added:
            lines.append(f"added classes to the project: {', '.join(self.classes_added)}")
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"found: {u}" for u in self.unknown]
        lines += [f"skipped: {p}" for p in self.problems]
        return lines


def open_source(path: str | Path, fmt: str, *, images: str | Path | None = None,
                labels: str | Path | None = None) -> Source:
    """Read a dataset of `fmt` (its classes and items; masks load lazily). Close it after."""
    path = Path(path).expanduser().absolute()
    if fmt not in _MODULES:
        raise FormatError(path, f"unknown import format {fmt!r} (one of "
                          f"{', '.join(IMPORT_FORMATS)})")
    if labels is not None and fmt != "labelme":
        raise FormatError(Path(labels), "a labels file is a labelme option")
    module = importlib.import_module(f"segstudio.core.formats.{_MODULES[fmt]}")
    kwargs = {"images": None if images is None else Path(images).expanduser().absolute()}
    if labels is not None:
        kwargs["labels"] = Path(labels).expanduser().absolute()
    if kwargs["images"] is not None and not kwargs["images"].is_dir():
        raise FormatError(kwargs["images"], "images folder not found")
    return module.read(path, **kwargs)


def reconcile(src: ClassSet, dst: ClassSet, class_map: Mapping[str, str] | None,
              map_by_name: bool, where: Path) -> tuple[ClassSet, np.ndarray, list[str], list[str]]:
    """(project classes after the import, (256,) table source index -> project index, classes
    added, notes). Same names in the same order map as they are; anything else needs
    `class_map` pairs (other classes then must keep their names) or `map_by_name`, which also
    adds the source classes the project lacks."""
    class_map = dict(class_map or {})
    for name in class_map:
        if name not in src.names:
            raise ClassMismatchError(f"--map {name}={class_map[name]}: the source has no class "
                                     f"{name!r} (it has {', '.join(src.names)})")
    new = dst.copy()
    lut = np.full(256, new.ignore_index, np.uint8)
    notes: list[str] = []
    added: list[str] = []
    if src.names == dst.names and not class_map:
        lut[: src.num_classes] = np.arange(src.num_classes)
        recoloured = [n for n, a, b in zip(src.names, src.colors, dst.colors, strict=True)
                      if a != b]
        if recoloured:
            notes.append(f"the source colours of {', '.join(recoloured)} differ; the project's "
                         "are kept")
        return new, lut, added, notes
    if not class_map and not map_by_name:
        only_src = [n for n in src.names if n not in dst.names]
        only_dst = [n for n in dst.names if n not in src.names]
        parts = []
        if only_src:
            parts.append(f"source only: {', '.join(only_src)}")
        if only_dst:
            parts.append(f"project only: {', '.join(only_dst)}")
        if not parts:
            parts.append("same names in another order")
        raise ClassMismatchError(
            f"{where}: the project's classes differ from the source's ({'; '.join(parts)}); "
            "match them by name (--map-by-name) or map each one (--map SOURCE=PROJECT)"
        )
    unresolved = []
    for i, name in enumerate(src.names):
        target = class_map.get(name)
        if target is not None:
            if target in new.names:
                lut[i] = new.names.index(target)
            elif target in (new.ignore_name, "void"):
                lut[i] = new.ignore_index
            else:
                raise ClassMismatchError(
                    f"--map {name}={target}: the project has no class {target!r} (it has "
                    f"{', '.join(new.names)}, and {new.ignore_name!r} for void)")
        elif name in new.names:
            lut[i] = new.names.index(name)
        elif map_by_name:
            color = src.colors[i] if src.colors[i] not in {*new.colors, new.ignore_color} else None
            try:
                lut[i] = new.add(name, color)
            except ClassSetError as e:
                raise ClassMismatchError(f"{where}: cannot add class {name!r}: {e}") from None
            added.append(name)
        else:
            unresolved.append(name)
    if unresolved:
        raise ClassMismatchError(
            f"{where}: source classes {', '.join(unresolved)} are not in the project and not "
            "mapped; add --map SOURCE=PROJECT for each, or --map-by-name to add them")
    return new, lut, added, notes


def _is_fresh(project) -> bool:
    """A folder segstudio has not set up: no project file, no labels, no classes.json."""
    return (not project.project_file.is_file() and not scan_files(project.labels_dir, (".png",))
            and project.classes == default_classes())


def _check_paths(source: Path, out: Path) -> None:
    s, o = source.resolve(), out.resolve()
    if s == o or s.is_relative_to(o) or (source.is_dir() and o.is_relative_to(s)):
        raise FormatError(out, f"the project and the source {source} must not contain each "
                          "other (nothing of the source is written to); choose another folder")


def _symlink(target: Path, dst: Path) -> None:
    """Atomically make `dst` a symbolic link to `target`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=TMP_SUFFIX, dir=dst.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        os.symlink(target, tmp)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _inside(folder: Path, root: Path) -> None:
    """FormatError unless `folder` (or, before it exists, its nearest existing parent) really
    lies in `root`: a folder link in the project leading out is never written through, not
    even to create a folder."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.resolve().is_relative_to(root):
        raise FormatError(folder, "leads outside the project's images folder (a folder link?); "
                          "not written")


def _place_image(item: SourceItem, dst: Path, link: bool, images_root: Path) -> str:
    """Copy / link the image to `dst`: 'copied', 'linked' or 'present' (same file there)."""
    if os.path.lexists(dst):
        if not dst.is_file():
            raise FormatError(dst, "exists and is not an image file; not replaced")
        same = (filecmp.cmp(item.image, dst, shallow=False) if item.image is not None
                else dst.read_bytes() == item.image_bytes())  # type: ignore[misc]
        if same:
            return "present"
        raise FormatError(dst, "exists with other content; left as it is, label not imported")
    # Header first: a zip member or embedded imageData that is not an image within the pixel
    # limit (say a gigabyte of zeros behind a small header) never reaches the project.
    data = None
    if item.image is not None:
        check_image(item.image, item.image)
    else:
        data = item.image_bytes()  # type: ignore[misc]
        check_image(data, dst)
    _inside(dst.parent, images_root)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FormatError(dst.parent, f"cannot create folder ({e.strerror or e})") from None
    _inside(dst.parent, images_root)
    if item.image is not None and link:
        try:
            _symlink(item.image.resolve(), dst)
        except OSError as e:
            raise FormatError(dst, f"cannot link the image ({e.strerror or e})") from None
        return "linked"
    if data is None:
        try:
            data = item.image.read_bytes()  # type: ignore[union-attr]
        except OSError as e:
            raise FormatError(item.image, f"cannot read ({e.strerror or e})") from None
    atomic_write_bytes(dst, data)
    return "copied"


def import_labels(
    source: str | Path,
    fmt: str,
    out: str | Path,
    *,
    images: str | Path | None = None,
    labels: str | Path | None = None,
    link: bool = False,
    overwrite_reviewed: bool = False,
    class_map: Mapping[str, str] | None = None,
    map_by_name: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> ImportReport:
    """Import `source` (`fmt`) into the project folder `out` (created when missing)."""
    from segstudio.core.project import Project

    source = Path(source).expanduser().absolute()
    out = Path(out).expanduser().absolute()
    job = Job(progress, cancel)
    if progress is not None:
        progress(TransferProgress("scan", 0, 0))
    if not source.exists():
        raise FormatError(source, "no such file or folder")
    _check_paths(source, out)
    if out.exists() and not out.is_dir():
        raise FormatError(out, "exists and is not a folder")
    src = open_source(source, fmt, images=images, labels=labels)
    report = ImportReport(fmt, source, out)
    try:
        created = not out.exists() or not any(out.iterdir())
        if created:
            try:
                (out / "images").mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise FormatError(out, f"cannot create the project ({e.strerror or e})") from None
        project = Project.open(out)
        if project.read_only:
            raise ProjectError(f"{project.root}: read-only folder; cannot import into it")
        if created or _is_fresh(project):
            classes, lut = src.classes.copy(), np.arange(256, dtype=np.uint8)
            lut[src.classes.ignore_index] = classes.ignore_index
            added, notes = [], []
        else:
            classes, lut, added, notes = reconcile(src.classes, project.classes, class_map,
                                                   map_by_name, out)
        report.created, report.classes_added = created, added
        report.notes = [*src.notes, *notes]
        report.problems = list(src.problems)
        try:
            _run(project, src, classes, lut, link, overwrite_reviewed, job, report)
        except Cancelled:
            report.cancelled = True
        report.unknown = src.tally.lines()
    finally:
        src.close()
    return report


def _run(project, src: Source, classes: ClassSet, lut: np.ndarray, link: bool,
         overwrite_reviewed: bool, job: Job, report: ImportReport) -> None:
    # Classes first: save_label checks every mask against them.
    project.classes = classes
    project.save()
    job.start("images", len(src.items))
    placed: list[SourceItem] = []
    counts = {"copied": 0, "linked": 0, "present": 0}
    report.images = counts
    from_zip = 0
    # Label files are named by key without suffix: a new "a.jpg" beside an existing "a.png"
    # would move a.png's label file (see Project.refresh), so such an image is not imported.
    existing = {e.key for e in project.entries}
    stems = {stem(k): k for k in existing}
    images_root = project.images_dir.resolve()
    reserved = [d for d in (project.labels_dir, project.checkpoints_dir)
                if d.is_relative_to(project.images_dir)]
    for item in src.items:
        dst = project.images_dir / item.key
        try:
            if safe_key(item.key) != item.key:
                # An absolute or '..' key would join to a path outside the project.
                raise FormatError(item.key, "not a relative name inside the project; skipped")
            if not is_image_name(item.key.rsplit("/", 1)[-1]) or any(
                    part.startswith(".") for part in item.key.split("/")) or any(
                    dst.is_relative_to(d) for d in reserved):
                raise FormatError(dst, "not an image name a project lists; skipped")
            other = stems.get(stem(item.key))
            if item.key not in existing and other is not None and other != item.key:
                raise FormatError(dst, f"would share its label file with {other!r}, already "
                                  "in the project; skipped")
            stems.setdefault(stem(item.key), item.key)
            how = _place_image(item, dst, link, images_root)
            counts[how] += 1
            if link and item.image is None:
                from_zip += 1
            placed.append(item)
        except SegstudioError as e:
            report.problems.append(str(e))
        job.step(item.key)
    if from_zip:
        report.notes.append(f"{plural(from_zip, 'image')} inside the source file copied (only "
                            "images on disk can be linked)")
    project.refresh()
    job.start("labels", len(placed))
    with project.batch():
        for item in placed:
            try:
                _import_label(project, item, lut, overwrite_reviewed, report)
            except SegstudioError as e:
                report.problems.append(str(e))
            job.step(item.key)


def _import_label(project, item: SourceItem, lut: np.ndarray, overwrite_reviewed: bool,
                  report: ImportReport) -> None:
    entry = project.entry(item.key)
    state = project.state(entry)
    if state is ImageState.REVIEWED and not overwrite_reviewed:
        report.kept_reviewed += 1
        return
    mask = lut[item.load()]
    project.save_label(entry, mask, state=ImageState.REVIEWED)
    report.imported += 1
    if state is not ImageState.UNLABELED:
        report.replaced[state.value] = report.replaced.get(state.value, 0) + 1
