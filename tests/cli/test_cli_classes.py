"""`segstudio classes PROJECT [--delete NAME | --merge A B]` (issue 18 item 2)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from segstudio.core.classes import ClassSet
from segstudio.core.project import ImageState, Project
from tests.cli_helpers import one_line_error, run_cli


def _project(tmp_path):
    Image.fromarray(np.zeros((4, 3, 3), np.uint8)).save(tmp_path / "a.png")
    p = Project.open(tmp_path)
    p.classes = ClassSet(["road", "car", "van"], [(1, 1, 1), (2, 2, 2), (3, 3, 3)], 255)
    p.save_label(p.entry("a.png"), np.array([[0, 1, 2]] * 4, np.uint8),
                 state=ImageState.REVIEWED)
    return tmp_path


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_list_delete_merge(capsys, tmp_path) -> None:
    folder = _project(tmp_path)
    code, out, _ = run_cli(capsys, "classes", folder)
    assert code == 0 and "  1  car  #020202" in out and "own classes" in out
    code, out, _ = run_cli(capsys, "classes", folder, "--merge", "van", "car")
    assert code == 0 and "merge 'van' into 'car': 1 of 1 label file(s)" in out
    code, out, _ = run_cli(capsys, "classes", folder, "--delete", "road")
    assert code == 0 and "classes now car" in out
    p = Project.open(folder)
    assert p.classes.names == ["car"]
    assert p.read_label(p.entry("a.png"))[0].tolist() == [255, 0, 0]


def test_bad_names_are_one_line_and_write_nothing(capsys, tmp_path) -> None:
    folder = _project(tmp_path)
    before = _snapshot(folder)
    for argv in (("--delete", "bus"), ("--merge", "car", "car"), ("--merge", "car", "bus")):
        code, _, err = run_cli(capsys, "classes", folder, *argv)
        assert code == 2, argv
        line = one_line_error(err)
        assert "bus" in line or "itself" in line, line
    code, _, err = run_cli(capsys, "classes", folder, "--delete", "car", "--merge", "a", "b")
    assert code == 2 and "not allowed with" in one_line_error(err)
    assert _snapshot(folder) == before


def test_undo_brings_back_the_last_change(capsys, tmp_path) -> None:
    folder = _project(tmp_path)
    label = folder / "labels" / "a.png"
    original = label.read_bytes()
    code, out, _ = run_cli(capsys, "classes", folder, "--merge", "van", "car")
    assert code == 0 and "--undo takes it back" in out
    code, out, err = run_cli(capsys, "classes", folder, "--undo")
    assert code == 0, err
    assert "undone: merge 'van' into 'car'; classes now road, car, van" in out
    assert label.read_bytes() == original
    assert Project.open(folder).classes.names == ["road", "car", "van"]
    code, _, err = run_cli(capsys, "classes", folder, "--undo")
    assert code == 2 and "no class change to undo" in one_line_error(err)


def test_undo_after_a_label_changed_is_one_line_and_writes_nothing(capsys, tmp_path) -> None:
    folder = _project(tmp_path)
    run_cli(capsys, "classes", folder, "--delete", "road")
    p = Project.open(folder)
    p.save_label(p.entry("a.png"), np.zeros((4, 3), np.uint8), state=ImageState.REVIEWED)
    before = _snapshot(folder)
    code, _, err = run_cli(capsys, "classes", folder, "--undo")
    line = one_line_error(err)
    assert code == 2 and "Traceback" not in err
    assert "a.png" in line and "changed after it" in line
    assert _snapshot(folder) == before
    code, _, err = run_cli(capsys, "classes", folder, "--undo", "--delete", "car")
    assert code == 2 and "not allowed with" in one_line_error(err)
