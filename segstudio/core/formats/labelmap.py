"""`labelmap.txt`, the label list of Datumaro's VOC layout and of CVAT's "Segmentation mask"
export: one `name:r,g,b:parts:actions` line per label, in index order; '#' starts a comment.

segstudio writes its classes in index order, then a void line (so readers that decode masks
through colours can read void pixels), and a `# segstudio: {...}` comment naming the void line,
the project's ignore index and the class set's name, so a round trip gives back the same class
set. Files from elsewhere: a line named `ignored` (Datumaro's name for VOC's 255) or `void` is
void.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segstudio.core.classes import ClassSet, Color
from segstudio.core.formats.common import FormatError

VOID_NAMES = frozenset({"ignored", "void", "__ignore__"})
META_PREFIX = "# segstudio: "
LABELMAP_HEADER = "# label:color_rgb:parts:actions"


def label_name_problem(name: str) -> str | None:
    """Why `name` cannot be a line of labelmap.txt, or None."""
    if ":" in name:
        return "':' separates the fields of labelmap.txt"
    if name != name.strip() or any(c in name for c in "\n\r"):
        return "leading/trailing spaces and line breaks do not survive labelmap.txt"
    if name.startswith("#"):
        return "a line starting with '#' is a comment in labelmap.txt"
    return None


def write_labelmap(classes: ClassSet, where: Path) -> str:
    """labelmap.txt text: one `name:R,G,B::` line per class in index order, then the void line,
    plus a comment telling segstudio which line is void (other readers skip comments)."""
    void_name = classes.ignore_name
    if void_name in classes.names or label_name_problem(void_name):
        void_name = "ignored"
        if void_name in classes.names:
            raise FormatError(where, "a class named 'ignored' leaves no name for the void line")
    for name in classes.names:
        problem = label_name_problem(name)
        if problem:
            raise FormatError(where, f"class {name!r} cannot be written: {problem}; rename it")
    meta = {"void": void_name, "void_name": classes.ignore_name,
            "ignore_index": classes.ignore_index, "name": classes.name}
    lines = [LABELMAP_HEADER, META_PREFIX + json.dumps(meta, ensure_ascii=False)]
    for name, c in zip([*classes.names, void_name], [*classes.colors, classes.ignore_color],
                       strict=True):
        lines.append(f"{name}:{c[0]},{c[1]},{c[2]}::")
    return "\n".join(lines) + "\n"


@dataclass
class Labelmap:
    names: list[str]
    colors: list[Color | None]
    void: int | None        # position of the void line, if any
    meta: dict


def read_labelmap(text: str, where: Path) -> Labelmap:
    """Parse labelmap.txt strictly as Datumaro does (4 ':'-separated fields, 'r,g,b' colour),
    tolerating the 2-field `name:r,g,b` lines some tools write."""
    names: list[str] = []
    colors: list[Color | None] = []
    meta: dict = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith(META_PREFIX.strip()):
            try:
                meta = json.loads(line[len(META_PREFIX.strip()):])
            except json.JSONDecodeError:
                meta = {}
            if not isinstance(meta, dict):
                meta = {}
            continue
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) not in (2, 3, 4):
            raise FormatError(where, f"line {n}: expected 'name:r,g,b:parts:actions', got {raw!r}")
        name, color = fields[0], None
        if name in names:
            raise FormatError(where, f"line {n}: label {name!r} is defined twice")
        if fields[1].strip():
            parts = fields[1].split(",")
            try:
                rgb = tuple(int(p) for p in parts)
            except ValueError:
                rgb = ()
            if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
                raise FormatError(where, f"line {n}: colour of {name!r} must be 'r,g,b', got "
                                  f"{fields[1]!r}")
            color = rgb  # type: ignore[assignment]
        names.append(name)
        colors.append(color)
    if not names:
        raise FormatError(where, "no labels defined")
    void = None
    marked = meta.get("void")
    for i, name in enumerate(names):
        if (name == marked) if isinstance(marked, str) else (name.casefold() in VOID_NAMES):
            void = i
    return Labelmap(names, colors, void, meta)


def classes_from_labelmap(lm: Labelmap, where: Path, default_void: Color) -> tuple[
        ClassSet, np.ndarray]:
    """The class set of a labelmap and a (len(names),) uint8 table: line -> class index
    (the void line -> ignore index). Missing colours get VOC colours, as Datumaro does."""
    from segstudio.core.classes import voc_color

    meta = lm.meta
    if len(lm.names) > 255:
        raise FormatError(where, f"{len(lm.names)} labels: segstudio label files hold at most 255")
    keep = [i for i in range(len(lm.names)) if i != lm.void]
    k = len(keep)
    if k == 0:
        raise FormatError(where, "the labelmap defines no class besides void")
    ignore = meta.get("ignore_index")
    if not (isinstance(ignore, int) and k <= ignore <= 255):
        ignore = 255
    void_color = lm.colors[lm.void] if lm.void is not None else None
    if void_color is None:
        void_color = default_void
    colors = [lm.colors[i] or voc_color(i) for i in keep]
    void_name = meta.get("void_name") if isinstance(meta.get("void_name"), str) else None
    if void_name is None:
        void_name = lm.names[lm.void] if lm.void is not None else "void"
    from segstudio.core.errors import ClassSetError

    try:
        classes = ClassSet([lm.names[i] for i in keep], colors, ignore, void_name, void_color,
                           str(meta.get("name", "")) if isinstance(meta.get("name"), str) else "")
    except ClassSetError as e:
        raise FormatError(where, str(e)) from None
    table = np.full(len(lm.names), ignore, np.uint8)
    for ci, li in enumerate(keep):
        table[li] = ci
    return classes, table
