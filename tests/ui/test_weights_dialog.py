"""Model ▸ Pretrained weights… and `offer_backbone_download`, against a 127.0.0.1 server:
the size before the download, progress, Cancel, errors, Import from file."""

from __future__ import annotations

import pytest
from pyqtgraph.Qt import QtWidgets

from segstudio.engine.weights import registered
from segstudio.ui.dialogs.weights import WeightsDialog, offer_backbone_download
from tests.weights_fixtures import cache_files

YES = QtWidgets.QMessageBox.StandardButton.Yes


@pytest.fixture(autouse=True)
def _empty_cache(torch_home):
    """Every test starts with an empty hub cache (tests.weights_fixtures)."""


@pytest.fixture
def dialog(qtbot):
    made: list[WeightsDialog] = []

    def make() -> WeightsDialog:
        d = WeightsDialog()
        qtbot.addWidget(d)
        d.show()
        made.append(d)
        return d

    yield make
    for d in made:  # closing waits for the worker threads, as the app does
        d.close()
        assert not d.panel.busy and d.panel.runner.thread is None


def row_of(d: WeightsDialog, name: str) -> list[str]:
    r = [st.name for st in d.rows].index(name)
    return [d.table.item(r, c).text() for c in range(d.table.columnCount())]


def test_lists_every_entry_with_purpose_size_and_status(dialog):
    d = dialog()
    assert row_of(d, "resnet34") == ["resnet34", "ImageNet ResNet-34: the encoder of U-Net",
                                     "87.3 MB", "missing"]
    assert row_of(d, "enet_camvid")[3] == "shipped"
    assert {"vgg16", "vgg16_bn", "resnet18"} <= {st.name for st in d.rows}
    d.select("enet_camvid")
    assert not d.download_button.isEnabled() and not d.import_button.isEnabled()
    d.select("vgg16")
    assert d.download_button.isEnabled() and d.import_button.isEnabled()


def test_download_asks_the_size_first_then_shows_progress(dialog, qtbot, server, dialogs):
    dialogs.answer = YES
    with registered(server.entry()):  # size unknown to the registry: asked with HEAD
        d = dialog()
        assert row_of(d, "tiny")[2:] == ["?", "missing"]
        d.select("tiny")
        d.download_button.click()
        qtbot.waitUntil(lambda: row_of(d, "tiny")[3] == "present", timeout=20_000)
        assert not d.panel.busy and d.panel.label.text() == f"downloading {server.file}: done"
    heads = [p for m, p in server.requests if m == "HEAD"]
    assert heads and heads[-1] == f"/good/{server.file}"
    assert f"Download {server.file} (1.0 MB) from 127.0.0.1:{server.port}?" in dialogs.texts()
    assert cache_files() == [server.file]
    assert not d.download_button.isEnabled()  # present: nothing more to download


def test_declining_downloads_nothing(dialog, qtbot, server, dialogs):
    with registered(server.entry(size=len(server.data))):
        d = dialog()
        d.select("tiny")
        before = len(server.requests)
        d.download_button.click()  # size known: the question comes at once, answered No
        assert "(1.0 MB)" in dialogs.texts()
        assert len(server.requests) == before and not d.panel.busy and cache_files() == []


def test_a_corrupt_download_shows_one_line_and_keeps_nothing(dialog, qtbot, server, dialogs):
    dialogs.answer = YES
    with registered(server.entry("corrupt", size=len(server.data))):
        d = dialog()
        d.select("tiny")
        d.download_button.click()
        qtbot.waitUntil(lambda: not d.panel.busy, timeout=20_000)
        text = d.panel.label.text()
        assert "SHA-256 starts with" in text and server.file in text and "\n" not in text
        assert row_of(d, "tiny")[3] == "missing" and cache_files() == []


def test_the_mirror_field_is_used(dialog, qtbot, server, dialogs):
    dialogs.answer = YES
    with registered(server.entry("missing", size=len(server.data))):
        d = dialog()
        d.mirror.setText(server.base("good"))
        d.select("tiny")
        d.download_button.click()
        qtbot.waitUntil(lambda: row_of(d, "tiny")[3] == "present", timeout=20_000)


