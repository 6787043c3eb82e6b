"""Hostile folders (issue 9, "Files"): links out of the project, link loops, unreadable
subfolders, orphaned temp files and floods of problems."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from segstudio.core.atomic import atomic_write_bytes, remove_orphan_temps
from segstudio.core.listing import scan_tree
from segstudio.core.problems import ProblemReport, report_all
from segstudio.core.project import Project
from tests.hostile import small_png

BOUND_S = 3.0


def _project(root: Path) -> Path:
    (root / "images" / "sub").mkdir(parents=True)
    small_png(root / "images" / "a.png")
    small_png(root / "images" / "sub" / "b.png")
    return root


# ----- links ----------------------------------------------------------------------------------
def test_folder_link_out_of_the_project_is_not_followed(tmp_path) -> None:
    outside = tmp_path / "system"
    (outside / "share").mkdir(parents=True)
    for i in range(20):
        small_png(outside / "share" / f"icon{i}.png", (4, 4))
    root = _project(tmp_path / "proj")
    (root / "images" / "usr").symlink_to(outside, target_is_directory=True)
    (root / "images" / "sub" / "again").symlink_to(outside / "share", target_is_directory=True)
    (root / "elsewhere").mkdir()
    small_png(root / "elsewhere" / "c.png")
    (root / "images" / "inside").symlink_to(root / "elsewhere", target_is_directory=True)
    project = Project.open(root)
    assert [e.key for e in project.entries] == ["a.png", "inside/c.png", "sub/b.png"]
    warnings = project.listing_warnings
    assert len(warnings) == 2, warnings
    assert any(str(root / "images" / "usr") in w and "outside the project" in w for w in warnings)
    assert any("again" in w for w in warnings)
    assert all("\n" not in w for w in warnings)
    project.refresh()   # listed again: still said once per link
    assert len(project.listing_warnings) == 2


def test_link_to_a_file_outside_is_kept(tmp_path) -> None:
    # Datasets are often folders of links to files kept elsewhere: those are fine.
    small_png(tmp_path / "kept.png")
    root = _project(tmp_path / "proj")
    (root / "images" / "link.png").symlink_to(tmp_path / "kept.png")
    project = Project.open(root)
    assert "link.png" in [e.key for e in project.entries]
    assert project.listing_warnings == []


def test_link_loops_and_deep_link_trees_terminate(tmp_path) -> None:
    root = _project(tmp_path / "proj")
    images = root / "images"
    # 12 nested folders, each linking to the root, its parent and every folder above it:
    # following links naively would list an exponential number of paths.
    folder = images
    chain = [images]
    for depth in range(12):
        folder = folder / f"d{depth}"
        folder.mkdir()
        small_png(folder / f"x{depth}.png", (4, 4))
        for j, target in enumerate(chain):
            (folder / f"up{j}").symlink_to(target, target_is_directory=True)
        chain.append(folder)
    (images / "self").symlink_to("self")           # a link to itself
    (images / "ping").symlink_to(images / "pong")  # a two-link loop
    (images / "pong").symlink_to(images / "ping")
    t0 = time.perf_counter()
    project = Project.open(root)
    keys = [e.key for e in project.entries]
    assert time.perf_counter() - t0 < BOUND_S
    assert len(keys) == len(set(keys)) == 2 + 12     # every real image once
    assert not any("up" in k for k in keys)


# ----- unreadable folders ---------------------------------------------------------------------
def test_unreadable_subfolder_is_named_once(tmp_path, monkeypatch) -> None:
    root = _project(tmp_path / "proj")
    (root / "images" / "locked").mkdir()
    small_png(root / "images" / "locked" / "hidden.png")
    locked = str(root / "images" / "locked")
    real_scandir = os.scandir

    def scandir(path="."):
        # Root reads every folder, so the permission error is injected (a chmod test below
        # covers the real thing for other users).
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    project = Project.open(root)
    assert [e.key for e in project.entries] == ["a.png", "sub/b.png"]
    assert len(project.listing_warnings) == 1
    assert locked in project.listing_warnings[0]
    assert "Permission denied" in project.listing_warnings[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_unreadable_subfolder_by_permissions(tmp_path) -> None:
    root = _project(tmp_path / "proj")
    locked = root / "images" / "locked"
    locked.mkdir()
    small_png(locked / "x.png")
    locked.chmod(0)
    try:
        listing = scan_tree(root / "images")
        assert "locked/x.png" not in listing.files
        assert len(listing.warnings) == 1 and str(locked) in listing.warnings[0]
    finally:
        locked.chmod(0o755)


def test_missing_labels_folder_is_no_warning(tmp_path) -> None:
    project = Project.open(_project(tmp_path / "proj"))
    assert not project.has_label(project.entries[0])
    assert project.listing_warnings == []


# ----- orphaned temp files --------------------------------------------------------------------
def _age(path: Path, seconds: float) -> Path:
    t = time.time() - seconds
    os.utime(path, (t, t), follow_symlinks=False)
    return path


def test_old_orphaned_temp_files_are_removed_on_open(tmp_path) -> None:
    root = _project(tmp_path / "proj")
    (root / "labels" / "sub").mkdir(parents=True)
    old = [root / "labels" / "sub" / ".b.png.k2j_x9ab.tmp",
           root / ".segstudio.json.abcdefgh.tmp"]
    for p in old:
        p.write_bytes(b"x" * 1000)
        _age(p, 3600)
    keep = [
        root / "labels" / ".a.png.fresh123.tmp",           # a save in progress elsewhere
        root / "labels" / ".notes.tmp",                    # not our naming
        root / "labels" / ".a.png.ABCDEFGH.tmp",           # not mkstemp's alphabet
        root / "labels" / "a.png.abcdefgh.tmp",            # not hidden
        root / "images" / ".a.png.abcdefgh.tmp",           # not a folder segstudio writes
        root / "labels" / ".x.png.abcdefgh.tmp.bak",
    ]
    for p in keep:
        p.write_bytes(b"keep")
    for p in keep[1:]:
        _age(p, 3600)
    link = root / "labels" / ".l.png.abcdefgh.tmp"
    link.symlink_to(root / "images" / "a.png")            # a link is never ours
    _age(link, 3600)
    (root / "labels" / ".d.png.abcdefgh.tmp").mkdir()     # nor is a folder
    Project.open(root)
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in keep)
    assert link.is_symlink() and (root / "images" / "a.png").is_file()
    assert (root / "labels" / ".d.png.abcdefgh.tmp").is_dir()


def test_real_orphan_of_atomic_write_matches_and_read_only_folders_are_left(tmp_path) -> None:
    import tempfile

    folder = tmp_path / "labels"
    folder.mkdir()
    atomic_write_bytes(folder / "x.png", b"1")
    # What a kill between mkstemp and os.replace leaves behind:
    fd, name = tempfile.mkstemp(prefix=".x.png.", suffix=".tmp", dir=folder)
    os.close(fd)
    _age(Path(name), 3600)
    folder.chmod(0o555)
    try:
        assert remove_orphan_temps(tmp_path, trees=(folder,)) == 0
        assert Path(name).exists()
    finally:
        folder.chmod(0o755)
    assert remove_orphan_temps(tmp_path, trees=(folder,)) == 1
    assert not Path(name).exists() and (folder / "x.png").read_bytes() == b"1"


# ----- floods of problems ---------------------------------------------------------------------
def test_problem_report_shows_a_few_then_summarises(tmp_path) -> None:
    lines: list[str] = []
    report = ProblemReport(lines.append, what="unreadable images", prefix="skipped ",
                           list_path=tmp_path / "all.txt")
    t0 = time.perf_counter()
    for i in range(50_000):
        report.add(f"/data/img{i}.png: not an image")
    path = report.finish()
    assert time.perf_counter() - t0 < BOUND_S
    assert len(lines) == 6 and lines[0] == "skipped /data/img0.png: not an image"
    summary = lines[-1]
    assert "49995 more unreadable images" in summary and "50000 in all" in summary
    assert str(tmp_path / "all.txt") in summary and path == tmp_path / "all.txt"
    written = path.read_text().splitlines()
    assert len(written) == 50_000 and written[-1] == "/data/img49999.png: not an image"


def test_problem_report_few_problems_are_all_shown_and_no_file(tmp_path) -> None:
    lines: list[str] = []
    assert report_all(["a\nb", "c"], lines.append) is None
    assert lines == ["a b", "c"]


def test_problem_report_default_list_goes_to_the_temp_folder(tmp_path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    lines: list[str] = []
    path = report_all([f"p{i}" for i in range(9)], lines.append, show=2, name="seg-test")
    assert path is not None and path.parent == tmp_path and path.name.startswith("seg-test-")
    assert len(path.read_text().splitlines()) == 9 and str(path) in lines[-1]
