"""labelme / X-AnyLabeling JSON (import only): one JSON per image with `imagePath`, optional
embedded `imageData`, and `shapes`, each with a `label`, `points` and a `shape_type`.

Shapes are drawn in file order, a later shape over an earlier one, exactly as labelme's
`shapes_to_label` draws them (Pillow's ImageDraw): polygon, rectangle, circle (centre and a
point on the rim), line and linestrip (10 px wide), point (radius 5), oriented_rectangle /
X-AnyLabeling's rotation (4-point polygon), and mask (a base64 PNG placed at its bounding-box
points). The label `__ignore__` paints void.

Classes: with `labels` (labelme's labels.txt: one name per line, `__ignore__` for void,
`_background_` for what no shape covers) in that order; otherwise every label found, sorted by
name. Pixels no shape covers are `_background_` when that class exists, void otherwise.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import math
import posixpath
from collections.abc import Callable
from pathlib import Path, PureWindowsPath

import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from segstudio.core.classes import ClassSet, voc_color
from segstudio.core.formats.common import FormatError, Source, SourceItem, plural, safe_key
from segstudio.core.formats.guards import check_image, read_json, short
from segstudio.core.formats.rle import MAX_COORD, clip_polygon, clip_segment
from segstudio.core.imageheader import read_header
from segstudio.core.imageio import size_problem
from segstudio.core.listing import natural_key

IGNORE = "__ignore__"
BACKGROUND = "_background_"
POLYGON_TYPES = (None, "polygon", "oriented_rectangle", "rotation")
_POINTS = {"circle": 2, "rectangle": 2, "line": 2, "point": 1, "mask": 2,
           "oriented_rectangle": 4, "rotation": 4}
_MAGIC = {b"\x89PNG": ".png", b"\xff\xd8": ".jpg", b"BM": ".bmp", b"RIFF": ".webp",
          b"II*\x00": ".tif", b"MM\x00*": ".tif"}


class ShapeError(ValueError):
    """A shape that cannot be drawn (wrong number of points, bad mask data)."""


class BadShape(ShapeError):
    """A shape whose values cannot be right (NaN points, a type that is not a name): the
    image's label is refused rather than written without it."""


def _margin(h: int, w: int) -> float:
    """Points further out than this are clipped before Pillow draws: its integer coordinates
    wrap for huge values (a 1e12 rectangle drew nothing), and an ellipse costs time in
    proportion to its radius (74 s for 1e7). The margin exceeds every shape's width (10 px)."""
    return max(h, w) + 64.0


def _decode_mask(data: str, h: int, w: int) -> np.ndarray:
    try:
        raw = base64.b64decode(data, validate=False)
        header = read_header(raw)
        # Before decoding: a patch is at most its image's size (a bomb is refused unread).
        # BadShape: the image is refused, not imported without the shape (a bomb is hostile,
        # not a shape someone drew wrong).
        if header is not None and (size_problem(header.width, header.height)
                                   or header.width * header.height > 4 * h * w):
            raise BadShape(f"mask patch of {header.width}x{header.height} on a {w}x{h} image")
        img = Image.open(io.BytesIO(raw))
        if img.size[0] * img.size[1] > 4 * h * w:
            raise BadShape(f"mask patch of {img.size[0]}x{img.size[1]} on a {w}x{h} image")
        arr = np.array(img)
    except (binascii.Error, OSError, ValueError, UnidentifiedImageError,
            Image.DecompressionBombError) as e:
        if isinstance(e, ShapeError):
            raise
        raise ShapeError(f"mask is not a base64 PNG ({e})") from None
    if arr.ndim != 2:
        raise ShapeError(f"mask must decode to a 2D image, got shape {arr.shape}")
    return arr.astype(bool)


