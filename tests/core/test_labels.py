import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import builtin_classes, default_classes
from segstudio.core.errors import LabelError
from segstudio.core.labels import read_label, write_label


@pytest.fixture
def camvid():
    return builtin_classes("camvid")


def _mask(h: int = 30, w: int = 40, k: int = 11, ignore: int = 11) -> np.ndarray:
    rng = np.random.default_rng(3)
    m = rng.integers(0, k, (h, w), dtype=np.uint8)
    m[:3, :3] = ignore
    return m


def test_written_label_is_a_palette_png_that_reads_back(tmp_path, camvid) -> None:
    m = _mask()
    p = tmp_path / "a.png"
    write_label(p, m, camvid)
    with Image.open(p) as img:
        assert img.mode == "P"
        pal = np.array(img.getpalette()[: 256 * 3], np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(pal, camvid.palette())
    np.testing.assert_array_equal(read_label(p, camvid), m)


def test_greyscale_index_png_camvid_style(tmp_path, camvid) -> None:
    m = _mask()
    Image.fromarray(m).save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_label(tmp_path / "g.png", camvid, (30, 40)), m)


def test_rgb_colour_coded_label_is_decoded_through_the_colours(tmp_path, camvid) -> None:
    m = _mask()
    Image.fromarray(camvid.palette()[m]).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_label(tmp_path / "rgb.png", camvid), m)
    Image.fromarray(camvid.palette()[m]).convert("RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_label(tmp_path / "rgba.png", camvid), m)


def test_unknown_colours_are_named_with_counts(tmp_path, camvid) -> None:
    rgb = camvid.palette()[_mask()]
    rgb[0, :5] = (1, 2, 3)
    rgb[1, :2] = (250, 250, 250)
    Image.fromarray(rgb).save(tmp_path / "bad.png")
    with pytest.raises(
        LabelError, match=r"bad.png.*2 colour.*\(1, 2, 3\) x5.*\(250, 250, 250\) x2"
    ):
        read_label(tmp_path / "bad.png", camvid)


def test_rgb_without_classes_is_an_error(tmp_path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "rgb.png")
    with pytest.raises(LabelError, match="class set"):
        read_label(tmp_path / "rgb.png")


def test_out_of_range_indices_are_named(tmp_path, camvid) -> None:
    m = _mask()
    m[5, 5:8] = 40
    m[6, 0] = 12
    Image.fromarray(m).save(tmp_path / "idx.png")
    with pytest.raises(LabelError, match=r"idx.png: values 12 x1, 40 x3 are not classes 0..10"):
        read_label(tmp_path / "idx.png", camvid)
    # Without a class set the values are returned as they are.
    assert read_label(tmp_path / "idx.png")[5, 5] == 40


def test_size_mismatch_is_an_error_not_a_resize(tmp_path, camvid) -> None:
    write_label(tmp_path / "a.png", _mask(), camvid)
    with pytest.raises(LabelError, match="label is 40x30 but its image is 41x30"):
        read_label(tmp_path / "a.png", camvid, expected_shape=(30, 41))


def test_16bit_labels_within_range_are_accepted_and_beyond_rejected(tmp_path) -> None:
    Image.fromarray(np.array([[0, 1], [255, 1]], np.uint16)).save(tmp_path / "ok16.png")
    assert read_label(tmp_path / "ok16.png", default_classes()).tolist() == [[0, 1], [255, 1]]
    Image.fromarray(np.array([[0, 300]], np.uint16)).save(tmp_path / "big16.png")
    with pytest.raises(LabelError, match="300"):
        read_label(tmp_path / "big16.png")


def test_writing_rejects_bad_masks(tmp_path) -> None:
    c = default_classes()
    with pytest.raises(LabelError, match="integers"):
        write_label(tmp_path / "a.png", np.zeros((3, 3), np.float32), c)
    with pytest.raises(LabelError, match="integers"):
        write_label(tmp_path / "a.png", np.zeros((3, 3, 1), np.uint8), c)
    with pytest.raises(LabelError, match=r"-1\.\.1 do not fit"):
        write_label(tmp_path / "a.png", np.array([[-1, 1]]), c)
    with pytest.raises(LabelError, match="values 7"):
        write_label(tmp_path / "a.png", np.full((3, 3), 7, np.uint8), c)
    assert not (tmp_path / "a.png").exists()


@pytest.mark.camvid
def test_reads_a_real_camvid_label(camvid_root, camvid) -> None:
    lab = sorted((camvid_root / "train" / "labels").glob("*.png"))[0]
    m = read_label(lab, camvid, expected_shape=(360, 480))
    assert m.shape == (360, 480) and m.max() <= 11


def test_index_image_saved_as_grey_rgb_reads_as_indices(tmp_path, camvid) -> None:
    m = _mask()
    Image.fromarray(np.repeat(m[:, :, None], 3, axis=2)).save(tmp_path / "grey_rgb.png")
    np.testing.assert_array_equal(read_label(tmp_path / "grey_rgb.png", camvid), m)
    # Greys that are class colours still decode as colours (CamVid's Sky is (128, 128, 128)).
    sky = np.full((4, 4, 3), 128, np.uint8)
    Image.fromarray(sky).save(tmp_path / "sky.png")
    assert (read_label(tmp_path / "sky.png", camvid) == 0).all()


def test_integer_masks_such_as_an_argmax_are_written(tmp_path) -> None:
    c = default_classes()
    m = np.array([[0, 1], [255, 1]], np.int64)
    write_label(tmp_path / "a.png", m, c)
    assert read_label(tmp_path / "a.png", c).tolist() == m.tolist()
