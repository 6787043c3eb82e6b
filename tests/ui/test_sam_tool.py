"""The SAM tool in the window, with a tiny SAM the test builds (no download): choosing the
tool encodes the open image (and the next one) on a thread, a left click and Enter give the
object the current class as a touched, undoable edit, a right click takes a part away, Esc
drops the points; without weights the tool says how to get them and the other tools work."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtWidgets

from segstudio.assist import sam_session
from segstudio.engine import weights
from tests.assist.sam_tiny import TINY, save_tiny
from tests.ui.test_canvas_tools import _send


def _click(canvas, p, button=QtCore.Qt.MouseButton.LeftButton) -> None:
    vp = canvas.view.viewport()
    pos = canvas.view.mapFromScene(canvas.viewbox.mapViewToScene(QtCore.QPointF(*p)))
    none = QtCore.Qt.MouseButton.NoButton
    _send(vp, QtCore.QEvent.Type.MouseButtonPress, pos, button, button)
    _send(vp, QtCore.QEvent.Type.MouseButtonRelease, pos, button, none)


@pytest.fixture
def tiny_sam(monkeypatch, tmp_path):
    """A tiny SAM as the tool's weights: an entry of the weights manager, its file in an
    empty hub cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(weights.MIRROR_ENV, raising=False)
    folder = weights.cache_dir()
    folder.mkdir(parents=True)
    path = save_tiny(folder / "sam_tiny_ui.pth")
    entry = weights.WeightsEntry("sam_tiny_ui", path.name, "tiny SAM", (),
                                 "https://example.invalid/sam_tiny_ui.pth", kind=weights.ASSIST,
                                 digest=hashlib.sha256(path.read_bytes()).hexdigest())
    monkeypatch.setattr(sam_session, "DEFAULT_SPEC", sam_session.ModelSpec("sam_tiny_ui", TINY))
    with weights.registered(entry):
        yield path


def _open(window, qtbot, root):
    assert window.open_folder(root)
    qtbot.waitUntil(lambda: window.current_document() is not None, timeout=10_000)
    QtWidgets.QApplication.processEvents()
    window.canvas.fit()
    return window.current_document()


def _object_point(session, shape) -> tuple[float, float]:
    """A point whose mask (of the random tiny network) is neither empty nor everything."""
    h, w = shape
    for y in range(4, h, 9):
        for x in range(4, w, 11):
            m = session.mask(hover=(x + 0.5, y + 0.5))
            if m is not None and 0 < m.sum() < m.size:
                return (x + 0.5, y + 0.5)
    raise AssertionError("the tiny SAM gave no usable mask")


def test_click_and_enter_commit_the_object_touched_and_undoable(window, qtbot, sample_root,
                                                                tiny_sam):
    doc = _open(window, qtbot, sample_root)
    tool = window.tools.sam
    window.command_actions["tool_sam"].trigger()
    assert tool.active and tool.session is not None
    qtbot.waitUntil(lambda: tool.ready, timeout=30_000)
    session = tool.session
    p = _object_point(session, doc.mask.shape)
    session.clear_points()
    before = doc.mask.copy()
    value = int((np.bincount(before.ravel(), minlength=256)[:4]).argmin())   # a rare class
    window.tools.value = value
    _click(window.canvas, p)
    assert session.labels == [1] and np.allclose(session.points[0], p, atol=0.5)
    expected = session.mask()
    tool.finish()
    assert tool.previewing           # the preview follows the points
    window.command_actions["finish_polygon"].trigger()   # Enter
    tool.finish()
    painted = expected & (before != value)
    assert (doc.mask[expected] == value).all() and painted.any()
    assert doc.touched is not None and doc.touched[painted].all()
    assert session.points == [] and not tool.previewing
    doc.undo()
    assert (doc.mask == before).all()
    # The next image in the list was encoded ahead: opening it costs no encoding.
    qtbot.waitUntil(session.idle, timeout=30_000)
    assert session.encodes == 2


def test_right_click_removes_and_esc_discards(window, qtbot, sample_root, tiny_sam):
    doc = _open(window, qtbot, sample_root)
    tool = window.tools.sam
    window.command_actions["tool_sam"].trigger()
    qtbot.waitUntil(lambda: tool.ready, timeout=30_000)
    p = _object_point(tool.session, doc.mask.shape)
    before = doc.mask.copy()
    _click(window.canvas, p)
    _click(window.canvas, (2.5, 2.5), QtCore.Qt.MouseButton.RightButton)
    assert tool.session.labels == [1, 0]
    tool.finish()
    window.command_actions["cancel_polygon"].trigger()   # Esc
    assert tool.session.points == [] and not tool.previewing
    window.command_actions["finish_polygon"].trigger()   # Enter with no point: nothing
    tool.finish()
    assert (doc.mask == before).all() and not doc.can_undo


