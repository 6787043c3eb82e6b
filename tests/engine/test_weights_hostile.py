"""Hostile downloads (issue 18): a body without end, a server that dribbles, a mirror linked to
/dev/zero, malformed or blank mirrors. Each stops at a documented bound with one line naming
the file, and the cache keeps nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from segstudio.engine import weights, weights_transfer
from segstudio.engine.weights import WeightsError, WeightsFileError, fetch, registered
from tests.weights_fixtures import cache_files


@pytest.fixture(autouse=True)
def _empty_cache(torch_home):
    """Every test starts with an empty hub cache."""


def test_no_content_length_stops_at_the_expected_size(server):
    with registered(server.entry("endless", size=len(server.data))), \
            pytest.raises(WeightsFileError) as err:
        fetch("tiny")
    line = str(err.value)
    assert "\n" not in line and server.file in line
    assert f"more than the {len(server.data):,} bytes expected" in line
    assert cache_files() == []


def test_no_size_anywhere_stops_at_the_unknown_size_cap(server, monkeypatch):
    monkeypatch.setattr(weights_transfer, "MAX_UNKNOWN_BYTES", 3 << 20)
    with registered(server.entry("endless")), pytest.raises(WeightsFileError) as err:
        fetch("tiny")
    assert f"more than the {3 << 20:,} bytes expected" in str(err.value)
    assert cache_files() == []


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("size_known", [True, False])
def test_mirror_file_linked_to_dev_zero_stops(server, tmp_path, size_known):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / server.file).symlink_to("/dev/zero")
    entry = server.entry("good", size=len(server.data) if size_known else None)
    t0 = time.perf_counter()
    with registered(entry), pytest.raises(WeightsFileError) as err:
        fetch("tiny", mirror=str(mirror))
    assert time.perf_counter() - t0 < 5
    assert "\n" not in str(err.value) and server.file in str(err.value)
    assert cache_files() == []


def test_a_server_dribbling_bytes_hits_the_deadline_with_progress(server):
    seen = []
    t0 = time.perf_counter()
    with registered(server.entry("trickle")), pytest.raises(WeightsFileError) as err:
        fetch("tiny", progress=seen.append, deadline=0.6)
    assert time.perf_counter() - t0 < 5
    line = str(err.value)
    assert "did not finish in 0.6 s" in line and weights_transfer.DEADLINE_ENV in line
    assert seen and seen[-1].done > 0    # progress came while it trickled
    assert cache_files() == []


@pytest.mark.parametrize("route", ["slowstatus", "slowheaders"])
def test_a_server_dribbling_its_headers_hits_the_deadline(server, route):
    """The deadline covers connecting and the header phase, not only the body: each byte
    comes well within the per-read timeout, so only the overall deadline can stop it."""
    t0 = time.perf_counter()
    with registered(server.entry(route)), pytest.raises(WeightsFileError) as err:
        fetch("tiny", deadline=0.6)
    assert time.perf_counter() - t0 < 3     # the headers alone would take 14 s
    line = str(err.value)
    assert "\n" not in line and server.file in line
    assert "did not finish in 0.6 s" in line and "headers did not all come" in line
    assert cache_files() == []


def test_a_head_request_to_a_dribbling_server_is_bounded(server):
    t0 = time.perf_counter()
    with registered(server.entry("slowheaders")), pytest.raises(WeightsFileError) as err:
        weights.remote_size("tiny", timeout=0.5)
    assert time.perf_counter() - t0 < 3 and "did not finish in 0.5 s" in str(err.value)


def test_a_deadline_passed_before_connecting_is_one_line(server):
    with registered(server.entry("good")), pytest.raises(WeightsFileError, match="did not"):
        fetch("tiny", deadline=1e-9)
    assert cache_files() == []


def test_deadline_from_the_environment(server, monkeypatch):
    monkeypatch.setenv(weights_transfer.DEADLINE_ENV, "0.4")
    with registered(server.entry("trickle")), pytest.raises(WeightsFileError, match=r"0\.4 s"):
        fetch("tiny")
    monkeypatch.setenv(weights_transfer.DEADLINE_ENV, "soon")
    with registered(server.entry("trickle")), pytest.raises(WeightsError, match="soon"):
        fetch("tiny")
    monkeypatch.delenv(weights_transfer.DEADLINE_ENV)
    # the default: generous for a slow line, proportional to the size
    assert weights_transfer.deadline_for(87_319_819) == pytest.approx(300 + 873.2, abs=1)


def test_a_size_announced_other_than_expected_is_refused_before_the_body(server):
    with registered(server.entry("good", size=len(server.data) + 1)), \
            pytest.raises(WeightsFileError, match=r"announces 1,048,576 bytes, expected"):
        fetch("tiny")
    assert cache_files() == []


@pytest.mark.parametrize("mirror", ["http://[::1", "http://[::1]:x/", "https://"])
def test_malformed_mirror_url_is_one_line(server, mirror):
    with registered(server.entry()), pytest.raises(WeightsError) as err:
        fetch("tiny", mirror=mirror)
    assert "\n" not in str(err.value) and mirror in str(err.value)
    assert cache_files() == []


@pytest.mark.parametrize("mirror", [" ", "\t"])
def test_blank_mirror_never_falls_back_to_the_default_host(server, mirror, monkeypatch):
    before = len(server.requests)
    with registered(server.entry()), pytest.raises(WeightsError, match="empty mirror"):
        fetch("tiny", mirror=mirror)
    monkeypatch.setenv(weights.MIRROR_ENV, mirror)
    with registered(server.entry()), pytest.raises(WeightsError, match="empty mirror"):
        fetch("tiny")
    assert len(server.requests) == before   # the published URL was not asked
    assert cache_files() == []
    assert not list(Path(weights.cache_dir()).parent.glob("**/*.part"))
