"""A save killed at any moment leaves the old file or the new one, never a truncated one.

Each case runs the save in a child process that dies at a chosen point (os._exit, so no
cleanup handler runs, like a kill or a power cut as far as this process is concerned), then the
parent checks the label file and the project folder."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import default_classes
from segstudio.core.labels import read_label, write_label
from segstudio.core.project import ImageState, Project

CHILD = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from segstudio.core.classes import default_classes
    from segstudio.core.labels import write_label
    from segstudio.core.project import ImageState, Project

    mode, folder = sys.argv[1], sys.argv[2]
    die = lambda *a, **k: os._exit(3)
    if mode == "before_replace":
        os.replace = die
    elif mode == "before_fsync":
        os.fsync = die
    elif mode == "mid_write":
        real_fdopen = os.fdopen

        class HalfThenDie:
            def __init__(self, f):
                self.f = f
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return False
            def write(self, data):
                self.f.write(data[: len(data) // 2])
                self.f.flush()
                os._exit(3)

        os.fdopen = lambda fd, *a, **k: HalfThenDie(real_fdopen(fd, *a, **k))
    project = Project.open(folder)
    entry = project.entries[0]
    new = np.ones((40, 50), np.uint8)
    if sys.argv[3] == "label":
        write_label(project.label_path(entry), new, project.classes)
    else:
        project.settings["changed"] = True
        project.save()
    os._exit(0)
    """
)


@pytest.fixture
def folder(tmp_path):
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(tmp_path / "img.png")
    p = Project.open(tmp_path)
    p.save_label(p.entries[0], np.zeros((40, 50), np.uint8), state=ImageState.REVIEWED)
    return tmp_path


def _run_child(mode: str, folder, what: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(folder), what],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode


@pytest.mark.parametrize("mode", ["before_replace", "before_fsync", "mid_write"])
def test_killed_label_save_keeps_the_old_label(folder, mode) -> None:
    assert _run_child(mode, folder, "label") == 3
    p = Project.open(folder)
    e = p.entries[0]
    old = read_label(p.label_path(e), p.classes, (40, 50))
    assert old.max() == 0  # the old label, intact
    assert p.state(e) is ImageState.REVIEWED
    assert [x.key for x in p.entries] == ["img.png"]  # orphaned temp is not an image
    orphans = [n for n in os.listdir(p.labels_dir) if n != "img.png"]
    assert all(n.startswith(".img.png.") and n.endswith(".tmp") for n in orphans)
    # The next save succeeds beside the orphan.
    assert p.save_label(e, np.ones((40, 50), np.uint8), state=ImageState.REVIEWED)
    assert p.read_label(e).min() == 1


@pytest.mark.parametrize("mode", ["before_replace", "mid_write"])
def test_killed_project_save_keeps_the_old_project_file(folder, mode) -> None:
    before = (folder / "segstudio.json").read_bytes()
    assert _run_child(mode, folder, "project") == 3
    assert (folder / "segstudio.json").read_bytes() == before
    assert Project.open(folder).settings == {}


def test_completed_save_in_child_is_visible(folder) -> None:
    assert _run_child("none", folder, "label") == 0
    p = Project.open(folder)
    assert p.read_label(p.entries[0]).max() == 1


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from segstudio.core.classes import default_classes
    from segstudio.core.labels import write_label

    path = sys.argv[1]
    classes = default_classes()
    rng = np.random.default_rng(0)
    i = 0
    while True:
        # Incompressible noise keeps each write long enough to be killed in the middle.
        mask = (rng.random((600, 800)) < 0.5).astype(np.uint8)
        mask[0, 0] = i % 2
        write_label(path, mask, classes)
        if i == 0:
            print("ready", flush=True)
        i += 1
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_truncated_label(tmp_path) -> None:
    path = tmp_path / "label.png"
    write_label(path, np.zeros((600, 800), np.uint8), default_classes())
    rng = np.random.default_rng(1)
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.15)))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        mask = read_label(path, default_classes(), expected_shape=(600, 800))
        assert mask.max() <= 1
