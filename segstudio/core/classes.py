"""Class sets: names, display colours and the ignore (void) index, in the classes.json schema of
CamVid (`{"name", "ignore_index", "classes": [{"index", "name", "color"}], "void": {...},
"median_frequency_weights"}`), so a dataset's own file can be used as is."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.core.errors import ClassSetError

Color = tuple[int, int, int]

# In a class set's `extra`: the checkpoint its classes were taken from (core.class_origin).
# Every edit below drops it: edited classes are the user's, never a model's to replace.
ADOPTED_KEY = "adopted_from"

# Palette entries that are neither a class nor the ignore index: visible but unobtrusive, so a
# stray value in a label file shows up instead of disappearing into black.
_UNUSED_GREY: Color = (96, 96, 96)


def voc_color(index: int) -> Color:
    """Pascal VOC colour map entry for `index` (the devkit's bit-interleaved labelcolormap)."""
    r = g = b = 0
    c = index
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return (r, g, b)


def _color(value: Any, where: str) -> Color:
    try:
        rgb = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ClassSetError(
            f"{where}: colour must be three integers 0..255, got {value!r}"
        ) from None
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ClassSetError(f"{where}: colour must be three integers 0..255, got {value!r}")
    return rgb  # type: ignore[return-value]


@dataclass
class ClassSet:
    names: list[str]
    colors: list[Color]
    ignore_index: int = 255
    ignore_name: str = "void"
    ignore_color: Color = (0, 0, 0)
    name: str = ""
    weights: list[float] | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.names = [str(n) for n in self.names]
        self.colors = [_color(c, f"class {i}") for i, c in enumerate(self.colors)]
        self.ignore_color = _color(self.ignore_color, "void")
        self.validate()

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def validate(self) -> None:
        """Raise ClassSetError when the set cannot be used to read or write label files."""
        k = len(self.names)
        if k == 0:
            raise ClassSetError(f"class set {self.name!r}: needs at least one class")
        if len(self.colors) != k:
            raise ClassSetError(
                f"class set {self.name!r}: {k} names but {len(self.colors)} colours"
            )
        if not 0 <= self.ignore_index <= 255:
            raise ClassSetError(
                f"class set {self.name!r}: ignore index {self.ignore_index} not in 0..255"
            )
        if self.ignore_index < k:
            raise ClassSetError(
                f"class set {self.name!r}: ignore index {self.ignore_index} collides with class "
                f"{self.ignore_index} ({self.names[self.ignore_index]!r})"
            )
        for i, n in enumerate(self.names):
            if not n.strip():
                raise ClassSetError(f"class set {self.name!r}: class {i} has an empty name")
        dup = {n for n in self.names if self.names.count(n) > 1}
        if dup:
            raise ClassSetError(f"class set {self.name!r}: duplicate class names {sorted(dup)}")
        # RGB colour-coded labels are decoded through the colours, so they must be unambiguous.
        all_colors = [*self.colors, self.ignore_color]
        seen: dict[Color, int] = {}
        for i, c in enumerate(all_colors):
            if c in seen:
                a = self.names[seen[c]]
                b = self.names[i] if i < k else self.ignore_name
                raise ClassSetError(f"class set {self.name!r}: {a!r} and {b!r} share colour {c}")
            seen[c] = i
        if self.weights is not None and len(self.weights) != k:
            raise ClassSetError(
                f"class set {self.name!r}: {len(self.weights)} class weights for {k} classes"
            )

    def palette(self) -> np.ndarray:
        """(256, 3) uint8: class colours, the ignore colour at ignore_index, grey elsewhere."""
        pal = np.empty((256, 3), np.uint8)
        pal[:] = _UNUSED_GREY
        pal[: self.num_classes] = np.asarray(self.colors, np.uint8).reshape(-1, 3)
        pal[self.ignore_index] = self.ignore_color
        return pal

    def color_of(self, index: int) -> Color:
        return tuple(int(v) for v in self.palette()[index])  # type: ignore[return-value]

    def _free_color(self) -> Color:
        used = {*self.colors, self.ignore_color}
        for i in range(1, 256):
            c = voc_color(i)
            if c not in used:
                return c
        rng = np.random.default_rng(len(self.names))
        while True:
            c = tuple(int(v) for v in rng.integers(0, 256, 3))
            if c not in used:
                return c  # type: ignore[return-value]

    def add(self, name: str, color: Color | None = None) -> int:
        """Append a class; returns its index. Its colour defaults to an unused VOC colour."""
        k = self.num_classes
        if k == self.ignore_index:
            # Moving the ignore index would silently change the meaning of existing label files.
            raise ClassSetError(
                f"class set {self.name!r}: cannot add class {k}: index {k} is the ignore index"
            )
        rgb = self._free_color() if color is None else _color(color, f"class {name!r}")
        trial = ClassSet(
            [*self.names, name],
            [*self.colors, rgb],
            self.ignore_index,
            self.ignore_name,
            self.ignore_color,
            self.name,
            None if self.weights is None else [*self.weights, 1.0],
        )
        self.names, self.colors, self.weights = trial.names, trial.colors, trial.weights
        self.extra.pop(ADOPTED_KEY, None)
        return k

    def rename(self, index: int, name: str) -> None:
        self._check_index(index)
        names = list(self.names)
        names[index] = name
        ClassSet(
            names, self.colors, self.ignore_index, self.ignore_name, self.ignore_color, self.name
        )
        self.names = names
        self.extra.pop(ADOPTED_KEY, None)

    def recolor(self, index: int, color: Color) -> None:
        """Change a class colour; `index == ignore_index` recolours void."""
        rgb = _color(color, f"class {index}")
        if index == self.ignore_index:
            ClassSet(self.names, self.colors, self.ignore_index, self.ignore_name, rgb, self.name)
            self.ignore_color = rgb
            self.extra.pop(ADOPTED_KEY, None)
            return
        self._check_index(index)
        colors = list(self.colors)
        colors[index] = rgb
        ClassSet(
            self.names, colors, self.ignore_index, self.ignore_name, self.ignore_color, self.name
        )
        self.colors = colors
        self.extra.pop(ADOPTED_KEY, None)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.num_classes:
            raise ClassSetError(
                f"class set {self.name!r}: no class {index} (0..{self.num_classes - 1})"
            )

    def copy(self) -> ClassSet:
        return ClassSet.from_dict(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.extra)
        d.update(
            {
                "name": self.name,
                "ignore_index": self.ignore_index,
                "classes": [
                    {"index": i, "name": n, "color": list(c)}
                    for i, (n, c) in enumerate(zip(self.names, self.colors, strict=True))
                ],
                "void": {
                    "index": self.ignore_index,
                    "name": self.ignore_name,
                    "color": list(self.ignore_color),
                },
            }
        )
        if self.weights is not None:
            d["median_frequency_weights"] = list(self.weights)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> ClassSet:
        if not isinstance(d, dict) or not isinstance(d.get("classes"), list):
            raise ClassSetError("class set: expected an object with a 'classes' list")
        try:
            entries = sorted(d["classes"], key=lambda c: int(c.get("index", 0)))
            indices = [int(c.get("index", i)) for i, c in enumerate(entries)]
            if indices != list(range(len(entries))):
                raise ClassSetError(f"class set: class indices must be 0..K-1, got {indices}")
            names = [str(c["name"]) for c in entries]
            colors = [_color(c["color"], f"class {c.get('name')!r}") for c in entries]
            void = d.get("void") or {}
            ignore = int(d.get("ignore_index", void.get("index", 255)))
            if "index" in void and int(void["index"]) != ignore:
                raise ClassSetError(
                    f"class set: ignore_index {ignore} differs from void index {void['index']}"
                )
            weights = d.get("median_frequency_weights")
            known = {"name", "ignore_index", "classes", "void", "median_frequency_weights"}
            return cls(
                names=names,
                colors=colors,
                ignore_index=ignore,
                ignore_name=str(void.get("name", "void")),
                ignore_color=_color(void.get("color", (0, 0, 0)), "void"),
                name=str(d.get("name", "")),
                weights=None if weights is None else [float(w) for w in weights],
                extra={k: v for k, v in d.items() if k not in known},
            )
        except ClassSetError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ClassSetError(f"class set: malformed entry ({type(e).__name__}: {e})") from None

    @classmethod
    def load(cls, path: str | Path) -> ClassSet:
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ClassSetError(f"{path}: cannot read class set ({e})") from None
        try:
            return cls.from_dict(d)
        except ClassSetError as e:
            raise ClassSetError(f"{path}: {e}") from None

    def save(self, path: str | Path) -> None:
        from segstudio.core.atomic import atomic_write_json

        atomic_write_json(path, self.to_dict())


def default_classes() -> ClassSet:
    """A new project's classes: background + one class, VOC colours, VOC-style void at 255."""
    return ClassSet(
        ["background", "object"],
        [voc_color(0), voc_color(1)],
        255,
        "void",
        voc_color(255),
        "default",
    )


def builtin_classes(name: str) -> ClassSet:
    """A shipped class set: "camvid" or "voc" (resources/classes/<name>.json)."""
    from segstudio.paths import RESOURCES

    path = RESOURCES / "classes" / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in (RESOURCES / "classes").glob("*.json"))
        raise ClassSetError(f"no built-in class set {name!r} (known: {', '.join(known)})")
    return ClassSet.load(path)
