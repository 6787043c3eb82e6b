import json

import numpy as np
import pytest

from segstudio.core.classes import ClassSet, builtin_classes, default_classes, voc_color
from segstudio.core.errors import ClassSetError


def test_default_is_background_plus_one_class() -> None:
    c = default_classes()
    assert c.names == ["background", "object"]
    assert c.num_classes == 2
    assert c.ignore_index == 255


def test_camvid_builtin_matches_the_dataset_file(camvid_root) -> None:
    shipped = builtin_classes("camvid")
    theirs = ClassSet.load(camvid_root / "classes.json")
    assert shipped == theirs
    assert shipped.num_classes == 11 and shipped.ignore_index == 11
    assert shipped.names[3] == "Road" and shipped.colors[3] == (128, 64, 128)
    assert shipped.weights is not None and len(shipped.weights) == 11


def test_voc_builtin_uses_the_standard_colour_map() -> None:
    voc = builtin_classes("voc")
    assert voc.num_classes == 21 and voc.ignore_index == 255
    assert voc.names[15] == "person"
    assert voc.colors[15] == (192, 128, 128)
    assert voc.ignore_color == (224, 224, 192) == voc_color(255)


def test_unknown_builtin_names_the_known_ones() -> None:
    with pytest.raises(ClassSetError, match="camvid"):
        builtin_classes("nope")


def test_palette_layout() -> None:
    c = builtin_classes("camvid")
    pal = c.palette()
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    assert tuple(pal[4]) == (60, 40, 222)
    assert tuple(pal[11]) == (0, 0, 0)
    assert tuple(pal[12]) == tuple(pal[200])  # unused entries share one grey


def test_dict_round_trip_keeps_schema_and_unknown_keys(tmp_path) -> None:
    d = json.loads(json.dumps(builtin_classes("camvid").to_dict()))
    d["source"] = "someone's notes"
    c = ClassSet.from_dict(d)
    assert c.to_dict()["source"] == "someone's notes"
    c.save(tmp_path / "c.json")
    assert ClassSet.load(tmp_path / "c.json") == c
    assert set(d) >= {"name", "ignore_index", "classes", "void", "median_frequency_weights"}


def test_add_rename_recolor() -> None:
    c = default_classes()
    i = c.add("car")
    assert i == 2 and c.names[2] == "car"
    assert c.colors[2] not in c.colors[:2] and c.colors[2] != c.ignore_color
    c.rename(2, "vehicle")
    c.recolor(2, (1, 2, 3))
    assert c.names[2] == "vehicle" and c.palette()[2].tolist() == [1, 2, 3]
    c.recolor(255, (9, 9, 9))
    assert c.ignore_color == (9, 9, 9)


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.rename(1, "background"),  # duplicate name
        lambda c: c.recolor(1, (0, 0, 0)),  # duplicate colour makes RGB labels ambiguous
        lambda c: c.recolor(1, (0, 0, 300)),
        lambda c: c.rename(5, "x"),
        lambda c: c.add(""),
    ],
)
def test_bad_edits_raise_and_leave_the_set_unchanged(change) -> None:
    c = default_classes()
    before = c.to_dict()
    with pytest.raises(ClassSetError):
        change(c)
    assert c.to_dict() == before


def test_adding_onto_the_ignore_index_is_refused() -> None:
    c = builtin_classes("camvid")  # 11 classes, ignore 11
    with pytest.raises(ClassSetError, match="ignore index"):
        c.add("Bus")


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        '{"classes": 3}',
        '{"classes": [{"index": 1, "name": "a", "color": [0,0,0]}]}',
        '{"ignore_index": 0, "classes": [{"index": 0, "name": "a", "color": [0,0,0]}]}',
    ],
)
def test_malformed_files_raise_classseterror_naming_the_file(tmp_path, bad) -> None:
    p = tmp_path / "classes.json"
    p.write_text(bad)
    with pytest.raises(ClassSetError, match=r"classes\.json"):
        ClassSet.load(p)
