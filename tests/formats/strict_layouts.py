"""Strict readers of the VOC and CVAT "Segmentation mask 1.1" layouts, written from the
published descriptions only (not from segstudio's code), to check what the exporter writes:

- Pascal VOC 2012 development kit, section "Segmentation": `SegmentationClass/<id>.png` are
  indexed (palette) PNGs whose values are class indices, 0 background, 255 void;
  `ImageSets/Segmentation/{train,val,trainval}.txt` list one image id per line, trainval being
  train followed by val; images are `JPEGImages/<id>.<ext>`.
- Datumaro's VOC `labelmap.txt`: comment lines start with '#', every other line is exactly
  `name:r,g,b:parts:actions` (four ':'-separated fields, colour as three 0..255 integers).
- CVAT documentation, "Segmentation mask" format: a zip with `labelmap.txt`,
  `ImageSets/Segmentation/<subset>.txt` ("list of image names without extension"),
  `SegmentationClass/` ("merged class masks": a PNG per image, each pixel the colour of its
  label) and `SegmentationObject/` ("merged instance masks", colours from the Pascal VOC
  colour map), optionally `JPEGImages/`.

Anything outside those descriptions fails an assertion.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

VOC_SUBFOLDERS = {"JPEGImages", "SegmentationClass", "SegmentationObject", "ImageSets"}


def voc_colormap(n: int = 256) -> list[tuple[int, int, int]]:
    """The VOC devkit's labelcolormap (bit-interleaved), re-implemented here."""
    out = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append((r, g, b))
    return out


class Files:
    """Read access to a folder or zip by posix name."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path) if path.is_file() else None
        if self.zip is not None:
            self.names = {n for n in self.zip.namelist() if not n.endswith("/")}
        else:
            self.names = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
        self.path = path

    def read(self, name: str) -> bytes:
        assert name in self.names, f"missing {name}"
        return self.zip.read(name) if self.zip else (self.path / name).read_bytes()


def parse_labelmap(text: str) -> list[tuple[str, tuple[int, int, int]]]:
    out = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(":")
        assert len(fields) == 4, f"labelmap line {line!r} has {len(fields)} fields, not 4"
        rgb = tuple(int(v) for v in fields[1].split(","))
        assert len(rgb) == 3 and all(0 <= v <= 255 for v in rgb), line
        assert fields[0] and fields[0] not in [n for n, _ in out], f"bad or repeated {line!r}"
        out.append((fields[0], rgb))
    return out


def _lists(files: Files) -> dict[str, list[str]]:
    lists = {}
    for name in files.names:
        if name.startswith("ImageSets/Segmentation/"):
            assert name.endswith(".txt") and name.count("/") == 2, name
            text = files.read(name).decode("utf-8")
            assert text.endswith("\n") and "\r" not in text
            ids = text.splitlines()
            assert all(i and i == i.strip() for i in ids) and len(set(ids)) == len(ids)
            lists[name.rsplit("/", 1)[1][:-4]] = ids
    assert lists, "no ImageSets/Segmentation/*.txt"
    return lists


def _check_top(files: Files) -> None:
    for name in files.names:
        top = name.split("/", 1)[0]
        assert name == "labelmap.txt" or top in VOC_SUBFOLDERS, f"unexpected file {name}"


def read_voc(path: Path) -> tuple[list[tuple[str, tuple]], dict[str, np.ndarray], dict]:
    """(labelmap, id -> index mask, lists). Checks palette PNGs, lists and images."""
    files = Files(path)
    _check_top(files)
    labelmap = parse_labelmap(files.read("labelmap.txt").decode("utf-8"))
    lists = _lists(files)
    if "train" in lists and "val" in lists:
        assert lists["trainval"] == lists["train"] + lists["val"]
    masks = {}
    for ident in dict.fromkeys(i for ids in lists.values() for i in ids):
        img = Image.open(io.BytesIO(files.read(f"SegmentationClass/{ident}.png")))
        assert img.mode == "P", f"{ident}: VOC class masks are indexed PNGs, got {img.mode}"
        values = np.asarray(img)
        palette = np.asarray(img.getpalette()[: 256 * 3]).reshape(-1, 3)
        used = set(np.unique(values).tolist())
        assert used <= set(range(len(labelmap))) | {255}, f"{ident}: values {used}"
        for v in used - {255}:
            assert tuple(palette[v]) == labelmap[v][1], f"{ident}: palette {v} != labelmap"
        images = [n for n in files.names if n.startswith("JPEGImages/")
                  and n.rsplit(".", 1)[0] == f"JPEGImages/{ident}"]
        assert len(images) == 1, f"{ident}: images {images}"
        w, h = Image.open(io.BytesIO(files.read(images[0]))).size
        assert values.shape == (h, w)
        masks[ident] = values
    return labelmap, masks, lists


def read_cvat(path: Path) -> tuple[list[tuple[str, tuple]], dict[str, np.ndarray], dict]:
    """(labelmap, id -> labelmap-line index per pixel, lists). Checks colour masks decode
    through the labelmap and instance masks use VOC colours, one object per label."""
    files = Files(path)
    _check_top(files)
    labelmap = parse_labelmap(files.read("labelmap.txt").decode("utf-8"))
    colours = {c: i for i, (_, c) in enumerate(labelmap)}
    assert len(colours) == len(labelmap), "two labels share a colour"
    lists = _lists(files)
    vocmap = {c: i for i, c in enumerate(voc_colormap())}
    masks = {}
    for ident in dict.fromkeys(i for ids in lists.values() for i in ids):
        cls = np.asarray(Image.open(io.BytesIO(files.read(f"SegmentationClass/{ident}.png"))))
        obj = np.asarray(Image.open(io.BytesIO(files.read(f"SegmentationObject/{ident}.png"))))
        assert cls.ndim == 3 and cls.shape[2] == 3 and obj.shape == cls.shape
        flat = cls.reshape(-1, 3)
        lines = np.empty(len(flat), np.int64)
        for rgb in np.unique(flat, axis=0):
            key = tuple(int(v) for v in rgb)
            assert key in colours, f"{ident}: colour {key} is not in labelmap.txt"
            lines[(flat == rgb).all(axis=1)] = colours[key]
        lines = lines.reshape(cls.shape[:2])
        oflat = obj.reshape(-1, 3)
        for rgb in np.unique(oflat, axis=0):
            key = tuple(int(v) for v in rgb)
            assert key in vocmap, f"{ident}: object colour {key} is not a VOC colour"
            inside = (oflat == rgb).all(axis=1).reshape(cls.shape[:2])
            if vocmap[key]:
                assert len(np.unique(lines[inside])) == 1, "an object spans two labels"
        masks[ident] = lines
    return labelmap, masks, lists
