"""The Classes panel's delete and merge (issue 18 item 2), the window's answer to a model whose
classes are not the project's, and the Fine-tune panel's ranges from the one schema (item 4)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyqtgraph.Qt import QtWidgets

from segstudio.core.project import Project

YES = QtWidgets.QMessageBox.StandardButton.Yes
NO = QtWidgets.QMessageBox.StandardButton.No


@pytest.fixture
def window(make_window):
    """The shared window maker (conftest.make_window), under this file's short name."""
    return make_window


def _labels(root):
    p = Project.open(root)
    return {e.key: p.read_label(e) for e in p.entries if p.has_label(e)}


def test_merge_asks_then_rewrites_labels_and_panel(window, sample_root, dialogs, qtbot):
    w = window(sample_root)
    before = _labels(sample_root)
    raw = {p: p.read_bytes() for p in (sample_root / "labels").rglob("*.png")}
    # "No": nothing changes.
    dialogs.answer = NO
    w.palette.merge_requested.emit(3, 2)          # box into disc
    question = dialogs.shown[-1][1]
    assert "“box” become “disc”" in question and "Ctrl+Z right after takes it back" in question
    assert {p: p.read_bytes() for p in (sample_root / "labels").rglob("*.png")} == raw
    assert w.palette.list.count() == 4
    # "Yes": the labels, the project and the panel change together.
    dialogs.answer = YES
    with qtbot.waitSignal(w.remapper.classes_replaced, timeout=30_000):
        w.palette.merge_requested.emit(3, 2)
    assert Project.open(sample_root).classes.names == ["sky", "ground", "disc"]
    assert w.palette.list.count() == 3 and w.palette.current() == 2
    after = _labels(sample_root)
    for key, mask in before.items():
        np.testing.assert_array_equal(after[key], np.where(mask == 3, 2, mask))
    doc = w.current_document()
    assert doc is not None and 3 not in np.unique(doc.mask)


def test_ctrl_z_right_after_a_merge_brings_the_classes_and_labels_back(window, sample_root,
                                                                      dialogs, qtbot):
    w = window(sample_root)
    raw = {p: p.read_bytes() for p in (sample_root / "labels").rglob("*.png")}
    names = Project.open(sample_root).classes.names
    dialogs.answer = YES
    with qtbot.waitSignal(w.remapper.classes_replaced, timeout=30_000):
        w.palette.merge_requested.emit(3, 2)
    assert Project.open(sample_root).classes.names != names
    undo = w.command_actions["undo"]
    assert undo.isEnabled()                  # the image on screen has no step of its own
    with qtbot.waitSignal(w.remapper.classes_replaced, timeout=30_000):
        undo.trigger()
    assert Project.open(sample_root).classes.names == names
    assert {p: p.read_bytes() for p in (sample_root / "labels").rglob("*.png")} == raw
    assert w.palette.list.count() == len(names)
    assert not w.remapper.can_undo           # one change, one undo
    assert "undone: merge" in w.statusBar().currentMessage()


def test_delete_makes_void_and_the_menu_offers_it(window, sample_root, dialogs, qtbot):
    w = window(sample_root)
    before = _labels(sample_root)
    w.palette.select(0)
    w.palette._fill_edit_menu(w.palette.more_menu, 0)
    texts = [a.text() for a in w.palette.more_menu.actions()]
    assert texts[0] == "Delete “sky”…" and texts[1] == "Merge “sky” into"
    dialogs.answer = YES
    with qtbot.waitSignal(w.remapper.classes_replaced, timeout=30_000):
        w.palette.more_menu.actions()[0].trigger()
    assert w.palette.list.count() == 3
    after = _labels(sample_root)
    for key, mask in before.items():
        expected = np.where(mask == 0, 255, np.where((mask > 0) & (mask < 255), mask - 1, mask))
        np.testing.assert_array_equal(after[key], expected)


def test_finetune_panel_ranges_are_the_schemas(window, sample_root, dialogs):
    from segstudio.core.settings_schema import setting

    dock = window(sample_root).finetune
    for widget, name in ((dock.steps, "steps"), (dock.crop_h, "height"),
                         (dock.crop_w, "width"), (dock.batch, "batch"), (dock.lr, "lr")):
        spec = setting(name)
        assert (widget.minimum(), widget.maximum()) == (spec.min, spec.max), name
    dock.lr.setValue(1e-6)
    assert dock.lr.text() == "1e-06" and dock.settings().lr == pytest.approx(1e-6)
    dock.lr.stepBy(1)
    assert dock.settings().lr == pytest.approx(2e-6)


def test_out_of_range_settings_open_with_a_warning(window, sample_root, dialogs):
    path = sample_root / "segstudio.json"
    doc = json.loads(path.read_text())
    doc["settings"]["finetune"] = {**doc["settings"].get("finetune", {}), "lr": 50.0}
    path.write_text(json.dumps(doc))
    w = window(sample_root)
    assert "settings.finetune.lr: 50.0 is outside" in dialogs.texts()
    assert w.finetune.settings().lr <= 1.0 and len(w.session.project.entries) > 0
