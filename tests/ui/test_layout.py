"""Every panel usable at scale factors 1.0 to 2.0 on a 1280x1000 screen, and a layout saved
under one scale factor never spoiling another (issue 10, window defect 2). Each scale needs its
own process (Qt reads QT_SCALE_FACTOR once); the screen is emulated by the offscreen platform's
configuration file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("layout_probe.py")
ROOT = Path(__file__).resolve().parents[2]


def _probe(project: Path, scale: float, settings: Path, screen: Path) -> dict:
    env = dict(os.environ, QT_SCALE_FACTOR=str(scale), SEGSTUDIO_SETTINGS=str(settings),
               QT_QPA_PLATFORM=f"offscreen:configfile={screen}",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, str(PROBE), str(project)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    line = next((x for x in out.stdout.splitlines() if x.startswith("PROBE ")), None)
    assert line, out.stdout + out.stderr
    return json.loads(line[len("PROBE "):])


@pytest.mark.slow
def test_every_panel_usable_from_scale_1_to_2_on_a_1280x1000_screen(camvid_like_root,
                                                                    tmp_path):
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{
        "name": "s", "x": 0, "y": 0, "width": 1280, "height": 1000, "logicalDpi": 96,
        "logicalBaseDpi": 96, "dpr": 1}]}))
    settings = tmp_path / "settings.ini"
    # 1.5 first, then 1.0 with the same settings: the order that broke the Files panel.
    for scale in (1.5, 1.0, 1.25, 1.75, 2.0, 1.5):
        got = _probe(camvid_like_root, scale, settings, screen)
        where = f"at scale {scale}: {got}"
        assert got["fits"], where                      # status bar on screen
        assert got["usable"], where                    # no panel below what it needs
        width = got["screen"][0]
        assert got["canvas"][0] >= 0.25 * width, where  # room to work in
        assert got["name_column"] >= 100, where        # file names readable
        for dock in got["docks"].values():
            assert dock["visible"], where
            assert dock["w"] >= dock["min_w"], where
    text = settings.read_text()          # a layout of its own per scale factor
    assert "1.5x" in text and "1x" in text and "2x" in text
