"""Several writers on one project folder (two windows, the CLI beside the app): every record
survives, and a stale writer never moves an image down from reviewed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from segstudio.core.project import ImageState, Project

H, W = 8, 8


@pytest.fixture
def folder(tmp_path):
    for i in range(200):
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / f"{i:03d}.png")
    return tmp_path


def test_two_writers_keep_every_record(folder) -> None:
    a, b = Project.open(folder), Project.open(folder)
    mask = np.zeros((H, W), np.uint8)
    with a.batch(), b.batch():
        for i in range(100):
            a.save_label(a.entries[2 * i], mask, state=ImageState.PREDICTED, confidence=0.5)
            b.save_label(b.entries[2 * i + 1], mask, state=ImageState.PREDICTED, confidence=0.6)
    fresh = Project.open(folder)
    assert fresh.counts()[ImageState.PREDICTED] == 200
    assert fresh.counts()[ImageState.REVIEWED] == 0
    data = json.loads((folder / "segstudio.json").read_text())
    assert len(data["images"]) == 200
    # Each writer also sees the other's records after a sync (the view merges).
    a.sync()
    assert a.counts()[ImageState.PREDICTED] == 200


def test_stale_writer_cannot_unreview(folder) -> None:
    app, cli = Project.open(folder), Project.open(folder)
    e = app.entries[0]
    mask = np.zeros((H, W), np.uint8)
    cli.save_label(cli.entries[0], mask, state=ImageState.PREDICTED)
    app.sync()
    # A person reviews the image in the app...
    app.save_label(e, np.ones((H, W), np.uint8), state=ImageState.REVIEWED)
    # ...while the CLI, with its old view, predicts it again: refused against the disk's state.
    assert not cli.save_label(cli.entries[0], mask, state=ImageState.PREDICTED)
    assert (Project.open(folder).read_label(e) == 1).all()
    # A stale view's unrelated save does not carry its old "predicted" record over either.
    cli.settings["note"] = "x"
    cli.save()
    fresh = Project.open(folder)
    assert fresh.state(fresh.entries[0]) is ImageState.REVIEWED
    assert fresh.settings["note"] == "x"


def test_explicit_unreview_wins(folder) -> None:
    a, b = Project.open(folder), Project.open(folder)
    e = a.entries[3]
    a.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.REVIEWED)
    b.sync()
    b.set_state(b.entries[3], ImageState.PREDICTED)   # a user's explicit un-review
    a.save()
    assert Project.open(folder).state(e) is ImageState.PREDICTED


def test_settings_and_checkpoints_merge_three_way(folder) -> None:
    a, b = Project.open(folder), Project.open(folder)
    a.settings["arch"] = "enet"
    a.save()
    b.settings["finetune"] = {"epochs": 3}
    b.register_checkpoint(folder / "checkpoints" / "b", "enet", {"miou": 0.5})
    a.register_checkpoint(folder / "checkpoints" / "a", "enet", {"miou": 0.4})
    fresh = Project.open(folder)
    assert fresh.settings == {"arch": "enet", "finetune": {"epochs": 3}}
    assert [c["path"] for c in fresh.checkpoints] == ["checkpoints/b", "checkpoints/a"]


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from segstudio.core.project import ImageState, Project
    folder, parity = sys.argv[1], int(sys.argv[2])
    p = Project.open(folder)
    mask = np.zeros((8, 8), np.uint8)
    with p.batch():
        for e in p.entries[parity::2]:
            p.save_label(e, mask, state=ImageState.PREDICTED, confidence=0.25)
""")


@pytest.mark.slow
def test_two_processes_keep_every_record(folder) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(k)])
             for k in (0, 1)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    fresh = Project.open(folder)
    assert fresh.counts()[ImageState.PREDICTED] == 200
    assert all(fresh.confidence(e) == 0.25 for e in fresh.entries)


def _stroke(rows: slice, cols: slice) -> np.ndarray:
    t = np.zeros((H, W), bool)
    t[rows, cols] = True
    return t


