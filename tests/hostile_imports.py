"""Hostile import sources (issue 18's corpus classes), generated in the test in milliseconds.

Each case builder takes a scratch folder and returns a `Case`: the source to import, its
format, and what the refusal must name. `outside` is a folder the case tries to write into
(an absolute path inside a zip): it must stay empty. The API tests (tests/formats/
test_formats_hostile.py) and the CLI tests (tests/cli/test_cli_hostile_imports.py) run the
same cases.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tests.hostile import png_chunk, zero_png

H, W = 32, 40


@dataclass
class Case:
    source: Path
    fmt: str
    expect: list[str]                 # substrings of the one line that refuses it
    fatal: bool = False               # the whole import is refused (else one item is skipped)
    images: Path | None = None
    outside: Path | None = None
    imported: int = 0                 # labels that still import (the other, good items)
    extra: dict = field(default_factory=dict)


def png(array: np.ndarray, palette: bool = False) -> bytes:
    img = Image.fromarray(array.astype(np.uint8))
    if palette:
        img = img.convert("P")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def image_png(value: int = 90) -> bytes:
    return png(np.full((H, W, 3), value, np.uint8))


def palette_bomb(width: int, height: int) -> bytes:
    """A palette PNG of zeros (1 byte a pixel) made without compressing them."""
    raw = height * (width + 1)
    from tests.hostile import _zeros_zlib

    idat = _zeros_zlib(raw) if raw > 2 << 20 else zlib.compress(bytes(raw))
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
            + png_chunk(b"PLTE", bytes(range(3)) * 1)
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


# ----- COCO -----------------------------------------------------------------------------------
def coco(tmp: Path, annotations: list[dict], *, images: list[dict] | None = None,
         categories: list[dict] | None = None, raw: str | None = None) -> Path:
    folder = tmp / "coco"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for name in ("a.png", "b.png"):
        (folder / "images" / name).write_bytes(image_png())
    doc = {
        "images": images if images is not None else [
            {"id": 1, "file_name": "a.png", "height": H, "width": W},
            {"id": 2, "file_name": "b.png", "height": H, "width": W}],
        "categories": categories if categories is not None else [
            {"id": 1, "name": "road"}, {"id": 2, "name": "car"}],
        "annotations": annotations,
    }
    path = folder / "instances_default.json"
    path.write_text(raw if raw is not None else json.dumps(doc))
    return path


def _ann(seg, image_id: int = 1, cat=1, ann_id: int = 7) -> dict:
    return {"id": ann_id, "image_id": image_id, "category_id": cat, "segmentation": seg,
            "iscrowd": int(isinstance(seg, dict))}


GOOD_B = _ann([[0, 0, 10, 0, 10, 10]], image_id=2, ann_id=8)   # image b stays importable


def rle_wrap(tmp: Path) -> Case:
    # int64 sum: 4 * 2**62 wraps to 0, plus h*w: "covers" exactly h*w pixels.
    counts = [2**62, 2**62, 2**62, 2**62 + H * W]
    return Case(coco(tmp, [_ann({"size": [H, W], "counts": counts}), GOOD_B]), "coco",
                ["instances_default.json", "'a.png'", "annotation 7", "run length"], imported=1)


def rle_over_int64(tmp: Path) -> Case:
    return Case(coco(tmp, [_ann({"size": [H, W], "counts": [2**70, 5]}), GOOD_B]), "coco",
                ["'a.png'", "annotation 7", "whole numbers"], imported=1)


def rle_huge_string(tmp: Path) -> Case:
    text = "0" * (50 << 20)
    return Case(coco(tmp, [_ann({"size": [H, W], "counts": text}), GOOD_B]), "coco",
                ["'a.png'", "annotation 7", "counts string of 52,428,800 characters"],
                imported=1)


def nan_box(tmp: Path) -> Case:
    return Case(coco(tmp, [_ann([[float("nan"), 1, 5, 5]]), GOOD_B]), "coco",
                ["'a.png'", "annotation 7", "not a finite number"], imported=1)


def duplicate_image_ids(tmp: Path) -> Case:
    images = [{"id": 1, "file_name": "a.png", "height": H, "width": W},
              {"id": 1, "file_name": "b.png", "height": H, "width": W}]
    return Case(coco(tmp, [_ann([[0, 0, 10, 0, 10, 10]])], images=images), "coco",
                ["instances_default.json", "image id 1", "'a.png'", "2 images"])


def duplicate_category_ids(tmp: Path) -> Case:
    cats = [{"id": 1, "name": "road"}, {"id": 1, "name": "car"}]
    return Case(coco(tmp, [_ann([[0, 0, 10, 0, 10, 10]])], categories=cats), "coco",
                ["instances_default.json", "category id 1 is listed twice"], fatal=True)


def category_id_list(tmp: Path) -> Case:
    return Case(coco(tmp, [_ann([[0, 0, 10, 0, 10, 10]], cat=[1]), GOOD_B]), "coco",
                ["'a.png'", "annotation 7", "category_id [1]"], imported=1)


def coco_nested(tmp: Path) -> Case:
    return Case(coco(tmp, [], raw="[" * 100_000 + "]" * 100_000), "coco",
                ["instances_default.json", "nested too deeply"], fatal=True)


# ----- VOC / CVAT zips ------------------------------------------------------------------------
def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return path


def _cvat_members(**extra: bytes) -> dict[str, bytes]:
    colour = np.zeros((H, W, 3), np.uint8)
    colour[:, :20] = (128, 0, 0)
    return {"task/labelmap.txt": b"road:128,0,0::\nbackground:0,0,0::\n",
            "task/SegmentationClass/good.png": png(colour),
            "task/JPEGImages/good.png": image_png(), **extra}


def zip_absolute_entry(tmp: Path) -> Case:
    outside = tmp / "outside"
    outside.mkdir()
    evil = f"{outside}/evil"
    colour = np.zeros((H, W, 3), np.uint8)
    members = _cvat_members(**{f"task/SegmentationClass/{evil}.png": png(colour),
                               f"task/JPEGImages/{evil}.png": image_png()})
    return Case(_zip(tmp / "task.zip", members), "cvat-mask",
                ["task.zip", evil, "not a relative name"], outside=outside, imported=1)


def zip_mask_bomb(tmp: Path) -> Case:
    members = _cvat_members(**{"task/SegmentationClass/big.png": zero_png(12000, 12000),
                               "task/JPEGImages/big.png": image_png()})
    return Case(_zip(tmp / "task.zip", members), "cvat-mask",
                ["big.png", "12000x12000"], imported=1)


def zip_palette_bomb(tmp: Path) -> Case:
    # Under the pixel limit (81 MP) but not the size of its 40x32 image: refused unread.
    members = _cvat_members(**{"task/SegmentationClass/pal.png": palette_bomb(9000, 9000),
                               "task/JPEGImages/pal.png": image_png()})
    return Case(_zip(tmp / "task.zip", members), "voc",
                ["pal.png", "mask is 9000x9000, its image 40x32"], imported=1)


def folder_palette_bomb(tmp: Path) -> Case:
    # The same bomb in a VOC folder, not a zip: the folder import path checks it too.
    folder = tmp / "voc"
    for sub in ("SegmentationClass", "JPEGImages"):
        (folder / sub).mkdir(parents=True)
    colour = np.zeros((H, W, 3), np.uint8)
    colour[:, :20] = (128, 0, 0)
    (folder / "labelmap.txt").write_bytes(b"road:128,0,0::\nbackground:0,0,0::\n")
    (folder / "SegmentationClass" / "good.png").write_bytes(png(colour))
    (folder / "JPEGImages" / "good.png").write_bytes(image_png())
    (folder / "SegmentationClass" / "pal.png").write_bytes(palette_bomb(9000, 9000))
    (folder / "JPEGImages" / "pal.png").write_bytes(image_png())
    return Case(folder, "voc", ["pal.png", "mask is 9000x9000, its image 40x32"], imported=1)


def zip_fat_image(tmp: Path) -> Case:
    # A valid 40x32 PNG followed by 20 MB of zeros: 20 KB zipped.
    colour = np.zeros((H, W, 3), np.uint8)
    members = _cvat_members(**{"task/SegmentationClass/fat.png": png(colour),
                               "task/JPEGImages/fat.png": image_png() + bytes(20 << 20)})
    return Case(_zip(tmp / "task.zip", members), "cvat-mask",
                ["fat.png", "for a 40x32 image", "not an image"], imported=1)


def _patch_member(path: Path, name: str, *, flag: int | None = None,
                  method: int | None = None, size: int | None = None,
                  crc: int | None = None) -> None:
    """Rewrite a member's flags / compression method / declared (uncompressed) size in both
    of its zip headers (zipfile cannot write an encrypted, Deflate64 or lying member)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    for sig, flag_at, method_at, crc_at, name_at in ((b"PK\x03\x04", 6, 8, 14, 30),
                                                    (b"PK\x01\x02", 8, 10, 16, 46)):
        size_at = crc_at + 8   # CRC-32, compressed size, uncompressed size
        start = 0
        while (i := data.find(sig, start)) >= 0:
            start = i + 4
            if data[i + name_at:i + name_at + len(encoded)] == encoded:
                if flag is not None:
                    data[i + flag_at:i + flag_at + 2] = struct.pack("<H", flag)
                if method is not None:
                    data[i + method_at:i + method_at + 2] = struct.pack("<H", method)
                if size is not None:
                    data[i + size_at:i + size_at + 4] = struct.pack("<I", size)
                if crc is not None:
                    data[i + crc_at:i + crc_at + 4] = struct.pack("<I", crc)
    path.write_bytes(bytes(data))


