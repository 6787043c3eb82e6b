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