def test_two_writers_editing_one_image_keep_both_strokes(folder) -> None:
    a, b = Project.open(folder), Project.open(folder)
    e = a.entries[0]
    a.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.PREDICTED)
    b.sync()
    mine, theirs = a.read_label(e).copy(), b.read_label(b.entries[0]).copy()
    s1, s2 = _stroke(slice(0, 3), slice(0, 3)), _stroke(slice(5, 8), slice(5, 8))
    theirs[s2] = 1
    assert b.save_label(b.entries[0], theirs, state=ImageState.EDITED, touched=s2)
    # `a` still holds its old mask (zeros at s2) and saves a stroke elsewhere.
    mine[s1] = 1
    assert a.save_label(e, mine, state=ImageState.EDITED, touched=s1)
    fresh = Project.open(folder)
    label = fresh.read_label(e)
    assert (label[s1] == 1).all() and (label[s2] == 1).all()
    assert (label[~(s1 | s2)] == 0).all()
    np.testing.assert_array_equal(fresh.touched(e), s1 | s2)
    assert fresh.state(e) is ImageState.EDITED
    # `a` knows the file now holds more than its mask: its view of the label is stale.
    assert a.label_changed(e) and not fresh.label_changed(fresh.entries[0])


def test_with_a_base_only_the_changed_pixels_are_the_writers_and_the_later_save_wins(
        folder) -> None:
    a, b = Project.open(folder), Project.open(folder)
    e = a.entries[1]
    a.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.PREDICTED)
    base_a, base_b = a.read_label(e).copy(), b.read_label(b.entries[1]).copy()
    theirs = base_b.copy()
    theirs[4:8, :] = 1                       # b's stroke: rows 4-7
    b.save_label(b.entries[1], theirs, state=ImageState.EDITED,
                 touched=theirs.astype(bool), base=base_b)
    mine = base_a.copy()
    mine[:5, :] = 1                          # a's stroke: rows 0-4, overlapping row 4
    mine[4, :] = 255                         # a erased row 4 last: the later save wins there
    a.save_label(e, mine, state=ImageState.EDITED, touched=mine != 0, base=base_a)
    label = Project.open(folder).read_label(e)
    assert (label[:4] == 1).all() and (label[4] == 255).all() and (label[5:] == 1).all()


def test_a_single_writer_still_writes_its_whole_mask(folder) -> None:
    """No other writer: a re-edit of the writer's own touched pixels is written as given."""
    p = Project.open(folder)
    e = p.entries[2]
    mask = np.zeros((H, W), np.uint8)
    s = _stroke(slice(0, 4), slice(0, 4))
    mask[s] = 1
    p.save_label(e, mask, state=ImageState.EDITED, touched=s)
    mask[s] = 0                              # repainted with another class, same touched map
    p.save_label(e, mask, state=ImageState.EDITED, touched=s)
    assert (Project.open(folder).read_label(e) == 0).all()


def test_a_stale_prediction_keeps_the_strokes_another_writer_saved(folder) -> None:
    a, b = Project.open(folder), Project.open(folder)
    e = a.entries[3]
    a.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.PREDICTED)
    base_a, theirs = a.read_label(e).copy(), b.read_label(b.entries[3]).copy()
    s = _stroke(slice(0, 2), slice(None))
    theirs[s] = 1
    b.save_label(b.entries[3], theirs, state=ImageState.EDITED, touched=s, base=theirs * 0)
    # `a` (a window) accepts a new prediction of 255 everywhere, replacing "everything".
    a.save_label(e, np.full((H, W), 255, np.uint8), state=ImageState.PREDICTED,
                 overwrite_reviewed=True, base=base_a)
    fresh = Project.open(folder)
    label = fresh.read_label(e)
    assert (label[s] == 1).all() and (label[~s] == 255).all()
    assert fresh.state(e) is ImageState.EDITED and (fresh.touched(e) == s).all()
