"""Issue 18's hostile corpus through the command line: `segstudio import` / `export` /
`weights fetch` on bad input exit 2 with one line naming the file and the item, no traceback,
nothing written outside the target."""

from __future__ import annotations

import os
import time

import pytest

from segstudio.core.formats import export_labels
from segstudio.engine.weights import registered
from segstudio.engine.weights_transfer import DEADLINE_ENV
from tests.cli_helpers import run_cli
from tests.hostile import one_line
from tests.hostile_imports import CASES, H, W, coco, labelme
from tests.weights_fixtures import cache_files

BOUND_S = 15.0


@pytest.mark.parametrize("name", sorted(CASES))
def test_import_refuses_in_one_line_with_exit_2(capsys, tmp_path, name):
    case = CASES[name](tmp_path)
    t0 = time.perf_counter()
    code, out, err = run_cli(capsys, "import", case.source, "--format", case.fmt,
                             "--out", tmp_path / "project")
    assert time.perf_counter() - t0 < BOUND_S
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    if case.fatal:
        line = one_line(err)
    else:
        skipped = [ln for ln in out.splitlines() if ln.startswith("skipped:")]
        assert len(skipped) == 1, out
        line = skipped[0]
        assert f"imported {case.imported} label" in out
    for part in case.expect:
        assert part in line, (part, line)
    if case.outside is not None:
        assert list(case.outside.rglob("*")) == []


def test_far_polygons_and_huge_circles_import(capsys, tmp_path):
    anns = [{"id": 1, "image_id": 1, "category_id": 1,
             "segmentation": [[-1e12, -1e12, 1e12, -1e12, 0, 1e12]]}]
    code, out, _ = run_cli(capsys, "import", coco(tmp_path, anns), "--format", "coco",
                           "--out", tmp_path / "p1")
    assert code == 0 and "imported 2 labels" in out
    shapes = [{"label": "road", "points": [[20, 16], [20, 1e7]], "shape_type": "circle"}]
    t0 = time.perf_counter()
    code, out, _ = run_cli(capsys, "import", labelme(tmp_path, shapes), "--format", "labelme",
                           "--out", tmp_path / "p2")
    assert time.perf_counter() - t0 < BOUND_S and code == 0, out
    from segstudio.core.project import Project

    project = Project.open(tmp_path / "p2")
    label = project.read_label(project.entry("x.png"))
    assert label.shape == (H, W) and (label == 0).all()   # the circle covers the image


def test_export_force_through_a_folder_link_is_refused(capsys, cli_project, tmp_path):
    out = tmp_path / "out"
    export_labels(cli_project, "coco", out)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "x").mkdir(parents=True)
    (elsewhere / "x" / "a.png").write_bytes(b"mine")
    import shutil

    shutil.rmtree(out / "images")
    (out / "images").symlink_to(elsewhere, target_is_directory=True)
    code, _, err = run_cli(capsys, "export", cli_project, "--format", "coco", "--out", out,
                           "--force")
    assert code == 2
    line = one_line(err)
    assert "images" in line and "folder link leading outside" in line
    assert [p.name for p in elsewhere.rglob("*")] == ["x", "a.png"]
    assert (elsewhere / "x" / "a.png").read_bytes() == b"mine"


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_export_to_a_destination_that_is_a_link_is_refused(capsys, cli_project, tmp_path,
                                                           force):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.png").write_bytes(b"mine")
    out = tmp_path / "out"
    out.symlink_to(elsewhere, target_is_directory=True)
    code, _, err = run_cli(capsys, "export", cli_project, "--format", "voc", "--out", out,
                           *force)
    line = one_line(err)
    assert code == 2 and "Traceback" not in err
    assert str(out) in line and "is a link" in line and str(elsewhere) in line
    assert [p.name for p in elsewhere.iterdir()] == ["keep.png"]
    assert (elsewhere / "keep.png").read_bytes() == b"mine"


@pytest.fixture
def _cache(torch_home):
    """An empty hub cache, no mirror from the environment."""


@pytest.mark.usefixtures("_cache")
@pytest.mark.parametrize(("mirror", "expect"), [
    ("http://[::1", "http://[::1"), (" ", "empty mirror"), ("", "empty mirror")])
def test_weights_fetch_bad_mirror(capsys, server, mirror, expect):
    before = len(server.requests)
    with registered(server.entry()):
        code, _, err = run_cli(capsys, "weights", "fetch", "tiny", "--mirror", mirror)
    assert code == 2 and expect in one_line(err)
    assert len(server.requests) == before and cache_files() == []


@pytest.mark.usefixtures("_cache")
def test_weights_fetch_endless_and_trickling_servers(capsys, server, monkeypatch):
    with registered(server.entry("endless", size=len(server.data))):
        code, _, err = run_cli(capsys, "weights", "fetch", "tiny")
    assert code == 2 and "bytes expected" in err.strip().splitlines()[-1]
    assert "Traceback" not in err and cache_files() == []
    monkeypatch.setenv(DEADLINE_ENV, "0.5")
    t0 = time.perf_counter()
    with registered(server.entry("trickle")):
        code, _, err = run_cli(capsys, "weights", "fetch", "tiny")
    assert time.perf_counter() - t0 < 5
    last = err.strip().splitlines()[-1]   # above it: the "downloading" line and the bar
    assert code == 2 and "did not finish in 0.5 s" in last and server.file in last
    assert "Traceback" not in err and cache_files() == []


@pytest.mark.usefixtures("_cache")
def test_weights_fetch_from_a_server_dribbling_its_headers(capsys, server, monkeypatch):
    monkeypatch.setenv(DEADLINE_ENV, "0.5")
    t0 = time.perf_counter()
    with registered(server.entry("slowstatus")):
        code, _, err = run_cli(capsys, "weights", "fetch", "tiny")
    assert time.perf_counter() - t0 < 3
    last = err.strip().splitlines()[-1]
    assert code == 2 and "did not finish in 0.5 s" in last and server.file in last
    assert "Traceback" not in err and cache_files() == []


@pytest.mark.usefixtures("_cache")
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_weights_fetch_from_a_mirror_linked_to_dev_zero(capsys, server, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / server.file).symlink_to("/dev/zero")
    with registered(server.entry(size=len(server.data))):
        code, _, err = run_cli(capsys, "weights", "fetch", "tiny", "--mirror", mirror)
    assert code == 2 and server.file in err.strip().splitlines()[-1]
    assert "Traceback" not in err and cache_files() == []