def zip_encrypted(tmp: Path) -> Case:
    colour = np.zeros((H, W, 3), np.uint8)
    members = _cvat_members(**{"task/SegmentationClass/enc.png": png(colour),
                               "task/JPEGImages/enc.png": image_png()})
    path = _zip(tmp / "task.zip", members)
    _patch_member(path, "task/SegmentationClass/enc.png", flag=1)
    return Case(path, "cvat-mask", ["enc.png", "encrypted"], imported=1)


def zip_deflate64(tmp: Path) -> Case:
    colour = np.zeros((H, W, 3), np.uint8)
    members = _cvat_members(**{"task/SegmentationClass/d64.png": png(colour),
                               "task/JPEGImages/d64.png": image_png()})
    path = _zip(tmp / "task.zip", members)
    _patch_member(path, "task/SegmentationClass/d64.png", method=9)
    return Case(path, "cvat-mask", ["d64.png", "method 9"], imported=1)


def _size_lie(tmp: Path, folder: str, crc: bool = False) -> Case:
    # A 40x32 PNG and 200 MB of zeros (200 KB deflated) whose headers say 100 bytes: the
    # declared size passes every check, so only the bound on what is read can hold. `crc`:
    # the size says 40 and the CRC is forged to that of the first 40 bytes, so the read itself
    # succeeds and returns a PNG cut in its middle.
    colour = np.zeros((H, W, 3), np.uint8)
    name = f"task/{folder}/lie.png"
    members = _cvat_members(**{"task/SegmentationClass/lie.png": png(colour),
                               "task/JPEGImages/lie.png": image_png()})
    members[name] += bytes(200 << 20)
    path = _zip(tmp / "task.zip", members)
    cut = 40 if crc else 100
    _patch_member(path, name, size=cut, crc=zlib.crc32(members[name][:cut]) if crc else None)
    return Case(path, "cvat-mask", ["lie.png", "not a readable PNG" if crc else "zip member"],
                imported=1)


