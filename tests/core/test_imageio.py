import numpy as np
import pytest
from PIL import Image

from segstudio.core.imageio import image_size, is_image_name, read_image


def _rgb(h: int = 12, w: int = 20) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".webp"])
def test_lossless_formats_round_trip(tmp_path, suffix) -> None:
    arr = _rgb()
    p = tmp_path / f"img{suffix}"
    kwargs = {"lossless": True} if suffix == ".webp" else {}
    Image.fromarray(arr).save(p, **kwargs)
    out = read_image(p)
    assert out.dtype == np.uint8 and out.shape == (12, 20, 3)
    np.testing.assert_array_equal(out, arr)
    assert image_size(p) == (12, 20)


def test_jpeg_and_non_ascii_path(tmp_path) -> None:
    arr = np.full((16, 24, 3), (200, 30, 90), np.uint8)
    p = tmp_path / "日本語 ünïcode" / "straße.jpg"
    p.parent.mkdir()
    Image.fromarray(arr).save(p, quality=95)
    out = read_image(p)
    assert out.shape == (16, 24, 3)
    assert np.abs(out.astype(int) - arr).max() <= 4
    assert image_size(p) == (16, 24)


@pytest.mark.parametrize(
    ("mode", "expect"),
    [("L", (7, 7, 7)), ("RGBA", (1, 2, 3)), ("P", (1, 2, 3)), ("1", (255, 255, 255))],
)
def test_modes_become_rgb(tmp_path, mode, expect) -> None:
    base = Image.new("RGB", (5, 4), (1, 2, 3))
    if mode == "L":
        img = Image.new("L", (5, 4), 7)
    elif mode == "RGBA":
        img = base.convert("RGBA")
    elif mode == "P":
        img = base.convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        img = Image.new("1", (5, 4), 1)
    img.save(tmp_path / "x.png")
    out = read_image(tmp_path / "x.png")
    assert out.shape == (4, 5, 3)
    assert tuple(out[0, 0]) == expect


def test_16bit_greyscale_is_scaled(tmp_path) -> None:
    arr = np.array([[0, 257 * 128, 65535]], np.uint16)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    out = read_image(tmp_path / "g16.png")
    assert out[0, :, 0].tolist() == [0, 128, 255]


def test_16bit_colour_tiff_via_opencv_fallback(tmp_path) -> None:
    import cv2

    arr = np.zeros((3, 4, 3), np.uint16)
    arr[..., 2] = 65535  # BGR: red
    cv2.imwrite(str(tmp_path / "c16.tif"), arr)
    out = read_image(tmp_path / "c16.tif")
    assert out.shape == (3, 4, 3) and tuple(out[0, 0]) == (255, 0, 0)


def test_exif_orientation_is_applied(tmp_path) -> None:
    arr = np.zeros((10, 30, 3), np.uint8)
    arr[:, :5] = 255  # white stripe on the left of the stored pixels
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    p = tmp_path / "rot.jpg"
    img.save(p, exif=exif, quality=95)
    out = read_image(p)
    assert out.shape == (30, 10, 3)
    assert image_size(p) == (30, 10)
    assert out[:5].mean() > 200 and out[-5:].mean() < 50  # left stripe is now on top


def test_names() -> None:
    assert is_image_name("a.JPG") and is_image_name("b.tiff")
    assert not is_image_name(".hidden.png") and not is_image_name("a.txt")


def test_returned_arrays_are_writable_and_contiguous(tmp_path) -> None:
    from segstudio.core.labels import read_label

    Image.fromarray(_rgb()).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "l.png")
    for arr in (read_image(tmp_path / "a.png"), read_label(tmp_path / "l.png")):
        assert arr.flags.writeable and arr.flags.c_contiguous
