"""Export a project's labels: which images (reviewed only, unless asked), into which subsets,
through which format module, with what report.

Only REVIEWED labels are ground truth. Every other labelled state (predicted, and any state
added later such as edited) is "not ground truth": compared against REVIEWED and UNLABELED
only, never listed, so a new state is handled without a change here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segstudio.core.classes import ClassSet
from segstudio.core.entries import ImageState
from segstudio.core.errors import SegstudioError
from segstudio.core.formats.common import (
    CancelFn,
    Cancelled,
    ExportItem,
    FormatError,
    Job,
    ProgressFn,
    assign_subsets,
    plural,
)
from segstudio.core.formats.output import ExportTarget

EXPORT_FORMATS = ("voc", "cvat-mask", "coco", "color")
_MODULES = {"voc": "voc", "cvat-mask": "cvat", "coco": "coco", "color": "color"}


@dataclass
class ExportReport:
    format: str
    out: Path
    states: dict[str, int] = field(default_factory=dict)   # state value -> images exported
    subsets: dict[str, int] = field(default_factory=dict)  # subset -> images written
    exported: int = 0
    files: int = 0
    leftovers: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> list[str]:
        """Lines for the user, most important first."""
        lines = []
        if self.cancelled:
            lines.append(f"cancelled: {plural(self.exported, 'image')} exported to {self.out} "
                         "before that; every file there is complete, but the export is not")
        else:
            what = ", ".join(f"{n} {s}" for s, n in self.states.items() if n)
            what = f" ({what})" if what else ""
            inside = " in the zip" if self.out.suffix.lower() == ".zip" else ""
            lines.append(f"exported {plural(self.exported, 'image')}{what} as {self.format} "
                         f"to {self.out}: {plural(self.files, 'file')}{inside}")
        if len(self.subsets) > 1 or "default" not in self.subsets:
            lines.append("subsets: " + ", ".join(f"{k} {v}" for k, v in self.subsets.items()))
        if any(n for s, n in self.states.items() if s != ImageState.REVIEWED.value):
            lines.append("note: labels that are not reviewed were included (--all); they are "
                         "not ground truth")
        lines += [f"note: {n}" for n in self.notes]
        if self.leftovers:
            lines.append(f"note: {plural(self.leftovers, 'file')} already in {self.out} "
                         f"{'is' if self.leftovers == 1 else 'are'} not part of this export")
        lines += [f"skipped: {p}" for p in self.problems]
        return lines


class ExportRun:
    """What a format module's `write(run)` gets: the items, the classes, the target, options,
    and `each()`, which yields (item, mask) with progress, cancellation and unreadable labels
    reported instead of fatal."""

    def __init__(self, items: list[ExportItem], classes: ClassSet, target: ExportTarget,
                 job: Job, *, images: bool, polygons: bool) -> None:
        self.items, self.classes, self.target, self.job = items, classes, target, job
        self.images, self.polygons = images, polygons
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.subsets: dict[str, int] = {}
        self.states: dict[str, int] = {}

    def each(self) -> Iterator[tuple[ExportItem, np.ndarray]]:
        self.job.start("export", len(self.items))
        for item in self.items:
            try:
                mask = item.load()
                if mask is None:  # removed since the listing
                    raise FormatError(item.image, "its label file is gone; not exported")
            except SegstudioError as e:
                self.problems.append(str(e))
            else:
                yield item, mask  # the writer writes it before asking for the next
                self.subsets[item.subset] = self.subsets.get(item.subset, 0) + 1
                self.states[item.state] = self.states.get(item.state, 0) + 1
            self.job.step(item.key)


def select(project, include_all: bool) -> tuple[list, dict[str, int], dict[str, int]]:
    """(entries to export, images per state included, images per state left out): REVIEWED
    only, or every labelled image with `include_all`."""
    chosen: list = []
    included: dict[str, int] = {}
    left: dict[str, int] = {}
    for entry in project.entries:
        state = project.state(entry)
        if state is ImageState.UNLABELED:
            continue
        if state is ImageState.REVIEWED or include_all:
            chosen.append(entry)
            included[state.value] = included.get(state.value, 0) + 1
        else:
            left[state.value] = left.get(state.value, 0) + 1
    return chosen, included, left


def export_labels(
    project,
    fmt: str,
    out: str | Path,
    *,
    include_all: bool = False,
    split: dict[str, float] | None = None,
    force: bool = False,
    images: bool = True,
    polygons: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> ExportReport:
    """Write the labels of `project` (a Project or its folder) in `fmt` to `out` (a folder;
    for cvat-mask also a .zip file)."""
    from segstudio.core.project import Project

    if fmt not in _MODULES:
        raise FormatError(Path(out), f"unknown export format {fmt!r} (one of "
                          f"{', '.join(EXPORT_FORMATS)})")
    if polygons and fmt != "coco":
        raise FormatError(Path(out), "polygons are a COCO option")
    if not isinstance(project, Project):
        project = Project.open(project)
    out = Path(out).expanduser().absolute()
    _check_out(project, out)
    entries, _, left = select(project, include_all)
    if not entries:
        extra = (f" ({', '.join(f'{n} {s}' for s, n in left.items())}; pass --all to include "
                 "them)") if left else ""
        raise FormatError(project.root, f"nothing to export: no reviewed labels{extra}")
    subsets = assign_subsets([e.key for e in entries], split)
    items = [ExportItem(e.key, e.path, subsets[e.key], lambda e=e: project.read_label(e),
                        project.state(e).value) for e in entries]
    target = ExportTarget(out, as_zip=fmt == "cvat-mask" and out.suffix.lower() == ".zip",
                          force=force)
    run = ExportRun(items, project.classes, target, Job(progress, cancel), images=images,
                    polygons=polygons)
    report = ExportReport(fmt, out)
    module = importlib.import_module(f"segstudio.core.formats.{_MODULES[fmt]}")
    try:
        module.write(run)
        target.finish()
    except Cancelled:
        target.abort()
        report.cancelled = True
    except BaseException:
        target.abort()  # Ctrl+C or a failure: no half-written zip
        raise
    if left:
        run.notes.append("left out " + ", ".join(plural(n, f"{s} label") for s, n in left.items())
                         + " (not ground truth; `export --all`, or 'Also predicted and edited "
                         "labels' in the app, includes them)")
    report.subsets, report.states = run.subsets, run.states
    report.exported = sum(run.subsets.values())
    report.files = len(target.written)
    report.leftovers = target.leftovers()
    report.notes, report.problems = run.notes, run.problems
    return report


def _check_out(project, out: Path) -> None:
    """The export must not land where the project would list it as images or labels."""
    for folder, what in ((project.images_dir, "images"), (project.labels_dir, "labels")):
        try:
            out.resolve().relative_to(folder.resolve())
        except ValueError:
            continue
        raise FormatError(out, f"is inside the project's {what} folder {folder}; export "
                          "somewhere else")
