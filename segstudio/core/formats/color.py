"""Colour masks, for people and for tools that want RGB labels:

    masks/<key without suffix>.png   RGB: each pixel its class colour, void in the void colour
    images/<key>                     the images, byte for byte
    classes.json                     names, colours and void (segstudio's / CamVid's schema)
    <subset>.txt                     image keys per subset, with a split

Every colour decodes to one class because a segstudio class set never repeats a colour
(`segstudio.core.labels.read_label(mask, ClassSet.load("classes.json"))` reads them back).
"""

from __future__ import annotations

import json

from segstudio.core.classes import ClassSet
from segstudio.core.formats.common import check_ids, paint, png_bytes, stem

MASKS = "masks"
IMAGES = "images"


def write(run) -> None:
    classes: ClassSet = run.classes
    target = run.target
    check_ids([i.key for i in run.items], target.out, "colour masks")
    pal = classes.palette()
    subsets: dict[str, list[str]] = {}
    for item, mask in run.each():
        target.write(f"{MASKS}/{stem(item.key)}.png", png_bytes(paint(mask, pal)))
        if run.images:
            target.copy(f"{IMAGES}/{item.key}", item.image)
        subsets.setdefault(item.subset, []).append(item.key)
    text = json.dumps(classes.to_dict(), indent=2, ensure_ascii=False) + "\n"
    target.write("classes.json", text.encode("utf-8"))
    if set(subsets) != {"default"}:
        for name, keys in subsets.items():
            target.write(f"{name}.txt", "".join(f"{k}\n" for k in keys).encode("utf-8"))
