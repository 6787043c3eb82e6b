"""What the format modules share: progress and cancel, the view of a dataset being read, counts
of unknown labels, colour <-> index conversion, splits and safe key handling.

Every format module reads into a `Source` (classes + items whose masks load lazily, in the
source's class indices with void at `classes.ignore_index`) and writes from `ExportItem`s; the
project side (which images, which classes, what may be overwritten) lives in `exporting.py` and
`importing.py`, so no format module knows about projects.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from segstudio.core.classes import ClassSet, Color
from segstudio.core.errors import PathError, SegstudioError

ProgressFn = Callable[["TransferProgress"], None]
CancelFn = Callable[[], bool]



def plural(n: int, word: str) -> str:
    """'1 file', '3 files' (a unit that does not end in 's', like 'px', stays as it is)."""
    if n == 1 and word.endswith("s"):
        word = word[:-1]
    elif n != 1 and not word.endswith("s") and word != "px":
        word += "s"
    return f"{n:,} {word}"


class FormatError(PathError):
    """A source that cannot be read as the format, or an export that cannot be written."""


class ClassMismatchError(SegstudioError):
    """Importing into a project whose classes differ, without an explicit mapping."""


class Cancelled(Exception):
    """Raised inside a run when `cancel()` says so; the run returns a report marked cancelled."""


@dataclass(frozen=True)
class TransferProgress:
    """What `progress` receives: `done` of `total` in `stage` ("scan", "images", "labels",
    "export"), `key` the image just handled."""

    stage: str
    done: int
    total: int
    key: str = ""


class Job:
    """Progress and cancellation of one run."""

    def __init__(self, progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        self._progress = progress
        self._cancel = cancel
        self.stage = ""
        self.done = 0
        self.total = 0

    def start(self, stage: str, total: int) -> None:
        self.stage, self.done, self.total = stage, 0, total
        self.check()
        if self._progress is not None:
            self._progress(TransferProgress(stage, 0, total))

    def step(self, key: str = "") -> None:
        self.done += 1
        if self._progress is not None:
            self._progress(TransferProgress(self.stage, self.done, self.total, key))
        self.check()

    def check(self) -> None:
        if self._cancel is not None and self._cancel():
            raise Cancelled


class Tally:
    """Things met while reading that could not be used as they are (an unknown colour, label,
    index or shape type; a malformed shape; overlaps), each counted under one description:
    how many pixels / shapes / annotations and in how many images, so the report has one line
    per kind of problem instead of one per image."""

    def __init__(self) -> None:
        self._counts: dict[str, list] = {}

    def add(self, what: str, count: int, image: str, unit: str, outcome: str) -> None:
        rec = self._counts.setdefault(what, [0, set(), unit, outcome])
        rec[0] += int(count)
        rec[1].add(image)

    def __bool__(self) -> bool:
        return bool(self._counts)

    def lines(self) -> list[str]:
        out = []
        for what, (count, images, unit, outcome) in sorted(
            self._counts.items(), key=lambda kv: -kv[1][0]
        ):
            n = len(images)
            out.append(f"{what}: {plural(count, unit)} in {plural(n, 'image')}, {outcome}")
        return out


@dataclass
class SourceItem:
    """One labelled image of a source. `load()` returns (H, W) uint8 in the source's class
    indices (void = its ignore index); it may raise SegstudioError for a bad file."""

    key: str
    load: Callable[[], np.ndarray]
    image: Path | None = None                       # the image file, when on disk
    image_bytes: Callable[[], bytes] | None = None  # otherwise its bytes (zip member, embedded)


@dataclass
class Source:
    path: Path
    format: str
    classes: ClassSet
    items: list[SourceItem]
    tally: Tally = field(default_factory=Tally)
    notes: list[str] = field(default_factory=list)      # what the format could not say exactly
    problems: list[str] = field(default_factory=list)   # items that cannot be imported, and why
    close: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class ExportItem:
    """One image to export: `load()` gives its label in the project's class indices."""

    key: str
    image: Path
    subset: str
    load: Callable[[], np.ndarray]
    state: str = "reviewed"


# ----- keys ---------------------------------------------------------------------------------
def stem(key: str) -> str:
    """'sub/a.jpg' -> 'sub/a': the id VOC / CVAT lists and mask files use."""
    return posixpath.splitext(key)[0]


def safe_key(text: str) -> str | None:
    """A relative posix path with no '..', no absolute part and no empty component, or None."""
    text = text.replace("\\", "/")
    p = PurePosixPath(text)
    if not text or p.is_absolute() or any(part in ("", ".", "..") for part in text.split("/")):
        return None
    if ":" in p.parts[0] or any(c in text for c in "\n\r\0"):
        return None  # "C:/x" or a control character: never a name we create
    return p.as_posix()


