"""A generated corpus of files a user's folder may contain: each must raise a typed error that
names the file, never a traceback from Pillow/OpenCV or a hang."""

import io

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import default_classes
from segstudio.core.errors import ImageReadError, LabelError
from segstudio.core.imageio import image_size, read_image
from segstudio.core.labels import read_label


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((40, 50, 3), np.uint8) + 90).save(buf, "PNG")
    return buf.getvalue()


def _jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _make(kind: str, folder):
    p = folder / f"{kind}.png"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("this is not an image\n")
    elif kind == "truncated_png":
        p.write_bytes(_png_bytes()[:60])
    elif kind == "truncated_jpeg":
        p = folder / "truncated.jpg"
        p.write_bytes(_jpeg_bytes()[:300])
    elif kind == "header_only_jpeg":
        p = folder / "header.jpg"
        p.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    elif kind == "directory":
        p.mkdir()
    elif kind == "missing":
        pass
    elif kind == "random_bytes":
        p.write_bytes(np.random.default_rng(2).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return p


KINDS = [
    "empty",
    "text",
    "truncated_png",
    "truncated_jpeg",
    "header_only_jpeg",
    "directory",
    "missing",
    "random_bytes",
]


@pytest.mark.parametrize("kind", KINDS)
def test_bad_images_raise_imagereaderror_naming_the_file(tmp_path, kind) -> None:
    p = _make(kind, tmp_path)
    with pytest.raises(ImageReadError) as err:
        read_image(p)
    assert err.value.path == p
    assert str(p) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("truncated_png", "truncated_jpeg")])
def test_bad_images_fail_image_size_too(tmp_path, kind) -> None:
    p = _make(kind, tmp_path)
    with pytest.raises(ImageReadError, match=p.name):
        image_size(p)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_labels_raise_labelerror_naming_the_file(tmp_path, kind) -> None:
    p = _make(kind, tmp_path)
    with pytest.raises(LabelError) as err:
        read_label(p, default_classes())
    assert err.value.path == p and "\n" not in str(err.value)


def _good(kind: str, folder):
    """Unusual but valid images: each must read as RGB uint8 of the right size."""
    rgb = np.zeros((6, 9, 3), np.uint8) + 100
    if kind == "gray16.png":
        Image.fromarray(np.full((6, 9), 30000, np.uint16)).save(folder / kind)
    elif kind == "palette.png":
        Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / kind)
    elif kind == "rgba.png":
        Image.fromarray(rgb).convert("RGBA").save(folder / kind)
    elif kind == "gray.jpg":
        Image.fromarray(rgb[..., 0]).save(folder / kind)
    elif kind == "cmyk.jpg":
        Image.fromarray(rgb).convert("CMYK").save(folder / kind)
    elif kind == "float.tif":
        Image.fromarray(np.full((6, 9), 0.5, np.float32)).save(folder / kind)
    else:  # lossy WebP, non-ASCII BMP name
        Image.fromarray(rgb).save(folder / kind)


GOOD = [
    "gray16.png",
    "palette.png",
    "rgba.png",
    "gray.jpg",
    "cmyk.jpg",
    "float.tif",
    "lossy.webp",
    "ünï €.bmp",
]


@pytest.mark.parametrize("kind", GOOD)
def test_unusual_valid_images_read_as_rgb(tmp_path, kind) -> None:
    _good(kind, tmp_path)
    out = read_image(tmp_path / kind)
    assert out.shape == (6, 9, 3) and out.dtype == np.uint8
    assert image_size(tmp_path / kind) == (6, 9)


def test_a_project_full_of_bad_files_lists_and_reports_each(tmp_path) -> None:
    from segstudio.core.project import ImageState, Project

    for kind in KINDS:
        if kind != "missing":
            _make(kind, tmp_path)
    for kind in GOOD:
        _good(kind, tmp_path)
    p = Project.open(tmp_path)
    keys = [e.key for e in p.entries]
    assert "directory.png" not in keys  # a folder named like an image is a folder
    assert set(GOOD) <= set(keys)
    assert p.counts()[ImageState.UNLABELED] == len(keys)
    failures = []
    for e in p.entries:
        try:
            p.read_image(e)
        except ImageReadError as err:
            failures.append(err.path.name)
    assert sorted(failures) == sorted(
        [
            "empty.png",
            "text.png",
            "truncated_png.png",
            "truncated.jpg",
            "header.jpg",
            "random_bytes.png",
        ]
    )
    # A bad label file for a good image is a LabelError from the project too.
    e = p.entry("rgba.png")
    p.labels_dir.mkdir()
    p.label_path(e).write_text("not a png")
    with pytest.raises(LabelError, match=r"rgba\.png"):
        p.read_label(e)
    # Saving a label for an unreadable image fails on the image, writing nothing.
    bad = p.entry("text.png")
    with pytest.raises(ImageReadError):
        p.save_label(bad, np.zeros((6, 9), np.uint8), state=ImageState.REVIEWED)
    assert not p.label_path(bad).exists()
