"""`segstudio weights list|fetch|import`, as a user runs them, against a 127.0.0.1 server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segstudio.cli import main
from segstudio.engine import weights
from segstudio.engine.weights import registered
from tests.weights_fixtures import cache_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _empty_cache(torch_home):
    """Every test starts with an empty hub cache (tests.weights_fixtures)."""


def test_list_json_has_every_entry_with_presence(capsys, server):
    with registered(server.entry()):
        assert main(["weights", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"vgg16", "vgg16_bn", "resnet18", "resnet34", "enet_camvid", "tiny"} <= set(rows)
    assert rows["resnet34"]["present"] is False and rows["enet_camvid"]["present"] is True
    r34 = rows["resnet34"]
    assert r34["file"] == "resnet34-b627a593.pth" and r34["size"] == 87_319_819
    assert r34["archs"] == ["unet_resnet34"] and r34["used_by"] == "unet_resnet34"
    assert rows["sam_vit_b"]["used_by"] == "SAM tool"
    assert r34["path"] == str(weights.cache_dir() / "resnet34-b627a593.pth")


def test_list_table(capsys):
    assert main(["weights", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "SIZE", "USED", "BY", "FILE"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert "missing" in by_name["resnet34"] and "87.3 MB" in by_name["resnet34"]
    assert "shipped" in by_name["enet_camvid"]
    assert "SAM tool" in by_name["sam_vit_b"]          # an assisted tool's weights say whose


def test_fetch_downloads_then_reports_present(capsys, server):
    with registered(server.entry()):
        assert main(["weights", "fetch", "tiny"]) == 0
        out, err = capsys.readouterr()
        path = weights.cache_dir() / server.file
        assert out.strip() == str(path) and path.read_bytes() == server.data
        assert f"downloading {server.file}" in err and server.url("good") in err
        assert main(["weights", "fetch", "tiny"]) == 0
        assert "already present" in capsys.readouterr().err


def test_fetch_through_a_mirror(capsys, server):
    with registered(server.entry("missing")):
        assert main(["weights", "fetch", "tiny", "--mirror", server.base("good")]) == 0
    assert cache_files() == [server.file]


@pytest.mark.parametrize(("args", "problem"), [
    (["weights", "fetch", "nope"], "no weights named 'nope'"),
    (["weights", "fetch", "tiny", "--mirror", "ftp://x/y"], "mirror 'ftp://x/y'"),
    (["weights", "fetch", "tiny-corrupt"], "SHA-256 starts with"),
    (["weights", "fetch", "tiny-truncated"], "ended after"),
    (["weights", "import", "tiny", "/nonexistent/file.pth"], "no such file"),
    (["weights", "import", "enet_camvid", "x"], "shipped with segstudio"),
])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(capsys, server, args, problem):
    entries = [server.entry(), server.entry("corrupt", name="tiny-corrupt"),
               server.entry("truncated", name="tiny-truncated")]
    with registered(*entries):
        assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("segstudio weights: error: ") and problem in err[-1]
    assert cache_files() == []


def test_import_copies_a_verified_file(capsys, server, tmp_path):
    src = server.write_good(tmp_path)
    wrong = tmp_path / "wrong.pth"
    wrong.write_bytes(server.corrupt)
    with registered(server.entry()):
        assert main(["weights", "import", "tiny", str(wrong)]) == 2
        assert cache_files() == []
        assert main(["weights", "import", "tiny", str(src)]) == 0
    assert capsys.readouterr().out.strip() == str(weights.cache_dir() / server.file)


def test_ctrl_c_mid_download_leaves_nothing(server, torch_home):
    """A real SIGINT to a real `segstudio weights fetch` process, mid-transfer."""
    code = (
        "import sys\n"
        "from segstudio.cli import main\n"
        "from segstudio.engine.weights import WeightsEntry, registered\n"
        f"entry = WeightsEntry('tiny', {server.file!r}, 'x', ('x',), url={server.url('slow')!r})\n"
        "with registered(entry):\n"
        "    sys.exit(main(['weights', 'fetch', 'tiny']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TORCH_HOME": str(torch_home)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    cache = torch_home / "hub" / "checkpoints"
    deadline = time.monotonic() + 30
    while not any(cache.glob("*.part")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert any(cache.glob("*.part")), "the download never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "segstudio weights: interrupted" in err
    assert list(cache.iterdir()) == []


def test_an_unreachable_server_says_the_way_round_it(capsys, server):
    """Behind a firewall the first fetch fails: the line says what to do instead."""
    entry = weights.WeightsEntry("gone", server.file, "x", ("x",),
                                 url=f"http://127.0.0.1:9/{server.file}", size=10)
    with registered(entry):
        assert main(["weights", "fetch", "gone"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("segstudio weights: error: ") and "cannot reach" in err[-1]
    assert "--mirror URL" in err[-1] and "segstudio weights import gone FILE" in err[-1]
    assert cache_files() == []
