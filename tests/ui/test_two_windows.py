"""Two windows on one project folder: both keep their strokes on one image, and each sees
the other's saves (list, counts and canvas) without reopening the folder."""

from __future__ import annotations

import pytest

from segstudio.core.project import ImageState, Project


@pytest.fixture
def two_windows(qtbot, sample_root):
    from segstudio.ui.main_window import MainWindow

    windows = []
    for _ in range(2):
        w = MainWindow()
        qtbot.addWidget(w)
        w.resize(900, 600)
        w.show()
        assert w.open_folder(sample_root)
        windows.append(w)
    yield windows
    for w in windows:
        w.runs.cancel_all(wait=True)


def _show(qtbot, w, key: str):
    w.show_image(key)
    qtbot.waitUntil(lambda: w.current_key == key and w.current_document() is not None)
    return w.current_document()


def _stroke(doc, y: int, value: int) -> None:
    doc.begin_stroke()
    doc.brush((10, y), (60, y), 3, value)
    doc.end_stroke()


def _state_shown(w, key: str) -> str:
    model = w.files.model
    return model.data(model.index(model.row_of(key), 1))


def test_two_windows_on_one_image_keep_both_strokes(qtbot, two_windows, sample_root):
    a, b = two_windows
    key = a.session.entries[3].key            # unlabeled in the sample: both start from void
    doc_a, doc_b = _show(qtbot, a, key), _show(qtbot, b, key)
    _stroke(doc_b, 10, 1)                     # B paints a stroke and autosaves
    assert b.session.save_all(wait=True)
    _stroke(doc_a, 40, 2)                     # A, with its stale mask, paints elsewhere
    assert a.session.save_all(wait=True)
    project = Project.open(sample_root)
    entry = project.entry(key)
    label, touched = project.read_label(entry), project.touched(entry)
    assert (label[10, 12:58] == 1).all() and (label[40, 12:58] == 2).all()
    assert touched[10, 12:58].all() and touched[40, 12:58].all()
    assert project.state(entry) is ImageState.EDITED
    # Each window brings the other's stroke onto its canvas (the shown document).
    for w in (a, b):
        w.other_writers.check()
        mask = w.mask_of(key)
        assert (mask[10, 12:58] == 1).all() and (mask[40, 12:58] == 2).all()
        assert not w.session.is_dirty(key)
    # B's next save (another stroke) keeps A's pixels too.
    _stroke(doc_b, 25, 3)
    assert b.session.save_all(wait=True)
    label = Project.open(sample_root).read_label(entry)
    assert (label[10, 12:58] == 1).all() and (label[25, 12:58] == 3).all()
    assert (label[40, 12:58] == 2).all()


def test_unsaved_strokes_stay_when_the_other_windows_pixels_come_in(qtbot, two_windows):
    a, b = two_windows
    key = a.session.entries[4].key
    doc_a, doc_b = _show(qtbot, a, key), _show(qtbot, b, key)
    _stroke(doc_a, 40, 2)                     # A's stroke, not saved yet
    _stroke(doc_b, 10, 1)
    assert b.session.save_all(wait=True)
    assert a.other_writers.check()
    assert (doc_a.mask[10, 12:58] == 1).all() and (doc_a.mask[40, 12:58] == 2).all()
    assert a.session.is_dirty(key) and "kept" in a.statusBar().currentMessage()
    assert a.session.save_all(wait=True)
    b.other_writers.check()
    assert (doc_b.mask[40, 12:58] == 2).all() and (doc_b.mask[10, 12:58] == 1).all()


def test_the_list_follows_the_other_windows_saves_after_f5(qtbot, two_windows):
    a, b = two_windows
    key = a.session.entries[3].key
    assert _state_shown(a, key) == "unlabeled"
    doc_b = _show(qtbot, b, key)
    _stroke(doc_b, 10, 1)
    assert b.session.save_all(wait=True)
    a.command_actions["refresh_queue"].trigger()      # F5
    assert _state_shown(a, key) == "edited"
    assert "1 edited" in a.files.counts.text()
    # Marking it reviewed in A reaches B's list the same way.
    _show(qtbot, a, key)
    a.command_actions["mark_reviewed"].trigger()
    a.session.flush()
    b.command_actions["refresh_queue"].trigger()
    assert _state_shown(b, key) == "reviewed"
