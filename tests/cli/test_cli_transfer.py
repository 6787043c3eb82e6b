"""`segstudio export` / `segstudio import` as a user runs them: output lines, exit codes,
one-line errors, and Ctrl+C leaving no half-written file."""

from __future__ import annotations

import zipfile

import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.atomic import is_temp_file
from segstudio.core.project import ImageState, Project


def _err_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_export_then_import(capsys, cli_project, tmp_path):
    out = tmp_path / "voc"
    assert main(["export", str(cli_project), "--format", "voc", "--out", str(out),
                 "--split", "val=0.25"]) == 0
    text = capsys.readouterr().out
    assert f"exported 4 images (4 reviewed) as voc to {out}" in text
    assert "subsets: " in text and "val 1" in text
    assert main(["import", str(out), "--format", "voc", "--out", str(tmp_path / "p")]) == 0
    text = capsys.readouterr().out
    assert "imported 4 labels as reviewed" in text and "created project" in text
    assert "images: 4 copied" in text
    project = Project.open(tmp_path / "p")
    assert project.counts()[ImageState.REVIEWED] == 4
    assert project.classes.names == Project.open(cli_project).classes.names


def test_polygons_say_they_are_approximate(capsys, cli_project, tmp_path):
    assert main(["export", str(cli_project), "--format", "coco", "--polygons", "--out",
                 str(tmp_path / "c")]) == 0
    assert "polygons are approximate" in capsys.readouterr().out


def test_errors_are_one_line_and_exit_2(capsys, cli_project, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "x").write_text("x")
    assert main(["export", str(cli_project), "--format", "voc", "--out", str(out)]) == 2
    assert "is not empty (1 file); pass --force" in _err_line(capsys.readouterr().err)
    assert main(["export", str(cli_project), "--format", "voc", "--polygons", "--out",
                 str(tmp_path / "v")]) == 2
    assert "--polygons is a coco option" in _err_line(capsys.readouterr().err)
    assert main(["export", str(cli_project), "--format", "coco", "--out", str(tmp_path / "c")]) \
        == 0
    capsys.readouterr()
    other = tmp_path / "other"
    (other / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(other / "images" / "x.png")
    project = Project.open(other)
    project.classes.names = ["a", "b"]
    project.save()
    assert main(["import", str(tmp_path / "c"), "--format", "coco", "--out", str(other)]) == 2
    line = _err_line(capsys.readouterr().err)
    assert line.startswith("segstudio import: error: ") and "--map-by-name" in line
    with pytest.raises(SystemExit) as exc:
        main(["export", str(cli_project), "--format", "voc", "--out", "x", "--split", "val=2"])
    assert exc.value.code == 2
    assert "fractions must be between 0 and 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["import", "x", "--format", "coco", "--out", "y", "--map", "nope"])
    assert "expected SOURCE=PROJECT" in capsys.readouterr().err


def test_help_names_every_option(capsys):
    for command, options in (("export", ("--all", "--split", "--force", "--polygons")),
                             ("import", ("--link", "--map", "--map-by-name", "--images"))):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert all(o in text for o in options)


def test_ctrl_c_leaves_no_half_written_file(capsys, cli_project, tmp_path, monkeypatch):
    from segstudio.core import atomic

    calls = {"n": 0}
    real = atomic.os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == 5:  # in the middle of writing a file: its data is in the temp file
            raise KeyboardInterrupt
        real(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    out = tmp_path / "voc"
    assert main(["export", str(cli_project), "--format", "voc", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "none is half written" in err and "interrupted" in err
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files and not [p for p in files if is_temp_file(p.name)]
    for p in files:
        if p.suffix == ".png":
            Image.open(p).load()


def test_ctrl_c_during_a_zip_leaves_no_zip(capsys, cli_project, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = zipfile.ZipFile.writestr

    def writestr(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    out = tmp_path / "task.zip"
    assert main(["export", str(cli_project), "--format", "cvat-mask", "--out", str(out)]) == 130
    assert list(tmp_path.iterdir()) == []  # neither the zip nor its temp file
