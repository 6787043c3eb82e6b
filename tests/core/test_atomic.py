import json
import os

import pytest

from segstudio.core.atomic import atomic_write_bytes, atomic_write_json, is_temp_file
from segstudio.core.errors import WriteError


def test_writes_replaces_and_leaves_no_temp(tmp_path) -> None:
    p = tmp_path / "a.bin"
    atomic_write_bytes(p, b"one")
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_keeps_the_replaced_files_mode(tmp_path) -> None:
    p = tmp_path / "a.json"
    p.write_text("{}")
    os.chmod(p, 0o640)
    atomic_write_json(p, {"ü": [1, 2]})
    assert os.stat(p).st_mode & 0o777 == 0o640
    assert json.loads(p.read_text("utf-8")) == {"ü": [1, 2]}


def test_failure_raises_writeerror_and_keeps_old_file(tmp_path, monkeypatch) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(WriteError, match=r"a\.bin.*No space"):
        atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_missing_folder_and_folder_target_raise_writeerror(tmp_path) -> None:
    with pytest.raises(WriteError, match="nope"):
        atomic_write_bytes(tmp_path / "nope" / "a.bin", b"x")
    (tmp_path / "d.png").mkdir()
    with pytest.raises(WriteError, match="folder"):
        atomic_write_bytes(tmp_path / "d.png", b"x")


def test_temp_names_are_recognised() -> None:
    assert is_temp_file(".a.png.k2j3.tmp")
    assert not is_temp_file("a.png")


def test_a_name_of_any_legal_length_is_writable(tmp_path) -> None:
    # The temp file's name used to be the target's plus 14 bytes: a 243-character label
    # could never be written ("File name too long").
    from segstudio.core.atomic import _OWN_TEMP, _temp_prefix

    for name in ("a" * 251 + ".png", "é" * 125 + ".png", "x.png"):
        target = tmp_path / name
        atomic_write_bytes(target, b"data")
        assert target.read_bytes() == b"data"
        prefix = _temp_prefix(name, tmp_path)
        assert len(os.fsencode(prefix + "abcdefgh.tmp")) <= 255
        # Still the pattern that orphan cleaning recognises, and as before for short names.
        assert _OWN_TEMP.fullmatch(prefix + "abcdefgh.tmp") and is_temp_file(prefix + ".tmp")
    assert _temp_prefix("x.png", tmp_path) == ".x.png."
    assert sorted(os.listdir(tmp_path)) == sorted(["a" * 251 + ".png", "é" * 125 + ".png",
                                                   "x.png"])