def zip_mask_size_lie(tmp: Path) -> Case:
    return _size_lie(tmp, "SegmentationClass")


def zip_image_size_lie(tmp: Path) -> Case:
    return _size_lie(tmp, "JPEGImages")


def zip_size_and_crc_lie(tmp: Path) -> Case:
    return _size_lie(tmp, "SegmentationClass", crc=True)


# ----- labelme --------------------------------------------------------------------------------
def labelme(tmp: Path, shapes: list[dict], *, image_data: bytes | None = None,
            raw: str | None = None) -> Path:
    folder = tmp / "labelme"
    folder.mkdir(exist_ok=True)
    good = {"imagePath": "good.png", "imageData": None, "imageHeight": H, "imageWidth": W,
            "shapes": [{"label": "road", "points": [[0, 0], [10, 0], [10, 10]],
                        "shape_type": "polygon"}]}
    (folder / "good.png").write_bytes(image_png())
    (folder / "good.json").write_text(json.dumps(good))
    doc = {"imagePath": "x.png", "imageHeight": H, "imageWidth": W, "shapes": shapes,
           "imageData": None}
    if image_data is not None:
        doc["imageData"] = base64.b64encode(image_data).decode("ascii")
        doc.pop("imageHeight"), doc.pop("imageWidth")
    else:
        (folder / "x.png").write_bytes(image_png())
    (folder / "x.json").write_text(raw if raw is not None else json.dumps(doc))
    return folder


