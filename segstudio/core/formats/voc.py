"""Pascal VOC segmentation layout, as VOC 2012 and Datumaro write it:

    JPEGImages/<id>.<ext>                 the images (kept byte for byte, any suffix)
    SegmentationClass/<id>.png            palette PNG: value = class index, 255 = void
    ImageSets/Segmentation/<subset>.txt   one id per line
    labelmap.txt                          `name:r,g,b:parts:actions` per label, in index order

Ids may contain '/', so images in subfolders keep them. Without labelmap.txt a VOC folder has
the 21 VOC classes. The labelmap's void line (and `# segstudio:` comment) lets colour-decoding
readers such as Datumaro read void pixels too; index readers see 255.

The reading side also serves CVAT's "Segmentation mask 1.1" (cvat.py), which is this layout
with colour-coded masks, usually zipped.
"""

from __future__ import annotations

import functools
import posixpath
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from segstudio.core.classes import ClassSet, builtin_classes, voc_color
from segstudio.core.formats.common import (
    FormatError,
    Source,
    SourceItem,
    check_ids,
    decode_colors,
    png_bytes,
    safe_key,
    stem,
    unknown_colors,
)
from segstudio.core.formats.guards import MAX_TEXT_BYTES, member_limit, open_png, read_member
from segstudio.core.formats.labelmap import (
    Labelmap,
    classes_from_labelmap,
    read_labelmap,
    write_labelmap,
)
from segstudio.core.imageheader import read_header
from segstudio.core.imageio import IMAGE_SUFFIXES, image_size

IMAGES = "JPEGImages"
CLASS_MASKS = "SegmentationClass"
OBJECT_MASKS = "SegmentationObject"
LISTS = "ImageSets/Segmentation"
LABELMAP = "labelmap.txt"
VOC_VOID = 255


# ----- reading: a folder or a zip, by posix path ---------------------------------------------
class Tree:
    """Files of a dataset folder or zip by posix path relative to its root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
                infos = [i for i in self._zip.infolist() if not i.is_dir()]
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
                raise FormatError(path, f"not a readable zip ({e})") from None
            self._infos = {i.filename.replace("\\", "/"): i for i in infos}
            self._files = {n: i.filename for n, i in self._infos.items()}
        elif path.is_dir():
            self._files = {}
            for p in path.rglob("*"):
                if p.is_file():
                    self._files[p.relative_to(path).as_posix()] = str(p)
        else:
            raise FormatError(path, "no such file or folder")
        self.root = self._find_root()

    def _find_root(self) -> str:
        """The folder holding SegmentationClass/ (a zip or VOCdevkit may wrap it in one)."""
        roots = {n[: n.index(CLASS_MASKS + "/")] for n in self._files if CLASS_MASKS + "/" in n}
        roots = {r for r in roots if r == "" or r.endswith("/")}
        if not roots:
            raise FormatError(self.path, f"no {CLASS_MASKS}/ folder: not a VOC / CVAT mask layout")
        return min(roots, key=len)

    def names(self, folder: str) -> list[str]:
        prefix = self.root + folder + "/"
        return sorted(n[len(self.root):] for n in self._files if n.startswith(prefix))

    def has(self, rel: str) -> bool:
        return self.root + rel in self._files

    def file(self, rel: str) -> Path | None:
        """The file on disk (None inside a zip)."""
        return None if self._zip is not None else Path(self._files[self.root + rel])

    def where(self, rel: str) -> Path:
        return self.path / (self.root + rel)

    def read(self, rel: str, limit: int | None = None, amount: int | None = None) -> bytes:
        """The file's bytes (its first `amount`), at most `limit` (default: the largest image
        or mask segstudio reads, stored raw), whatever a zip member's header declares."""
        limit = member_limit() if limit is None else limit
        where = self.where(rel)
        try:
            if self._zip is not None:
                return read_member(self._zip, self._infos[self.root + rel], where, limit,
                                   amount)
            with open(self._files[self.root + rel], "rb") as f:
                data = f.read(limit + 1 if amount is None else min(amount, limit + 1))
        except (OSError, KeyError) as e:
            raise FormatError(where, f"cannot read ({e})") from None
        if len(data) > limit:
            raise FormatError(where, f"over the limit of {limit:,} bytes for this file")
        return data

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _default_labelmap() -> tuple[ClassSet, np.ndarray]:
    voc = builtin_classes("voc")
    table = np.arange(voc.num_classes, dtype=np.uint8)
    return voc, table


