"""The weights manager: registry, torch hub cache, verified fetch / import, mirrors, cancel.

Every transfer is served by tests/weights_server.py on 127.0.0.1; after every failure the
cache must hold nothing (no file, no temporary)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from segstudio.engine import weights
from segstudio.engine.weights import (
    FetchCancelled,
    WeightsError,
    WeightsFileError,
    backbone_entry,
    fetch,
    import_file,
    registered,
)
from tests.weights_fixtures import cache_files


@pytest.fixture(autouse=True)
def _empty_cache(torch_home):
    """Every test starts with an empty hub cache (tests.weights_fixtures)."""


def one_line_naming(exc: BaseException, name: str) -> str:
    text = str(exc)
    assert "\n" not in text and name in text, text
    return text


# -- the registry --------------------------------------------------------------------------


def test_registry_is_torchvisions_published_files():
    import torchvision.models as tvm

    published = {
        "vgg16": tvm.VGG16_Weights.IMAGENET1K_V1,
        "vgg16_bn": tvm.VGG16_BN_Weights.IMAGENET1K_V1,
        "resnet18": tvm.ResNet18_Weights.IMAGENET1K_V1,
        "resnet34": tvm.ResNet34_Weights.IMAGENET1K_V1,
    }
    for name, w in published.items():
        entry = weights.get_entry(name)
        assert entry.url == w.url and entry.file == w.url.rsplit("/", 1)[1]
        assert entry.sha256 == entry.file.rsplit("-", 1)[1].split(".")[0]
        # torchvision records the size in MiB with 3 decimals
        assert round(entry.size / 2**20, 3) == pytest.approx(w.meta["_file_size"], abs=1e-3)


def test_every_architecture_maps_to_its_encoder_file():
    from segstudio.models import list_models, model_info
    from segstudio.models.backbones import hub_cache_path

    for arch in list_models():
        st = backbone_entry(arch)
        backbone = model_info(arch).backbone
        if backbone is None:
            assert st is None
        else:
            assert st.name == backbone and st.path == hub_cache_path(backbone)
            assert not st.present and st.size > 40e6
    with pytest.raises(WeightsError, match="unknown architecture 'nope'"):
        backbone_entry("nope")


def test_list_shows_every_entry_and_the_shipped_model():
    rows = {r.name: r for r in weights.list_weights()}
    assert {"vgg16", "vgg16_bn", "resnet18", "resnet34", "enet_camvid"} <= set(rows)
    assert not any(rows[n].present for n in ("vgg16", "vgg16_bn", "resnet18", "resnet34"))
    shipped = rows["enet_camvid"]
    from segstudio.engine.checkpoint import default_checkpoint

    assert shipped.present and shipped.path == default_checkpoint()
    assert shipped.size == default_checkpoint().stat().st_size and shipped.archs == ("enet",)
    d = shipped.to_dict()
    assert d["present"] is True and d["path"] == str(default_checkpoint())
    with pytest.raises(WeightsError, match="no weights named 'x'"):
        weights.status("x")


def test_cache_dir_is_torch_hub_without_importing_torch(torch_home, tmp_path):
    import torch

    assert weights.cache_dir() == Path(torch.hub.get_dir()) / "checkpoints"
    assert weights.cache_dir() == torch_home / "hub" / "checkpoints"
    code = ("import sys; from segstudio.engine.weights import cache_dir; print(cache_dir()); "
            "print('torch' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(torch_home / "hub" / "checkpoints"), "False"]
    try:  # once torch is loaded, torch.hub.set_dir wins, as it does for torchvision
        torch.hub.set_dir(str(tmp_path / "elsewhere"))
        assert weights.cache_dir() == tmp_path / "elsewhere" / "checkpoints"
    finally:
        torch.hub._hub_dir = None


def test_registered_entries_are_temporary_and_win_for_their_archs(server):
    entry = server.entry(archs=("unet_resnet34",))
    with registered(entry):
        assert backbone_entry("unet_resnet34").name == "tiny"
        with pytest.raises(ValueError, match="already exist"), registered(entry):
            pass
    assert backbone_entry("unet_resnet34").name == "resnet34"
    with pytest.raises(WeightsError):
        weights.get_entry("tiny")


# -- fetch ----------------------------------------------------------------------------------


def test_fetch_downloads_verifies_and_reports_progress(server):
    events = []
    with registered(server.entry()):
        path = fetch("tiny", progress=events.append)
        assert path == weights.cache_dir() / server.file and path.read_bytes() == server.data
        assert cache_files() == [server.file]
        assert weights.status("tiny").present and weights.verify("tiny") == path
        assert events[0].done == 0 and events[-1].done == events[-1].total == len(server.data)
        assert all(e.source == server.url("good") for e in events)
        before = len(server.requests)
        assert fetch("tiny") == path  # present: no second download
        assert len(server.requests) == before


@pytest.mark.parametrize(("route", "problem"), [
    ("corrupt", "SHA-256 starts with"),
    ("truncated", "ended after 524288 of 1048576 bytes"),
    ("missing", "HTTP 404"),
])
def test_failed_fetch_is_one_line_and_leaves_nothing(server, route, problem):
    with registered(server.entry(route)), pytest.raises(WeightsFileError) as err:
        fetch("tiny")
    assert problem in one_line_naming(err.value, server.file)
    assert err.value.path == weights.cache_dir() / server.file
    assert cache_files() == []


def test_unreachable_server_is_one_line(server):
    entry = weights.WeightsEntry("gone", server.file, "x", ("x",),
                                 url=f"http://127.0.0.1:9/{server.file}")
    with registered(entry), pytest.raises(WeightsFileError) as err:
        fetch("gone")
    assert "cannot reach http://127.0.0.1:9/" in one_line_naming(err.value, server.file)
    assert cache_files() == []


def test_mirror_argument_environment_and_folder(server, monkeypatch, tmp_path):
    # The published URL is a 404: success proves the mirror was used.
    with registered(server.entry("missing")):
        assert weights.source_url("tiny", server.base("good")) == server.url("good")
        assert fetch("tiny", mirror=server.base("good")).read_bytes() == server.data
        weights.cache_dir().joinpath(server.file).unlink()

        monkeypatch.setenv(weights.MIRROR_ENV, server.base("good") + "/")
        assert fetch("tiny").read_bytes() == server.data
        weights.cache_dir().joinpath(server.file).unlink()

        folder = tmp_path / "usb-stick"
        folder.mkdir()
        server.write_good(folder)
        assert weights.source_url("tiny", str(folder)).startswith("file://")
        assert fetch("tiny", mirror=str(folder)).read_bytes() == server.data

        weights.cache_dir().joinpath(server.file).unlink()
        with pytest.raises(WeightsFileError, match="SHA-256"):  # mirrors are verified too
            fetch("tiny", mirror=server.base("corrupt"))
        assert cache_files() == []
        for bad in ("ftp://host/x", "not a folder", "http://"):
            with pytest.raises(WeightsError, match="mirror"):
                weights.source_url("tiny", bad)


def test_cancel_mid_download_leaves_nothing(server):
    seen = []

    def cancel() -> bool:
        return bool(seen) and seen[-1].done > 0

    with registered(server.entry("slow")), pytest.raises(FetchCancelled) as err:
        fetch("tiny", progress=seen.append, cancel=cancel)
    assert "cancelled" in str(err.value) and 0 < seen[-1].done < len(server.data)
    assert cache_files() == []


def test_interrupt_mid_download_leaves_nothing(server):
    def progress(p) -> None:
        if p.done > 0:
            raise KeyboardInterrupt

    with registered(server.entry("slow")), pytest.raises(KeyboardInterrupt):
        fetch("tiny", progress=progress)
    assert cache_files() == []


def test_stale_partial_files_of_killed_runs_are_removed(server):
    folder = weights.cache_dir()
    folder.mkdir(parents=True)
    stale = folder / f".{server.file}.dead.part"
    stale.write_bytes(b"half")
    os.utime(stale, (1, 1))
    with registered(server.entry()):
        fetch("tiny")
    assert cache_files() == [server.file]


def test_remote_size_asks_the_server(server):
    with registered(server.entry()):
        assert weights.remote_size("tiny") == len(server.data)
        assert server.requests[-1] == ("HEAD", f"/good/{server.file}")
        assert cache_files() == []
    with registered(server.entry("missing")), pytest.raises(WeightsFileError, match="404"):
        weights.remote_size("tiny")
    assert weights.remote_size("enet_camvid") == weights.status("enet_camvid").size


def test_shipped_entries_are_not_downloaded_or_imported(tmp_path):
    assert fetch("enet_camvid") == weights.status("enet_camvid").path
    with pytest.raises(WeightsError, match="shipped with segstudio"):
        import_file("enet_camvid", tmp_path / "x")
    with pytest.raises(WeightsError, match="shipped with segstudio"):
        weights.source_url("enet_camvid")


# -- import ---------------------------------------------------------------------------------


def test_import_verifies_the_content_and_copies_into_the_cache(server, tmp_path):
    src = tmp_path / "downloaded-elsewhere.bin"  # any name: the content decides
    src.write_bytes(server.data)
    with registered(server.entry()):
        path = import_file("tiny", src)
        assert path.read_bytes() == server.data and cache_files() == [server.file]
        assert src.exists()  # a copy, the user's file stays


def test_import_of_a_wrong_or_missing_file_is_one_line_and_leaves_nothing(server, tmp_path):
    wrong = tmp_path / "wrong.pth"
    wrong.write_bytes(server.corrupt)
    with registered(server.entry()):
        with pytest.raises(WeightsFileError) as err:
            import_file("tiny", wrong)
        text = one_line_naming(err.value, str(wrong))
        assert f"expected {server.prefix}" in text and err.value.path == wrong
        with pytest.raises(WeightsFileError, match="no such file"):
            import_file("tiny", tmp_path / "absent.pth")
    assert cache_files() == []


def test_verify_rejects_a_corrupt_file_in_the_cache(server):
    with registered(server.entry()):
        with pytest.raises(WeightsFileError, match="not here"):
            weights.verify("tiny")
        folder = weights.cache_dir()
        folder.mkdir(parents=True)
        (folder / server.file).write_bytes(server.corrupt)
        assert weights.status("tiny").present  # present by name ...
        with pytest.raises(WeightsFileError, match="corrupt"):
            weights.verify("tiny")  # ... but not valid


def test_format_size():
    assert weights.format_size(None) == "?"
    assert weights.format_size(512) == "512 B"
    assert weights.format_size(87_319_819) == "87.3 MB"
    assert weights.format_size(553_433_881) == "553.4 MB"
