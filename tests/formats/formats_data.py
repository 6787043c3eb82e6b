"""Test data for the format tests: projects that exercise what label formats get wrong: void
pixels, images in subfolders, non-ASCII file and class names, images of different sizes and
types, a predicted label beside reviewed ones, and an unlabelled image."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from segstudio.core.classes import ClassSet
from segstudio.core.project import ImageState, Project

# key -> (height, width); saved as PNG or JPEG by suffix.
IMAGES = {
    "a.png": (48, 64),
    "sub/b.jpg": (40, 30),
    "ñandú/çà 1.png": (33, 47),
    "sub/deeper/c.png": (17, 90),
    "predicted.png": (32, 32),
    "unlabelled.png": (20, 24),
}
REVIEWED = ("a.png", "sub/b.jpg", "ñandú/çà 1.png", "sub/deeper/c.png")


def tricky_classes(ignore_index: int = 255) -> ClassSet:
    return ClassSet(
        names=["sky", "straße", "disc", "box"],
        colors=[(70, 130, 230), (120, 90, 40), (230, 50, 50), (240, 200, 40)],
        ignore_index=ignore_index,
        ignore_name="Unlabelled" if ignore_index != 255 else "void",
        ignore_color=(0, 0, 0) if ignore_index != 255 else (224, 224, 192),
        name="tricky set",
    )


def random_label(rng: np.random.Generator, h: int, w: int, classes: ClassSet) -> np.ndarray:
    """Blobs of every class, a hole of one class inside another, and scattered void."""
    yy, xx = np.mgrid[0:h, 0:w]
    label = np.zeros((h, w), np.uint8)
    label[yy > h // 2] = 1
    for value in (2, 3, 2):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        r = rng.integers(3, max(4, min(h, w) // 2))
        label[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = value
    label[h // 3: h // 3 + 3, w // 3: w // 3 + 3] = 1  # a small island, maybe inside a disc
    label[rng.random((h, w)) < 0.03] = classes.ignore_index
    label[0, 0] = classes.ignore_index
    return label


def make_tricky_project(folder: Path, *, ignore_index: int = 255, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    images = folder / "images"
    for key, (h, w) in IMAGES.items():
        path = images / key
        path.parent.mkdir(parents=True, exist_ok=True)
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(path, quality=90) if key.endswith(".jpg") else \
            Image.fromarray(rgb).save(path)
    project = Project.open(folder)
    project.classes = tricky_classes(ignore_index)
    for key in REVIEWED:
        h, w = IMAGES[key]
        project.save_label(project.entry(key), random_label(rng, h, w, project.classes),
                           state=ImageState.REVIEWED)
    h, w = IMAGES["predicted.png"]
    project.save_label(project.entry("predicted.png"), random_label(rng, h, w, project.classes),
                       state=ImageState.PREDICTED)
    project.save()
    return folder


def tree_digest(folder: Path) -> dict[str, tuple[str, int]]:
    """Content hash and mtime of every file under `folder`, to prove nothing was modified."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[p.relative_to(folder).as_posix()] = (
                hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


def labels_of(folder: Path, keys=None) -> dict[str, np.ndarray]:
    project = Project.open(folder)
    return {e.key: project.read_label(e) for e in project.entries
            if project.state(e) is not ImageState.UNLABELED and (keys is None or e.key in keys)}
