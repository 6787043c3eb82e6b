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