def read_layout(
    path: Path, fmt: str, images: Path | None, *, colour_masks: bool
) -> Source:
    """A VOC-style dataset (folder or zip) as a Source. `colour_masks`: masks are expected to
    be colour-coded (CVAT); palette / greyscale masks are read by index either way."""
    tree = Tree(path)
    if tree.has(LABELMAP):
        text = tree.read(LABELMAP, MAX_TEXT_BYTES).decode("utf-8-sig", errors="replace")
        lm: Labelmap | None = read_labelmap(text, tree.where(LABELMAP))
        classes, table = classes_from_labelmap(lm, tree.where(LABELMAP), (224, 224, 192))
        # As Datumaro: a labelmap without any colour means VOC colours by line; otherwise only
        # the lines with a colour can appear in colour masks.
        colors = (lm.colors if any(lm.colors)
                  else [voc_color(i) for i in range(len(lm.names))])
    else:
        lm = None
        classes, table = _default_labelmap()
        colors = list(classes.colors)
    source = Source(path, fmt, classes, [], close=tree.close)
    if lm is None:
        source.notes.append(f"{path}: no {LABELMAP}: reading the 21 Pascal VOC classes")
    # Colour decoding: every labelmap line with a colour; VOC's void colour for index 255.
    line_colors = [(c, i) for i, c in enumerate(colors) if c is not None]
    ignore = classes.ignore_index

    def lut_index(values: np.ndarray, key: str, where: Path) -> np.ndarray:
        full = np.full(256, ignore, np.uint8)
        full[: len(table)] = table
        full[VOC_VOID] = ignore
        counts = np.bincount(values.ravel(), minlength=256)
        for v in np.flatnonzero(counts).tolist():
            if v >= len(table) and v != VOC_VOID:
                source.tally.add(f"unknown index {v}", int(counts[v]), key, "px",
                                 "imported as void (no labelmap line)")
        return full[values]

    def loader(rel: str, key: str, image: Path | None, img_rel: str | None
               ) -> Callable[[], np.ndarray]:
        def load() -> np.ndarray:
            where = tree.where(rel)
            # The mask's header against its image's, before decoding (a 12000x12000 mask in a
            # 9 KB zip member for a 640x480 image is refused in microseconds).
            img = open_png(tree.read(rel), where, _image_hw(tree, image, img_rel))
            if img.mode == "L" or (img.mode == "P" and not colour_masks):
                return lut_index(np.asarray(img, np.uint8), key, where)
            if img.mode in ("RGB", "RGBA", "P"):
                rgb = np.asarray(img.convert("RGB"))
                pairs = [*line_colors]
                if lm is None:
                    pairs.append((classes.ignore_color, VOC_VOID))
                # 255 is never a line (at most 255 lines): it marks unknown colours.
                lines, unknown = decode_colors(
                    rgb, [c for c, _ in pairs], [i for _, i in pairs], 255
                )
                unknown_colors(source.tally, key, unknown, "imported as void")
                lut = np.full(256, ignore, np.uint8)
                lut[: len(table)] = table
                return lut[lines]
            raise FormatError(where, f"unsupported mask mode {img.mode!r}")
        return load

    ids = _list_ids(tree, source)
    image_names = {stem(n): n for n in tree.names(IMAGES) if n.lower().endswith(IMAGE_SUFFIXES)}
    for ident in ids:
        if safe_key(ident) != ident:
            # '/etc/x' or '../x' (a list line, or a zip entry after SegmentationClass/) would
            # become a path outside the project.
            source.problems.append(f"{tree.where(LISTS)}: id {ident!r} is not a relative name "
                                   "inside the dataset; skipped")
            continue
        rel = f"{CLASS_MASKS}/{ident}.png"
        if not tree.has(rel):
            source.problems.append(f"{tree.where(rel)}: listed but missing; skipped")
            continue
        img_rel = image_names.get(f"{IMAGES}/{ident}")
        found = _external_image(images, ident) if images is not None else None
        data = None
        if found is not None:
            key, image = ident + found.suffix, found
        elif img_rel is not None:
            key, image = ident + posixpath.splitext(img_rel)[1], tree.file(img_rel)
            if image is None:  # inside a zip
                data = functools.partial(tree.read, img_rel)
        else:
            looked = f"{images} or " if images is not None else ""
            source.problems.append(
                f"{tree.where(rel)}: no image {ident}.* in {looked}{tree.where(IMAGES)}; skipped"
                + ("" if images is not None else " (pass the images folder)")
            )
            continue
        source.items.append(SourceItem(key, loader(rel, key, image, None if found else img_rel),
                                       image=image, image_bytes=data))
    return source