def shape_mask(shape: dict, h: int, w: int) -> np.ndarray:
    """(H, W) bool of one labelme shape, drawn as labelme draws it."""
    shape_type = shape.get("shape_type")
    if not isinstance(shape_type, str | None):
        raise BadShape(f"shape_type {short(shape_type)} is not a name")
    try:
        xy = [(float(p[0]), float(p[1])) for p in shape.get("points", [])]
    except (TypeError, ValueError, IndexError, OverflowError):
        raise ShapeError("points must be [x, y] pairs") from None
    if not all(math.isfinite(v) and abs(v) <= MAX_COORD for p in xy for v in p):
        raise BadShape(f"a point that is not a finite number within ±{MAX_COORD:g}")
    want = _POINTS.get(shape_type)
    if want is not None and len(xy) != want:
        raise ShapeError(f"a {shape_type} needs {want} points, got {len(xy)}")
    if shape_type == "mask":
        return _place_mask(shape, xy, h, w)
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    m = _margin(h, w)
    lo, hi = (-m, -m), (w + m, h + m)
    far = any(not (lo[0] <= x <= hi[0] and lo[1] <= y <= hi[1]) for x, y in xy)
    if shape_type == "circle":
        (cx, cy), (px, py) = xy
        d = math.sqrt((cx - px) ** 2 + (cy - py) ** 2)
        if far or d > m:
            return _big_circle(cx, cy, d, h, w)
        draw.ellipse(((cx - d, cy - d), (cx + d, cy + d)), outline=1, fill=1)
    elif shape_type == "rectangle":
        (x0, y0), (x1, y1) = ((min(max(x, lo[0]), hi[0]), min(max(y, lo[1]), hi[1]))
                              for x, y in xy)   # clamping an axis-aligned box is exact
        draw.rectangle(((min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))),
                       outline=1, fill=1)
    elif shape_type in ("line", "linestrip"):
        if len(xy) < 2:
            raise ShapeError(f"a {shape_type} needs at least 2 points")
        joint = "curve" if shape_type == "linestrip" else None
        if not far:
            draw.line(xy=xy, fill=1, width=10, joint=joint)
        for a, b in itertools.pairwise(xy) if far else ():
            seg = clip_segment(a, b, lo, hi)   # each piece alone: joints out there are unseen
            if seg is not None:
                draw.line(xy=seg, fill=1, width=10)
    elif shape_type == "point":
        (cx, cy), r = xy[0], 5
        if not far:
            draw.ellipse(((cx - r, cy - r), (cx + r, cy + r)), outline=1, fill=1)
    elif shape_type in POLYGON_TYPES:
        if len(xy) < 3:
            raise ShapeError(f"a polygon needs more than 2 points, got {len(xy)}")
        if far:
            xy = [tuple(p) for p in clip_polygon(np.asarray(xy), lo, hi).tolist()]
        if len(xy) >= 2:
            draw.polygon(xy=xy, outline=1, fill=1)
    else:
        raise KeyError(shape_type)
    return np.array(img, dtype=bool)


def _big_circle(cx: float, cy: float, d: float, h: int, w: int) -> np.ndarray:
    """A circle larger than the image or centred far outside it, by its equation at the pixel
    positions (Pillow's rim differs by under a pixel): time in the image's pixels, not the
    radius's."""
    y = (np.arange(h, dtype=np.float64) - cy) ** 2
    x = (np.arange(w, dtype=np.float64) - cx) ** 2
    return (y[:, None] + x[None, :]) <= d * d


def _place_mask(shape: dict, xy: list[tuple[float, float]], h: int, w: int) -> np.ndarray:
    data = shape.get("mask")
    if not isinstance(data, str):
        raise ShapeError("a mask shape needs its base64 PNG in 'mask'")
    patch = _decode_mask(data, h, w)
    pts = np.asarray(xy)
    (x1, y1), (x2, y2) = pts.round().astype(int)
    # labelme: integer corners give the extent (inclusive); fractional ones use the PNG's size.
    if np.array_equal(pts, np.trunc(pts)):
        ph, pw = y2 - y1 + 1, x2 - x1 + 1
    else:
        ph, pw = patch.shape
    ph, pw = min(ph, patch.shape[0]), min(pw, patch.shape[1])
    out = np.zeros((h, w), bool)
    ys, ye = max(y1, 0), min(y1 + ph, h)
    xs, xe = max(x1, 0), min(x1 + pw, w)
    if ys < ye and xs < xe:
        out[ys:ye, xs:xe] = patch[ys - y1:ye - y1, xs - x1:xe - x1]
    return out


def _read_json(path: Path) -> dict | None:
    """The document when it is a labelme file, None for other JSON."""
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list) \
            or not isinstance(doc.get("imagePath"), str | type(None)):
        return None
    return doc


def _suffix_of(data: bytes) -> str:
    for magic, suffix in _MAGIC.items():
        if data.startswith(magic):
            return suffix
    return ".png"


def read_labels_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(path, f"cannot read labels file ({e})") from None
    names = [ln.strip() for ln in lines if ln.strip()]
    if len(set(names)) != len(names):
        raise FormatError(path, "a label is listed twice")
    return names


