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


def _screen(path: Path, width: int, height: int) -> Path:
    path.write_text(json.dumps({"screens": [{
        "name": "s", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96,
        "logicalBaseDpi": 96, "dpr": 1}]}))
    return path


def _probe(project: Path, scale: float, settings: Path, screen: Path, note: str = "",
           short_classes: int = 0) -> dict:
    env = dict(os.environ, QT_SCALE_FACTOR=str(scale), SEGSTUDIO_SETTINGS=str(settings),
               PROBE_NOTE=note, PROBE_SHORT_CLASSES=str(short_classes or ""),
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


@pytest.mark.slow
def test_all_of_camvids_11_classes_show_at_1280x800(camvid_like_root, tmp_path):
    """Issue 19: at 1280x800 the Classes panel showed 9 of CamVid's 11 classes."""
    screen = _screen(tmp_path / "screen.json", 1280, 800)
    settings = tmp_path / "settings.ini"
    note = ("val mIoU 41.2% (was 45.0% before); not made active: val mIoU 41.2% is below the "
            "active model's 45.0% on the same images; you can still choose it; -3.8 points, "
            "90% interval -7.1..-0.4 over 12 images, better in 4% of resamples")
    # The default layout, the one it saved, and with a run's long note in the Model panel.
    for text in ("", "", note):
        got = _probe(camvid_like_root, 1.0, settings, screen, text)
        assert got["fits"] and got["usable"], got
        assert got["classes"] == [11, 11], got
    # A layout of the user's with Classes squeezed (stacked, saved): restored, with the
    # height Classes needs taken from the panels below it.
    squeezed = _probe(camvid_like_root, 1.0, settings, screen, short_classes=150)
    assert squeezed["classes"][0] < 11, squeezed
    got = _probe(camvid_like_root, 1.0, settings, screen)
    assert got["fits"] and got["usable"], got
    assert got["docks"]["FineTuneDock"]["tabbed"] is False, got   # the user's layout kept
    assert got["classes"] == [11, 11], got
