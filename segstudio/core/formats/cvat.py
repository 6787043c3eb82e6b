"""CVAT "Segmentation mask 1.1": the VOC layout with colour-coded masks, usually a zip:

    labelmap.txt                          `name:r,g,b::` per label (CVAT reads labels from it)
    ImageSets/Segmentation/default.txt    ids (train.txt / val.txt with a split)
    SegmentationClass/<id>.png            RGB: each pixel the colour of its label
    SegmentationObject/<id>.png           RGB: one object per class present, VOC instance colours
    JPEGImages/<id>.<ext>                 the images (CVAT's "save images"; optional)

Masks are decoded through the labelmap colours, so every colour must be declared; void pixels
get the project's void colour and a labelmap line of their own (CVAT shows it as a label).
CVAT's own exports name the black label `background`; it imports here as a class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.core.classes import ClassSet, voc_color
from segstudio.core.formats.common import Source, check_ids, paint, png_bytes, stem
from segstudio.core.formats.labelmap import write_labelmap
from segstudio.core.formats.voc import (
    CLASS_MASKS,
    IMAGES,
    LABELMAP,
    OBJECT_MASKS,
    read_layout,
    write_lists,
)


def read(path: Path, *, images: Path | None = None) -> Source:
    return read_layout(path, "cvat-mask", images, colour_masks=True)


def object_mask(mask: np.ndarray, classes: ClassSet) -> np.ndarray:
    """(H, W, 3) instance mask: the pixels of each class present form one object, numbered in
    class order and coloured with VOC's instance colours; void is black (no object)."""
    present = np.flatnonzero(np.bincount(mask.ravel(), minlength=256)[: classes.num_classes])
    ids = np.zeros(256, np.uint8)
    ids[present] = np.arange(1, present.size + 1)
    pal = np.asarray([voc_color(i) for i in range(256)], np.uint8)
    return pal[ids[mask]]


def write(run) -> None:
    classes: ClassSet = run.classes
    target = run.target
    check_ids([i.key for i in run.items], target.out, "CVAT")
    labelmap = write_labelmap(classes, target.out)
    pal = classes.palette()
    subsets: dict[str, list[str]] = {}
    target.write(LABELMAP, labelmap.encode("utf-8"))
    for item, mask in run.each():
        ident = stem(item.key)
        target.write(f"{CLASS_MASKS}/{ident}.png", png_bytes(paint(mask, pal)))
        target.write(f"{OBJECT_MASKS}/{ident}.png", png_bytes(object_mask(mask, classes)))
        if run.images:
            target.copy(f"{IMAGES}/{ident}{Path(item.key).suffix}", item.image)
        subsets.setdefault(item.subset, []).append(ident)
    write_lists(target, subsets, union=False)