def check_ids(keys: Iterable[str], where: Path, fmt: str) -> None:
    """VOC / CVAT / colour masks name files by key without its suffix: two keys must not
    share one, and a list file holds one id per line."""
    seen: dict[str, str] = {}
    for key in keys:
        ident = stem(key)
        if ident != ident.strip() or any(c in ident for c in "\n\r"):
            raise FormatError(
                where, f"image {key!r}: {fmt} lists cannot hold a name with leading/trailing "
                "spaces or line breaks; rename the image"
            )
        if ident in seen:
            raise FormatError(
                where, f"images {seen[ident]!r} and {key!r} would both be {ident!r} in {fmt}; "
                "rename one of them"
            )
        seen[ident] = key


# ----- colours --------------------------------------------------------------------------------
def pack(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) uint32 0xRRGGBB (one channel at a time: 8 bytes a pixel at
    most, where converting the whole image to uint32 first took 16)."""
    out = rgb[..., 0].astype(np.uint32)
    out <<= 8
    out |= rgb[..., 1]
    out <<= 8
    out |= rgb[..., 2]
    return out


def _key(c: Color) -> int:
    return (int(c[0]) << 16) | (int(c[1]) << 8) | int(c[2])


def decode_colors(
    rgb: np.ndarray, colors: Sequence[Color], values: Sequence[int], fallback: int
) -> tuple[np.ndarray, dict[Color, int]]:
    """Map each pixel colour to its value; colours not listed become `fallback` and are
    returned with their pixel counts."""
    packed = pack(rgb)
    keys = np.array([_key(c) for c in colors], np.uint32)
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], np.asarray(values, np.uint8)[order]
    if keys.size == 0:
        pos = np.zeros(packed.shape, np.intp)
        known = np.zeros(packed.shape, bool)
    else:
        pos = np.searchsorted(keys, packed).clip(0, len(keys) - 1)
        known = keys[pos] == packed
    out = np.where(known, vals[pos] if keys.size else fallback, fallback).astype(np.uint8)
    unknown: dict[Color, int] = {}
    if not known.all():
        bad, counts = np.unique(packed[~known], return_counts=True)
        for v, n in zip(bad.tolist(), counts.tolist(), strict=True):
            unknown[(v >> 16, (v >> 8) & 255, v & 255)] = int(n)
    return out, unknown


def paint(mask: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """(H, W) indices -> (H, W, 3) uint8 through a (256, 3) palette."""
    return palette[mask]


def png_bytes(array: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """PNG of an (H, W) index array (palette PNG with `palette`) or an (H, W, 3) RGB array."""
    img = Image.fromarray(np.ascontiguousarray(array))
    if palette is not None:
        img.putpalette(np.asarray(palette, np.uint8).tobytes(), rawmode="RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def unknown_colors(tally: Tally, key: str, unknown: dict[Color, int], outcome: str) -> None:
    for color, n in unknown.items():
        tally.add(f"unknown colour {color}", n, key, "px", outcome)


# ----- splits ---------------------------------------------------------------------------------
def parse_split(text: str) -> dict[str, float]:
    """'val=0.2' or 'val=0.1,test=0.1' -> {'val': 0.2, ...}; the rest is 'train'.
    ValueError with a one-line reason otherwise."""
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"split {text!r}: expected NAME=FRACTION, e.g. val=0.2")
        if name == "train" or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"split {text!r}: {name!r} is not a usable subset name "
                             "(train takes what the others leave)")
        try:
            f = float(value)
        except ValueError:
            raise ValueError(f"split {text!r}: {value.strip()!r} is not a number") from None
        if not 0 < f < 1:
            raise ValueError(f"split {text!r}: fractions must be between 0 and 1")
        out[name] = f
    if sum(out.values()) >= 1:
        raise ValueError(f"split {text!r}: the fractions leave nothing for train")
    return out


def assign_subsets(keys: Sequence[str], split: dict[str, float] | None) -> dict[str, str]:
    """key -> subset. Without a split everything is "default". With one, keys are ordered by a
    hash of their name, so an image keeps its subset when others are added to the project."""
    if not split:
        return dict.fromkeys(keys, "default")
    order = sorted(keys, key=lambda k: hashlib.sha1(k.encode("utf-8")).hexdigest())
    out: dict[str, str] = {}
    start = 0
    n = len(order)
    for name, fraction in split.items():
        count = round(fraction * n)
        if count == 0 and n > 1:
            count = 1  # a requested subset is never silently empty
        for k in order[start:start + count]:
            out[k] = name
        start += count
    for k in order[start:]:
        out[k] = "train"
    return out
