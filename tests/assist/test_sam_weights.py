"""SAM's weights through the weights manager, against the local test server: the entry
verifies the whole SHA-256 it carries (SAM's file names carry none), a mirror and an import
work as for the encoders, and a fetched tiny SAM loads and encodes. No download."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from segstudio.engine import weights
from tests.assist.sam_tiny import TINY, save_tiny
from tests.weights_fixtures import cache_files
from tests.weights_server import WeightsServer


def test_the_sam_vit_b_entry():
    st = weights.status("sam_vit_b")
    entry = weights.get_entry("sam_vit_b")
    assert entry.kind == weights.ASSIST and st.size == 375_042_383
    assert entry.url == "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth"
    assert entry.sha256 == "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912"
    assert weights.format_size(st.size) == "375.0 MB"
    assert "sam_vit_b" in [s.name for s in weights.list_weights()]
    with pytest.raises(ValueError, match="SHA-256"):
        weights.WeightsEntry("x", "x.pth", "", (), "http://h/x.pth", kind=weights.ASSIST)


@pytest.fixture(scope="module")
def sam_server(tmp_path_factory):
    """The test server serving a tiny SAM state dict as `sam_tiny_test.pth`."""
    data = save_tiny(tmp_path_factory.mktemp("samw") / "t.pth").read_bytes()
    with WeightsServer() as s:
        s.data, s.file = data, "sam_tiny_test.pth"
        s.corrupt = bytes([data[0] ^ 0xFF]) + data[1:]
        yield s


def _entry(server: WeightsServer, digest: str | None = None) -> weights.WeightsEntry:
    return weights.WeightsEntry(
        "sam_tiny_test", server.file, "tiny SAM served on 127.0.0.1", (),
        "https://example.invalid/sam_tiny_test.pth", len(server.data), kind=weights.ASSIST,
        digest=digest or hashlib.sha256(server.data).hexdigest())


def test_fetch_from_a_mirror_verifies_the_whole_digest_and_loads(sam_server, torch_home):
    from segstudio.assist.sam_session import ModelSpec, SamSession

    with weights.registered(_entry(sam_server)):
        path = weights.fetch("sam_tiny_test", mirror=sam_server.base("good"))
        assert path.name == "sam_tiny_test.pth" and weights.status("sam_tiny_test").present
        session = SamSession(ModelSpec("sam_tiny_test", TINY))
        try:
            session.open_image("k", np.zeros((40, 50, 3), np.uint8))
            assert session.wait(30), session.error
            session.add_point((10.0, 10.0), True)
            assert session.mask().shape == (40, 50)
        finally:
            session.close()


def test_a_wrong_digest_keeps_nothing(sam_server, torch_home):
    wrong = hashlib.sha256(b"something else").hexdigest()
    with weights.registered(_entry(sam_server, digest=wrong)):
        with pytest.raises(weights.WeightsFileError, match="SHA-256"):
            weights.fetch("sam_tiny_test", mirror=sam_server.base("good"))
        assert cache_files() == []
    with weights.registered(_entry(sam_server)):
        with pytest.raises(weights.WeightsFileError, match="SHA-256"):
            weights.fetch("sam_tiny_test", mirror=sam_server.base("corrupt"))
        assert cache_files() == []


def test_import_of_a_local_file(sam_server, torch_home, tmp_path):
    src = tmp_path / "downloaded elsewhere.pth"
    src.write_bytes(sam_server.data)
    with weights.registered(_entry(sam_server)):
        path = weights.import_file("sam_tiny_test", src)
        assert path.read_bytes() == sam_server.data
        assert weights.verify("sam_tiny_test") == path
