"""Raster items: the QImage shares the numpy buffer and only the changed box is repainted."""

from __future__ import annotations

import numpy as np
from pyqtgraph.Qt import QtWidgets

from segstudio.ui.canvas import Canvas
from segstudio.ui.raster import boundaries, label_color_table


def _palette():
    pal = np.full((256, 3), 128, np.uint8)
    pal[0], pal[1], pal[2] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    return pal


def test_label_image_shares_the_mask_buffer(qtbot):
    canvas = Canvas()
    qtbot.addWidget(canvas)
    mask = np.zeros((40, 60), np.uint8)
    canvas.set_image(np.zeros((40, 60, 3), np.uint8))
    canvas.set_mask(mask, _palette(), 255)
    mask[10, 20] = 2  # an in-place edit, as the MaskDocument makes it
    assert canvas.label_item._qimage.pixelIndex(20, 10) == 2
    assert canvas.label_item._qimage.pixelIndex(21, 10) == 0


def test_void_is_transparent_in_the_colour_table():
    table = label_color_table(_palette(), 255)
    assert table[255] >> 24 == 0
    assert table[1] >> 24 == 255


def test_refresh_repaints_only_the_changed_box(qtbot, shown_canvas):
    canvas = shown_canvas(600, 400)
    h, w = 1200, 1600
    mask = np.zeros((h, w), np.uint8)
    canvas.set_image(np.zeros((h, w, 3), np.uint8))
    canvas.set_mask(mask, _palette(), 255)
    item = canvas.label_item
    qtbot.waitUntil(lambda: item.paint_count > 0, timeout=3000)
    # The first update after show repaints everything (the view settles its range); warm up.
    canvas.refresh((0, 0, 4, 4))
    qtbot.waitUntil(lambda: item.paint_count > 1, timeout=3000)
    QtWidgets.QApplication.processEvents()
    item.paint_count, item.painted_area = 0, 0.0
    mask[600:610, 800:820] = 1
    canvas.refresh((600, 800, 610, 820))
    qtbot.waitUntil(lambda: item.paint_count > 0, timeout=3000)
    # A few pixels of margin for antialiasing at this zoom, never the whole image.
    assert 0 < item.painted_area < 0.01 * h * w


def test_boundaries_incremental_matches_full():
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 3, (30, 40)).astype(np.uint8)
    mask[:, :20] = 1
    full = np.full_like(mask, 255)
    boundaries(mask, 255, full)
    inc = full.copy()
    mask[5:9, 3:8] = 2
    boundaries(mask, 255, inc, (5, 3, 9, 8))
    ref = np.full_like(mask, 255)
    boundaries(mask, 255, ref)
    np.testing.assert_array_equal(inc, ref)
    # A uniform region has no boundary inside it.
    assert (ref[10:20, 2:18] == 255).all()