def _image_hw(tree: Tree, image: Path | None, img_rel: str | None) -> list[tuple[int, int]]:
    """The (H, W) a mask's image may have, from its header alone; [] when it cannot be told.
    Inside a zip both orientations pass (the raw header does not apply EXIF's rotation; the
    project checks the exact size when the label is saved)."""
    if image is not None:
        return [image_size(image)]
    if img_rel is None:
        return []
    header = read_header(tree.read(img_rel, amount=1 << 20))   # the header is in the start
    return [] if header is None else [(header.height, header.width),
                                      (header.width, header.height)]


def _external_image(folder: Path, ident: str) -> Path | None:
    for suffix in (".jpg", *IMAGE_SUFFIXES, *(s.upper() for s in IMAGE_SUFFIXES)):
        p = folder / f"{ident}{suffix}"
        if p.is_file():
            return p
    return None


def _list_ids(tree: Tree, source: Source) -> list[str]:
    """Ids of every subset list (in list order, each once); without lists, every mask."""
    lists = [n for n in tree.names(LISTS) if n.endswith(".txt")]
    ids: dict[str, None] = {}
    for rel in lists:
        text = tree.read(rel, MAX_TEXT_BYTES).decode("utf-8-sig", errors="replace")
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                ids.setdefault(line)
    if not lists:
        for n in tree.names(CLASS_MASKS):
            if n.endswith(".png"):
                ids.setdefault(stem(n[len(CLASS_MASKS) + 1:]))
    return list(ids)


def read(path: Path, *, images: Path | None = None) -> Source:
    return read_layout(path, "voc", images, colour_masks=False)


# ----- writing ----------------------------------------------------------------------------------
def voc_palette(classes: ClassSet) -> np.ndarray:
    """(256, 3): class colours, the void colour at 255 (VOC's void index)."""
    pal = classes.palette().copy()
    if classes.ignore_index != VOC_VOID:
        pal[classes.ignore_index] = (96, 96, 96)
    pal[VOC_VOID] = classes.ignore_color
    return pal


def to_voc_values(mask: np.ndarray, classes: ClassSet) -> np.ndarray:
    if classes.ignore_index == VOC_VOID:
        return mask
    lut = np.arange(256, dtype=np.uint8)
    lut[classes.ignore_index] = VOC_VOID
    return lut[mask]


def write_lists(target, subsets: dict[str, list[str]], *, union: bool) -> None:
    """ImageSets/Segmentation/<subset>.txt; with `union`, VOC's trainval.txt = train + val."""
    for name, ids in subsets.items():
        target.write(f"{LISTS}/{name}.txt", "".join(f"{i}\n" for i in ids).encode("utf-8"))
    if union and "train" in subsets and "val" in subsets and "trainval" not in subsets:
        ids = subsets["train"] + subsets["val"]
        target.write(f"{LISTS}/trainval.txt", "".join(f"{i}\n" for i in ids).encode("utf-8"))


def write(run) -> None:
    """Export: palette PNGs, images, labelmap.txt and the subset lists."""
    classes: ClassSet = run.classes
    target = run.target
    check_ids([i.key for i in run.items], target.out, "VOC")
    labelmap = write_labelmap(classes, target.out)
    pal = voc_palette(classes)
    subsets: dict[str, list[str]] = {}
    for item, mask in run.each():
        ident = stem(item.key)
        target.write(f"{CLASS_MASKS}/{ident}.png", png_bytes(to_voc_values(mask, classes), pal))
        if run.images:
            target.copy(f"{IMAGES}/{ident}{Path(item.key).suffix}", item.image)
        subsets.setdefault("trainval" if item.subset == "default" else item.subset,
                           []).append(ident)
    target.write(LABELMAP, labelmap.encode("utf-8"))
    write_lists(target, subsets, union=True)
    if classes.ignore_index != VOC_VOID:
        run.notes.append(f"void (index {classes.ignore_index} here) is written as 255, VOC's void "
                         "index; segstudio reads it back as the project's")