def test_without_weights_the_tool_says_how_and_the_others_work(window, qtbot, sample_root,
                                                               monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    doc = _open(window, qtbot, sample_root)
    window.command_actions["tool_sam"].trigger()
    message = window.statusBar().currentMessage()
    assert "segstudio weights fetch sam_vit_b" in message and "375.0 MB" in message
    assert "Pretrained weights" in message and window.tools.sam.session is None
    _click(window.canvas, (10.5, 10.5))                 # a click does nothing, no error
    window.command_actions["tool_brush"].trigger()
    window.tools.value = 1
    _click(window.canvas, (20.5, 20.5))
    assert doc.mask[20, 20] == 1 and doc.can_undo


def test_object_fill_relabels_the_object_not_the_region(window, qtbot, sample_root,
                                                        monkeypatch, tmp_path):
    """Without SAM weights: the similar-colour regions inside the predicted region."""
    import cv2

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    doc = _open(window, qtbot, sample_root)
    h, w = doc.mask.shape
    image = window.tools.assist.image
    image[:] = 128                                        # a grey "road" with a dark "car"
    car = np.zeros((h, w), np.uint8)
    cv2.rectangle(car, (20, 20), (45, 40), 1, -1)
    image[car > 0] = (40, 30, 150)
    window.tools.set_image(image)
    doc.replace(np.zeros((h, w), np.uint8))               # the network said: all road
    window.command_actions["tool_object_fill"].trigger()
    assert window.statusBar().currentMessage() == "" or "weights" not in \
        window.statusBar().currentMessage()               # no SAM nag: it works without
    window.tools.value = 1
    _click(window.canvas, (30.5, 30.5))
    qtbot.waitUntil(lambda: not window.tools.assist.busy and doc.mask[30, 30] == 1,
                    timeout=10_000)
    assert window.tools.assist.last_object_fill == "colour"
    got = doc.mask == 1
    assert (got & (car > 0)).sum() / (got | (car > 0)).sum() > 0.85
    assert doc.touched[30, 30] and doc.mask[5, 80] == 0
    doc.undo()
    assert not doc.mask.any()


def test_object_fill_uses_sam_once_it_has_encoded(window, qtbot, sample_root, tiny_sam):
    doc = _open(window, qtbot, sample_root)
    window.command_actions["tool_object_fill"].trigger()
    tool = window.tools.sam
    assert tool.active and tool.quiet
    qtbot.waitUntil(lambda: tool.ready, timeout=30_000)
    p = _object_point(tool.session, doc.mask.shape)
    before = doc.mask.copy()
    window.tools.value = int((np.bincount(before.ravel(), minlength=256)[:4]).argmin())
    _click(window.canvas, p)
    qtbot.waitUntil(lambda: not window.tools.assist.busy, timeout=10_000)
    QtWidgets.QApplication.processEvents()
    qtbot.waitUntil(lambda: window.tools.assist.last_object_fill is not None, timeout=10_000)
    assert window.tools.assist.last_object_fill in ("sam", "colour")
    changed = doc.mask != before
    # Never past the region the click was in (what fill would take).
    from segstudio.assist.object_fill import component

    (y0, x0, y1, x1), inside = component(before, int(p[0]), int(p[1]))
    region = np.zeros_like(changed)
    region[y0:y1, x0:x1] = inside
    assert not (changed & ~region).any()


def test_the_preview_of_a_speckled_mask_is_cheap(qtbot):
    """A mask of thousands of pieces (a random network's) is drawn as one pixmap: building
    an outline of its contours held the GUI thread for up to 360 ms a hover."""
    import time

    from segstudio.ui.sam_tool import mask_pixmap

    mask = np.random.default_rng(0).random((1000, 1200)) > 0.5
    mask[:, :100] = False
    t0 = time.perf_counter()
    pixmap, offset = mask_pixmap(mask)
    assert time.perf_counter() - t0 < 0.1
    assert offset == (100, 0) and (pixmap.width(), pixmap.height()) == (1100, 1000)
    image = pixmap.toImage()
    assert image.pixelColor(0, 0).alpha() == (96 if mask[0, 100] else 0)
    assert mask_pixmap(np.zeros((5, 5), bool)) is None


def test_a_corrupt_file_says_so_and_a_good_one_is_taken_next_time(window, qtbot, sample_root,
                                                                  tiny_sam):
    _open(window, qtbot, sample_root)
    good = tiny_sam.read_bytes()
    tiny_sam.write_bytes(b"\0" * len(good))              # same size, wrong bytes
    window.command_actions["tool_sam"].trigger()
    tool = window.tools.sam
    qtbot.waitUntil(lambda: tool.session.error is not None, timeout=10_000)
    tool.poll()
    assert "SHA-256" in window.statusBar().currentMessage()
    tiny_sam.write_bytes(good)                           # fetched again
    window.command_actions["tool_brush"].trigger()
    window.command_actions["tool_sam"].trigger()
    qtbot.waitUntil(lambda: tool.ready, timeout=30_000)
