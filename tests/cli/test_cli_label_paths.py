"""`segment PROJECT` writes labels of any legal name, and never through a link out of the
project (one line, exit 2, nothing written)."""

from __future__ import annotations

import shutil

from segstudio.core.project import Project
from tests.cli_helpers import one_line_error, run_cli

LONG = "s" * 239 + ".png"          # a 243-character image name; its label is as long


def test_segment_in_place_writes_the_label_of_a_243_character_name(capsys, cli_project,
                                                                    enet_ckpt, tmp_path):
    root = shutil.copytree(cli_project, tmp_path / "proj")
    unlabeled = [e for e in Project.open(root).entries if not Project.open(root).has_label(e)]
    unlabeled[0].path.rename(root / "images" / LONG)
    code, out, err = run_cli(capsys, "segment", root, "--checkpoint", enet_ckpt)
    assert code == 0, err
    assert "1 new prediction" in out and "too long" not in err
    p = Project.open(root)
    entry = p.entry(LONG)
    assert p.label_path(entry).is_file() and len(p.label_path(entry).name) == 243


def test_segment_in_place_refuses_a_labels_link_out_of_the_project(capsys, cli_project,
                                                                    enet_ckpt, tmp_path):
    root = shutil.copytree(cli_project, tmp_path / "proj")
    outside = tmp_path / "elsewhere"
    shutil.move(root / "labels", outside)
    (root / "labels").symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    code, _, err = run_cli(capsys, "segment", root, "--checkpoint", enet_ckpt)
    line = one_line_error(err)
    assert code == 2 and "labels: folder link leads outside the project" in line
    assert str(outside) in line
    assert sorted(p.name for p in outside.iterdir()) == before


def _checkpoints_linked_out(cli_project, tmp_path):
    root = shutil.copytree(cli_project, tmp_path / "proj")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "theirs.txt").write_text("not segstudio's")
    (root / "checkpoints").symlink_to(outside, target_is_directory=True)
    return root, outside


def test_train_in_place_refuses_a_checkpoints_link_out_of_the_project(capsys, cli_project,
                                                                      tmp_path):
    root, outside = _checkpoints_linked_out(cli_project, tmp_path)
    doc = (root / "segstudio.json").read_bytes()
    code, _, err = run_cli(capsys, "train", root, "--steps", "1")
    line = one_line_error(err)
    assert code == 2 and "checkpoints: folder link leads outside the project" in line
    assert "Traceback" not in err and str(outside) in line
    assert [p.name for p in outside.iterdir()] == ["theirs.txt"]
    assert (root / "segstudio.json").read_bytes() == doc      # settings not written either


def test_segment_in_place_writes_nothing_through_a_checkpoints_link(capsys, cli_project,
                                                                    enet_ckpt, tmp_path):
    # segment reads models and writes labels only: the link is followed for reading alone
    root, outside = _checkpoints_linked_out(cli_project, tmp_path)
    code, out, err = run_cli(capsys, "segment", root, "--checkpoint", enet_ckpt)
    assert code == 0, err
    assert "1 new prediction" in out
    assert [p.name for p in outside.iterdir()] == ["theirs.txt"]