def labelme_nan(tmp: Path) -> Case:
    shapes = [{"label": "road", "points": [[0, 0], [float("nan"), 3], [9, 9]],
               "shape_type": "polygon"}]
    return Case(labelme(tmp, shapes), "labelme",
                ["x.json", "'x.png'", "shape 1", "not a finite number"], imported=1)


def labelme_type_list(tmp: Path) -> Case:
    shapes = [{"label": "road", "points": [[0, 0], [5, 3], [9, 9]], "shape_type": ["polygon"]}]
    return Case(labelme(tmp, shapes), "labelme",
                ["x.json", "'x.png'", "shape 1", "shape_type ['polygon']"], imported=1)


def labelme_bomb(tmp: Path) -> Case:
    return Case(labelme(tmp, [], image_data=zero_png(20000, 20000)), "labelme",
                ["x.png", "20000x20000", "over segstudio's limit"], imported=1)


def labelme_mask_bomb(tmp: Path) -> Case:
    # A mask patch (labelme's base64 PNG) of 20000x20000 on a 40x32 image: refused from its
    # header, never decoded (Pillow's DecompressionBombError before).
    patch = base64.b64encode(zero_png(20000, 20000)).decode("ascii")
    shapes = [{"label": "road", "points": [[0, 0], [9, 9]], "shape_type": "mask",
               "mask": patch}]
    return Case(labelme(tmp, shapes), "labelme",
                ["x.json", "shape 1", "mask patch of 20000x20000"], imported=1)


def labelme_nested(tmp: Path) -> Case:
    return Case(labelme(tmp, [], raw="{\"a\":" * 100_000 + "1" + "}" * 100_000), "labelme",
                ["x.json", "nested too deeply"], fatal=True)


CASES: dict[str, Callable[[Path], Case]] = {f.__name__: f for f in (
    rle_wrap, rle_over_int64, rle_huge_string, nan_box, duplicate_image_ids,
    duplicate_category_ids, category_id_list, coco_nested, zip_absolute_entry, zip_mask_bomb,
    zip_palette_bomb, folder_palette_bomb, zip_fat_image, zip_encrypted, zip_deflate64,
    zip_mask_size_lie, zip_image_size_lie, zip_size_and_crc_lie, labelme_nan,
    labelme_type_list, labelme_bomb, labelme_mask_bomb, labelme_nested)}
