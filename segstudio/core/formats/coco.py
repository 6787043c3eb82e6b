"""COCO: one JSON per subset with images, categories and annotations.

Export layout:

    annotations/instances_<subset>.json   ("default" without a split)
    images/<key>                          the images; `file_name` is the key

A label map becomes one annotation per class present in an image (void pixels are covered by
none): `iscrowd: 1` with a compressed RLE (exact; what pycocotools writes), or with
`polygons=True` `iscrowd: 0` and OpenCV contours traced around pixel edges (approximate:
polygons cannot hold holes; the export measures how many pixels differ). Category ids are
class index + 1; each category carries its class colour as `color` and `info.segstudio`
holds the void name, colour and index, so a round trip gives back the same class set.

Import paints each image's annotations in file order (a later one wins where they overlap);
pixels no annotation covers are void. Polygons are rasterised as pycocotools does.
"""

from __future__ import annotations

import json
import posixpath
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from segstudio.core.classes import ClassSet, Color, voc_color
from segstudio.core.errors import ClassSetError
from segstudio.core.formats import rle
from segstudio.core.formats.common import FormatError, Source, SourceItem, plural, safe_key
from segstudio.core.formats.guards import is_int, read_json, short

ANNOTATIONS = "annotations"
IMAGES = "images"


# ----- writing ----------------------------------------------------------------------------------
def mask_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer contours of a binary mask as COCO polygons along pixel edges. The mask is
    doubled so OpenCV's contour (through boundary pixel centres) lies a quarter pixel outside
    the original pixel centres; pycocotools then fills exactly the pixels of each region
    without holes."""
    import cv2

    up = np.repeat(np.repeat(mask.astype(np.uint8), 2, axis=0), 2, axis=1)
    contours, _ = cv2.findContours(up, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for c in contours:
        pts = (c.reshape(-1, 2).astype(np.float64) + 0.5) / 2
        if len(pts) < 3:  # cannot happen for a doubled mask; kept for safety
            continue
        out.append([round(float(v), 2) for v in pts.ravel()])
    return out


def image_record(image_id: int, key: str, h: int, w: int) -> dict:
    return {"id": image_id, "file_name": key, "height": h, "width": w}


def categories(classes: ClassSet) -> list[dict]:
    return [
        {"id": i + 1, "name": n, "supercategory": "", "color": list(c)}
        for i, (n, c) in enumerate(zip(classes.names, classes.colors, strict=True))
    ]


def annotations_for(mask: np.ndarray, classes: ClassSet, image_id: int, next_id: int,
                    polygons: bool) -> tuple[list[dict], int]:
    """(annotations, pixels the polygons get wrong). Largest first: with polygons, a region
    enclosed by another (a hole of it) is painted after it on import."""
    counts = np.bincount(mask.ravel(), minlength=256)[: classes.num_classes]
    order = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c] > 0]
    anns, painted = [], np.full(mask.shape, 255, np.uint8)
    h, w = mask.shape
    for c in order:
        binary = mask == c
        ann = {"id": next_id, "image_id": image_id, "category_id": c + 1,
               "area": int(counts[c]), "bbox": rle.bbox(binary)}
        if polygons:
            polys = mask_polygons(binary)
            ann["segmentation"], ann["iscrowd"] = polys, 0
            painted[rle.polygons_to_mask(polys, h, w)] = c
        else:
            ann["segmentation"] = {"size": [h, w], "counts": rle.to_string(rle.encode(binary))}
            ann["iscrowd"] = 1
        anns.append(ann)
        next_id += 1
    wrong = 0
    if polygons:
        void = np.full(256, 255, np.uint8)
        void[: classes.num_classes] = np.arange(classes.num_classes)
        wrong = int((painted != void[mask]).sum())
    return anns, wrong


def write(run) -> None:
    classes: ClassSet = run.classes
    target = run.target
    docs: dict[str, dict] = {}
    ann_id = 1
    wrong = total = 0
    info = {
        "description": classes.name or "segstudio export",
        "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
        "segstudio": {"void": classes.ignore_name, "void_color": list(classes.ignore_color),
                      "ignore_index": classes.ignore_index, "name": classes.name},
    }
    for image_id, (item, mask) in enumerate(run.each(), 1):
        h, w = mask.shape  # the image's size: Project.read_label checks it
        doc = docs.setdefault(item.subset, {"info": info, "licenses": [], "images": [],
                                            "annotations": [], "categories": categories(classes)})
        doc["images"].append(image_record(image_id, item.key, h, w))
        anns, bad = annotations_for(mask, classes, image_id, ann_id, run.polygons)
        ann_id += len(anns)
        wrong += bad
        total += mask.size
        doc["annotations"].extend(anns)
        if run.images:
            target.copy(f"{IMAGES}/{item.key}", item.image)
    for subset, doc in docs.items():
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        target.write(f"{ANNOTATIONS}/instances_{subset}.json", text.encode("utf-8"))
    if run.polygons:
        share = 100 * wrong / max(total, 1)
        run.notes.append(
            f"polygons are approximate: {wrong:,} of {total:,} pixels ({share:.2f}%) differ from "
            "the label maps (holes and void inside regions); export without --polygons for "
            "exact RLE masks"
        )


# ----- reading ----------------------------------------------------------------------------------
def _json_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FormatError(path, "no such file or folder")
    for folder in (path / ANNOTATIONS, path):
        files = sorted(p for p in folder.glob("*.json") if p.is_file())
        if files:
            return files
    raise FormatError(path, f"no COCO .json file here or in {ANNOTATIONS}/")


def _load(path: Path) -> dict:
    doc = read_json(path, "COCO JSON")
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("categories"), list):
        raise FormatError(path, "not a COCO file: needs 'images' and 'categories' lists")
    if not isinstance(doc.get("annotations", []), list):
        raise FormatError(path, "'annotations' must be a list")
    return doc


def _color(value) -> Color | None:
    if isinstance(value, list | tuple) and len(value) == 3 and all(
            isinstance(v, int) and 0 <= v <= 255 for v in value):
        return tuple(value)  # type: ignore[return-value]
    return None


def _classes(doc: dict, where: Path) -> tuple[ClassSet, dict[int, int], list[str]]:
    """Class set from the categories (sorted by id) and category id -> class index."""
    notes = []
    cats = []
    ids: set[int] = set()
    for c in doc["categories"]:
        if not isinstance(c, dict) or not is_int(c.get("id")) \
                or not isinstance(c.get("name"), str):
            raise FormatError(where, f"bad category {short(c)}: needs an integer id and a name")
        if c["id"] in ids:
            # Which one an annotation means cannot be told: refuse rather than pick one.
            raise FormatError(where, f"category id {c['id']} is listed twice")
        ids.add(c["id"])
        cats.append(c)
    cats.sort(key=lambda c: c["id"])
    if not cats:
        raise FormatError(where, "no categories")
    if len(cats) > 255:
        raise FormatError(where, f"{len(cats)} categories: segstudio label files hold at most 255")
    meta = (doc.get("info") or {}).get("segstudio") if isinstance(doc.get("info"), dict) else None
    meta = meta if isinstance(meta, dict) else {}
    void_color = _color(meta.get("void_color")) or voc_color(255)
    colors: list[Color] = []
    used = {void_color}
    for i, c in enumerate(cats):
        color = _color(c.get("color"))
        if color is None or color in used:
            if color is not None:
                notes.append(f"{where}: category {c['name']!r} repeats colour {color}; given "
                             "another")
            k = i
            color = voc_color(k)
            while color in used:
                k += 1
                color = voc_color(k % 256) if k < 256 else tuple(
                    int(v) for v in np.random.default_rng(k).integers(0, 256, 3))
        used.add(color)
        colors.append(color)
    ignore = meta.get("ignore_index")
    if not (isinstance(ignore, int) and len(cats) <= ignore <= 255):
        ignore = 255
    try:
        classes = ClassSet([c["name"] for c in cats], colors, ignore,
                           str(meta.get("void", "void")), void_color,
                           str(meta.get("name", "")))
    except ClassSetError as e:
        raise FormatError(where, str(e)) from None
    return classes, {c["id"]: i for i, c in enumerate(cats)}, notes


def _find_image(file_name: str, json_path: Path, images: Path | None, subset: str) -> Path | None:
    base = json_path.parent
    roots = [images] if images is not None else []
    roots += [base, base / IMAGES, base.parent / IMAGES, base.parent,
              base.parent / IMAGES / subset]
    for root in roots:
        p = root / file_name
        if p.is_file():
            return p
    return None


def read(path: Path, *, images: Path | None = None) -> Source:
    files = _json_files(path)
    first = None
    source: Source | None = None
    cat_index: dict[int, int] = {}
    seen: set[str] = set()
    for jf in files:
        doc = _load(jf)
        classes, index, notes = _classes(doc, jf)
        if source is None:
            source = Source(path, "coco", classes, [], notes=notes)
            first, cat_index = jf, index
        elif classes.names != source.classes.names or index != cat_index:
            raise FormatError(jf, f"its categories differ from those of {first}")
        subset = jf.stem.removeprefix("instances_")
        _read_doc(doc, jf, images, subset, source, cat_index, seen)
    assert source is not None
    return source


def _read_doc(doc: dict, jf: Path, images: Path | None, subset: str, source: Source,
              cat_index: dict[int, int], seen: set[str]) -> None:
    by_image: dict[int, list[dict]] = {}
    for ann in doc.get("annotations", []):
        if isinstance(ann, dict) and is_int(ann.get("image_id")):
            by_image.setdefault(ann["image_id"], []).append(ann)
    known_ids: set[int] = set()
    # Two records with one id: its annotations cannot be told apart, so neither is imported.
    uses = Counter(rec.get("id") for rec in doc["images"]
                   if isinstance(rec, dict) and is_int(rec.get("id")))
    twice = {i for i, n in uses.items() if n > 1}
    named: dict[int, list[str]] = {}
    for r in doc["images"]:
        if isinstance(r, dict) and is_int(r.get("id")) and r["id"] in twice:
            named.setdefault(r["id"], []).append(short(r.get("file_name")))
    for i, names in sorted(named.items()):
        source.problems.append(f"{jf}: image id {i} is used by {len(names)} images "
                               f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}); "
                               "their annotations cannot be told apart, skipped")
    for rec in doc["images"]:
        if not isinstance(rec, dict) or not is_int(rec.get("id")) \
                or not isinstance(rec.get("file_name"), str):
            source.problems.append(f"{jf}: bad image record {short(rec)}; skipped")
            continue
        known_ids.add(rec["id"])
        if rec["id"] in twice:
            continue
        name = rec["file_name"].replace("\\", "/")
        # An absolute or '..' file_name (some tools write them) keys the image by its name.
        key = safe_key(name) or safe_key(posixpath.basename(name))
        if key is None:
            source.problems.append(f"{jf}: image file_name {short(rec['file_name'])} names no "
                                   "file; skipped")
            continue
        if key in seen:
            source.problems.append(f"{jf}: image {key!r} is listed again; the first is kept")
            continue
        file = Path(name) if Path(name).is_absolute() and Path(name).is_file() else \
            _find_image(key, jf, images, subset)
        if file is None:
            hint = "" if images is not None else " (pass the images folder)"
            source.problems.append(f"{jf}: no image file for {key!r}{hint}; skipped")
            continue
        seen.add(key)
        h, w = rec.get("height"), rec.get("width")
        source.items.append(SourceItem(
            key=key, image=file,
            load=_loader(jf, key, file, h, w, by_image.get(rec["id"], []), source, cat_index)))
    orphans = sum(len(v) for k, v in by_image.items() if k not in known_ids)
    if orphans:
        source.problems.append(f"{jf}: {plural(orphans, 'annotation')} naming no listed "
                               "image; skipped")


def _loader(jf: Path, key: str, file: Path, h, w, anns: list[dict], source: Source,
            cat_index: dict[int, int]) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from segstudio.core.imageio import image_size

        ih, iw = image_size(file)
        if (h, w) != (ih, iw):
            raise FormatError(jf, f"image {key!r} is listed as {w}x{h} but {file} is {iw}x{ih}")
        void = source.classes.ignore_index
        out = np.full((ih, iw), void, np.uint8)
        # One byte each (an int32 count was 4 bytes a pixel): what is covered, and twice.
        covered = np.zeros((ih, iw), bool)
        twice = np.zeros((ih, iw), bool)
        for n, ann in enumerate(anns):
            cat = ann.get("category_id")
            what = f"image {key!r}, annotation {short(ann.get('id', f'#{n + 1}'))}"
            if not is_int(cat):
                raise FormatError(jf, f"{what}: category_id {short(cat)} is not a whole number; "
                                  "label not imported")
            if cat not in cat_index:
                source.tally.add(f"unknown category id {cat!r}", 1, key, "annotations",
                                 "skipped")
                continue
            binary = _segmentation(ann.get("segmentation"), ih, iw, jf, what)
            if binary is None:
                source.tally.add("empty or malformed segmentation", 1, key, "annotations",
                                 "skipped")
                continue
            out[binary] = cat_index[cat]
            twice |= covered & binary
            covered |= binary
        overlap = int(twice.sum())
        if overlap:
            source.tally.add("overlapping annotations", overlap, key, "px",
                             "the later annotation wins")
        return out
    return load


def _segmentation(seg, h: int, w: int, jf: Path, what: str) -> np.ndarray | None:
    """The annotation's mask; None when it has none; FormatError naming `what` (the image
    and annotation) for one that cannot be right: the image's label is then not imported,
    never written with a part missing."""
    try:
        if isinstance(seg, list):
            if not seg or not all(isinstance(p, list) and len(p) >= 4 for p in seg):
                return None
            return rle.polygons_to_mask(seg, h, w)
        if isinstance(seg, dict) and "counts" in seg:
            size = seg.get("size")
            if list(size or []) != [h, w]:
                raise FormatError(jf, f"{what}: an RLE of size {short(size)} on a {h}x{w} "
                                  "image")
            counts = seg["counts"]
            if isinstance(counts, list):
                return rle.decode(counts, h, w)
            if isinstance(counts, str):
                return rle.decode_string(counts, h, w)
    except (rle.RleError, TypeError, ValueError, OverflowError) as e:
        raise FormatError(jf, f"{what}: bad segmentation ({e}); label not imported") from None
    return None