def test_cancel_mid_download_keeps_nothing(dialog, qtbot, server, dialogs):
    dialogs.answer = YES
    with registered(server.entry("slow", size=len(server.data))):
        d = dialog()
        d.select("tiny")
        d.download_button.click()
        qtbot.waitUntil(lambda: d.panel.bar.maximum() == 1000 and d.panel.bar.value() > 0,
                        timeout=20_000)
        assert d.panel.cancel_button.isVisible()
        d.panel.cancel_button.click()
        qtbot.waitUntil(lambda: not d.panel.busy, timeout=20_000)
        assert "cancelled, nothing was kept" in d.panel.label.text()
        assert row_of(d, "tiny")[3] == "missing" and cache_files() == []


def test_import_from_file(dialog, qtbot, server, tmp_path, monkeypatch):
    good = server.write_good(tmp_path)
    wrong = tmp_path / "wrong.pth"
    wrong.write_bytes(server.corrupt)
    chosen = [str(wrong)]
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (chosen[0], "")))
    with registered(server.entry()):
        d = dialog()
        d.select("tiny")
        d.import_button.click()
        qtbot.waitUntil(lambda: not d.panel.busy, timeout=20_000)
        assert f"expected {server.prefix}" in d.panel.label.text() and cache_files() == []
        chosen[0] = str(good)
        d.import_button.click()
        qtbot.waitUntil(lambda: row_of(d, "tiny")[3] == "present", timeout=20_000)
    assert cache_files() == [server.file]


def test_offer_explains_random_initialisation_and_downloads(qtbot, server, dialogs):
    dialogs.answer = YES
    parent = QtWidgets.QWidget()
    qtbot.addWidget(parent)
    entry = server.entry(archs=("unet_resnet34",), size=len(server.data))
    with registered(entry):
        assert offer_backbone_download(parent, "unet_resnet34") is True
        text = dialogs.texts()
        assert "random initialisation" in text and f"{server.file}, 1.0 MB" in text
        assert cache_files() == [server.file]
        shown = len(dialogs.shown)
        assert offer_backbone_download(parent, "unet_resnet34") is True  # present: no question
        assert len(dialogs.shown) == shown


def test_offer_declined_failed_or_not_needed(qtbot, server, dialogs):
    parent = QtWidgets.QWidget()
    qtbot.addWidget(parent)
    assert offer_backbone_download(parent, "enet") is False and dialogs.shown == []
    with registered(server.entry(archs=("linknet",), size=len(server.data))):
        assert offer_backbone_download(parent, "linknet") is False  # answered No
    dialogs.answer = YES
    with registered(server.entry("truncated", archs=("linknet",), size=len(server.data))):
        assert offer_backbone_download(parent, "linknet") is False
    kinds = [kind for kind, _ in dialogs.shown]
    assert kinds == ["question", "question", "warning"] and "ended after" in dialogs.shown[-1][1]
    assert cache_files() == []


def test_model_menu_opens_the_dialog(qtbot):
    from segstudio.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.command_actions["weights"].trigger()
    found = w.findChild(WeightsDialog, "WeightsDialog")
    assert found is not None and found.isVisible()
    w.command_actions["weights"].trigger()  # again: the same dialog, not a second one
    assert len(w.findChildren(WeightsDialog)) == 1
    found.reject()


def test_an_unreachable_server_says_the_way_round_it(dialog, qtbot, server, dialogs):
    from segstudio.engine.weights import WeightsEntry

    dialogs.answer = YES
    entry = WeightsEntry("gone", server.file, "x", ("x",),
                         url=f"http://127.0.0.1:9/{server.file}", size=10)
    with registered(entry):
        d = dialog()
        d.select("gone")
        d.download_button.click()
        qtbot.waitUntil(lambda: not d.panel.busy, timeout=20_000)
        text = d.panel.label.text()
        assert "cannot reach" in text and "Download from" in text and "Import from file" in text
        assert cache_files() == []