def read(path: Path, *, images: Path | None = None, labels: Path | None = None) -> Source:
    if path.is_file():
        files, root = [path], path.parent
    elif path.is_dir():
        root = path
        files = sorted((p for p in path.rglob("*.json") if p.is_file()),
                       key=lambda p: natural_key(p.relative_to(path).as_posix()))
    else:
        raise FormatError(path, "no such file or folder")
    docs: list[tuple[Path, dict]] = []
    found: dict[str, int] = {}
    skipped = 0
    for f in files:
        doc = _read_json(f)
        if doc is None:
            skipped += 1
            continue
        docs.append((f, {"imagePath": doc.get("imagePath"), "has_data": bool(doc.get("imageData")),
                         "imageHeight": doc.get("imageHeight"),
                         "imageWidth": doc.get("imageWidth")}))
        for s in doc["shapes"]:
            if isinstance(s, dict) and isinstance(s.get("label"), str):
                found[s["label"]] = found.get(s["label"], 0) + 1
    if not docs:
        raise FormatError(path, "no labelme JSON files (with 'shapes' and 'imagePath')")
    names = read_labels_file(labels) if labels is not None else sorted(
        (n for n in found if n != IGNORE), key=natural_key)
    names = [n for n in names if n != IGNORE]
    if not names:
        raise FormatError(path, "no labels besides __ignore__")
    if len(names) > 255:
        raise FormatError(path, f"{len(names)} labels: segstudio label files hold at most 255")
    classes = ClassSet(names, [voc_color(i) for i in range(len(names))], 255, "void",
                       voc_color(255), "labelme")
    source = Source(path, "labelme", classes, [])
    if skipped:
        source.notes.append(f"{path}: {plural(skipped, '.json file')} not in labelme's format; "
                            "skipped")
    index = {n: i for i, n in enumerate(names)}
    index[IGNORE] = classes.ignore_index
    fill = index.get(BACKGROUND, classes.ignore_index)
    if fill == classes.ignore_index:
        source.notes.append("pixels no shape covers are imported as void (a _background_ class "
                            "in --labels would take them)")
    seen: set[str] = set()
    for f, info in docs:
        item = _item(f, info, root, images, source, index, fill)
        if item is None:
            continue
        if item.key in seen:
            source.problems.append(f"{f}: image {item.key!r} is labelled by another JSON too; "
                                   "the first is kept")
            continue
        seen.add(item.key)
        source.items.append(item)
    return source


def _item(f: Path, info: dict, root: Path, images: Path | None, source: Source,
          index: dict[str, int], fill: int) -> SourceItem | None:
    image_path = info["imagePath"] or ""
    name = PureWindowsPath(image_path).as_posix() if "\\" in image_path else image_path
    rel_dir = f.parent.relative_to(root).as_posix()
    base = posixpath.basename(name) or f.with_suffix("").name
    candidates = [f.parent / name] if name else []
    if images is not None:
        candidates += [images / rel_dir / base, images / base]
    file = next((c for c in candidates if c.is_file()), None)
    image_bytes = None
    if file is None:
        if not info["has_data"]:
            source.problems.append(f"{f}: image {name!r} not found and no imageData; skipped")
            return None

        def image_bytes() -> bytes:
            doc = _read_json(f) or {}
            try:
                return base64.b64decode(doc.get("imageData") or "")
            except (binascii.Error, ValueError) as e:
                raise FormatError(f, f"imageData is not base64 ({e})") from None
        if not posixpath.splitext(base)[1]:
            base += _suffix_of(image_bytes())
    key = safe_key(posixpath.join(rel_dir, base) if rel_dir != "." else base)
    if key is None:
        source.problems.append(f"{f}: image name {base!r} cannot be a project key; skipped")
        return None
    return SourceItem(key=key, image=file, image_bytes=image_bytes,
                      load=_loader(f, key, file, image_bytes, info, source, index, fill))


def _loader(f: Path, key: str, file: Path | None, image_bytes: Callable[[], bytes] | None,
            info: dict, source: Source, index: dict[str, int], fill: int
            ) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from segstudio.core.imageio import image_size

        if file is not None:
            h, w = image_size(file)
        else:
            assert image_bytes is not None
            data = image_bytes()
            check_image(data, f)      # header and pixel limit first: no decompression bomb
            header = read_header(data)
            if header is not None:
                w, h = header.width, header.height
            else:
                try:
                    with Image.open(io.BytesIO(data)) as img:
                        w, h = img.size
                except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as e:
                    raise FormatError(f, f"imageData is not an image ({e})") from None
        dh, dw = info.get("imageHeight"), info.get("imageWidth")
        if isinstance(dh, int) and isinstance(dw, int) and (dh, dw) != (h, w):
            raise FormatError(f, f"says the image is {dw}x{dh} but it is {w}x{h}")
        doc = _read_json(f) or {"shapes": []}
        out = np.full((h, w), fill, np.uint8)
        for n, shape in enumerate(doc["shapes"], 1):
            label = shape.get("label") if isinstance(shape, dict) else None
            if not isinstance(label, str):
                source.tally.add("shape without a label", 1, key, "shapes", "skipped")
                continue
            if label not in index:
                source.tally.add(f"unknown label {label!r}", 1, key, "shapes",
                                 "skipped (not in --labels)")
                continue
            try:
                m = shape_mask(shape, h, w)
            except BadShape as e:
                raise FormatError(f, f"image {key!r}, shape {n} ({short(label)}): {e}; label not "
                                  "imported") from None
            except KeyError:
                source.tally.add(f"unknown shape type {shape.get('shape_type')!r}", 1, key,
                                 "shapes", "skipped")
                continue
            except ShapeError as e:
                source.tally.add(f"malformed shape ({e})", 1, key, "shapes", "skipped")
                continue
            out[m] = index[label]
        return out
    return load
