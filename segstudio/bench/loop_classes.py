"""Class sets the loop benchmark can relabel a pool into: a class list CamVid does not have.

`--merge` takes "NEW:OLD+OLD;NEW:OLD;...;NEW:*" (the `*` takes every class not named) or a
preset name. Merging gives a class set that neither the shipped model's head nor its class
list knows: what a user with their own classes (road / vehicle / person / other) starts from.
"""

from __future__ import annotations

import numpy as np

from segstudio.core.classes import ClassSet

PRESETS = {
    # Four classes of a driving project that CamVid's eleven do not have.
    "coarse": "road:Road;vehicle:Car+Bicyclist;person:Pedestrian;other:*",
}
_COLORS = [(128, 64, 128), (0, 0, 192), (192, 0, 0), (128, 128, 128), (0, 128, 0),
           (192, 192, 0), (0, 192, 192), (192, 0, 192)]


class MergeError(ValueError):
    """A --merge text that does not name the pool's classes."""


def merged_classes(spec: str, source: ClassSet) -> tuple[ClassSet, np.ndarray]:
    """(the new class set, a 256-entry lookup from the pool's indices to the new ones; void
    stays void)."""
    spec = PRESETS.get(spec, spec)
    names, lut = [], np.arange(256, dtype=np.uint8)
    taken: set[str] = set()
    rest = None
    for part in (p.strip() for p in spec.split(";") if p.strip()):
        new, sep, olds = part.partition(":")
        if not sep or not new.strip() or not olds.strip():
            raise MergeError(f"--merge: {part!r} is not NEW:OLD+OLD")
        index = len(names)
        names.append(new.strip())
        if olds.strip() == "*":
            rest = index
            continue
        for old in (o.strip() for o in olds.split("+")):
            if old not in source.names:
                raise MergeError(f"--merge: {old!r} is not a class of the pool "
                                 f"({', '.join(source.names)})")
            lut[source.names.index(old)] = index
            taken.add(old)
    left = [n for n in source.names if n not in taken]
    if left and rest is None:
        raise MergeError(f"--merge: {', '.join(left)} not placed; add NEW:* for the rest")
    for n in left:
        lut[source.names.index(n)] = rest
    if len(names) < 2 or len(set(names)) != len(names):
        raise MergeError("--merge: at least two new classes, each named once")
    void = source.ignore_index
    if void < len(names):
        raise MergeError("--merge: the pool's void index would collide with a new class")
    colors = [_COLORS[i % len(_COLORS)] for i in range(len(names))]
    merged = ClassSet(names, colors, void, source.ignore_name, source.ignore_color,
                      name=f"{source.name or 'pool'} merged ({', '.join(names)})")
    return merged, lut
