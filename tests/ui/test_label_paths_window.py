"""The window with labels it cannot or may not write by name: a 243-character image name
saves like any other; a labels folder linked out of the project is said once, when the
folder opens, and nothing is written there (the edits stay in memory, unsaved)."""

from __future__ import annotations

import shutil

from segstudio.core.project import Project

LONG = "s" * 239 + ".png"


def _paint_and_leave(qtbot, w, key: str) -> None:
    w.show_image(key)
    qtbot.waitUntil(lambda: w.current_document() is not None and w.current_key == key)
    doc = w.current_document()
    doc.begin_stroke()
    doc.brush((5, 5), (30, 5), 3, 1)
    doc.end_stroke()
    w.show_image(w.session.entries[0].key)     # leaving it autosaves
    w.session.flush()


def test_a_243_character_image_name_saves_without_a_dialog(qtbot, window, sample_root,
                                                           dialogs):
    (sample_root / "images" / "scene_05.png").rename(sample_root / "images" / LONG)
    assert window.open_folder(sample_root)
    _paint_and_leave(qtbot, window, LONG)
    assert not dialogs.shown, dialogs.texts()
    p = Project.open(sample_root)
    assert p.read_label(p.entry(LONG))[5, 10] == 1
    assert not window.session.is_dirty(LONG)


def test_a_labels_link_out_of_the_project_is_said_and_nothing_is_written_there(
        qtbot, window, sample_root, tmp_path, dialogs, monkeypatch):
    outside = tmp_path / "elsewhere"
    shutil.move(sample_root / "labels", outside)
    (sample_root / "labels").symlink_to(outside, target_is_directory=True)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in outside.iterdir())
    assert window.open_folder(sample_root)
    assert "leads outside the project" in dialogs.texts()
    assert len(dialogs.shown) == 1
    key = window.session.entries[4].key
    _paint_and_leave(qtbot, window, key)
    assert len(dialogs.shown) == 1                # not again at every autosave
    assert sorted((p.name, p.stat().st_mtime_ns) for p in outside.iterdir()) == before
    assert window.session.is_dirty(key)           # kept in memory, marked unsaved
    # Segment is refused before any work, with the same line.
    segment = window.runs.segment
    import segstudio.engine.workflow as workflow

    monkeypatch.setattr(workflow, "active_checkpoint", lambda _p: tmp_path / "any.safetensors")
    assert not segment.start(list(window.session.entries))
    assert len(dialogs.shown) == 2 and "predictions are not saved" in dialogs.shown[-1][1]
    assert "leads outside the project" in dialogs.shown[-1][1]
