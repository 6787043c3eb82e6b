"""segstudio installs like a real package: the wheel carries the default model and the class
sets, which load from an unpacked copy used from another directory; an editable install finds
them in the checkout. Both build offline from a copy of the sources (the checkout stays clean)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# What a user of the installed package does first: class sets, the default model, the CLI.
CHECK = """
import json, sys
from pathlib import Path
import segstudio, segstudio.paths
from segstudio.core.classes import builtin_classes
from segstudio.engine.checkpoint import default_checkpoint, load_checkpoint
from segstudio.engine.weights import status
model, meta = load_checkpoint(default_checkpoint(), device="cpu")
print(json.dumps({
    "package": segstudio.__file__, "resources": str(segstudio.paths.RESOURCES),
    "camvid": builtin_classes("camvid").num_classes, "voc": builtin_classes("voc").num_classes,
    "checkpoint": str(default_checkpoint()), "arch": meta.arch,
    "params": sum(p.numel() for p in model.parameters()),
    "shipped_present": status("enet_camvid").present,
}))
"""


def _sources(dest: Path) -> Path:
    """The files a source distribution holds, copied (building in place would leave build/ and
    *.egg-info in the checkout)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("segstudio", "resources"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def _pip(*args: str, python: str = sys.executable) -> None:
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    cmd = [sys.executable, "-m", "pip", *(["--python", python] if python != sys.executable
                                          else []), *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


def _check(python: str, cwd: Path, pythonpath: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    out = subprocess.run([python, "-c", CHECK], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_wheel_ships_the_model_and_class_sets(tmp_path):
    src = _sources(tmp_path / "src")
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src))
    (wheel,) = (tmp_path / "dist").glob("segstudio-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = next(z.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        z.extractall(tmp_path / "site")
    for f in ("classes/camvid.json", "classes/voc.json", "models/enet_camvid.safetensors",
              "models/enet_camvid.json"):
        assert f"segstudio/resources/{f}" in names
    assert not any(n.startswith("resources/") for n in names)
    assert "License-Expression: MIT" in metadata.splitlines()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    site = tmp_path / "site"
    got = _check(sys.executable, elsewhere, pythonpath=site)
    assert Path(got["package"]).is_relative_to(site)
    assert Path(got["resources"]) == site / "segstudio" / "resources"
    assert Path(got["checkpoint"]).is_relative_to(site)
    assert (got["camvid"], got["voc"], got["arch"]) == (11, 21, "enet")
    assert got["params"] > 300_000 and got["shipped_present"] is True


def test_editable_install_reads_the_checkouts_resources(tmp_path):
    """A fresh venv (no pip of its own) that sees the test venv's packages through a .pth, and
    an editable install of a copy of the sources into it."""
    src = _sources(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    Path(site, "deps.pth").write_text(deps + "\n")
    _pip("install", "--no-deps", "--no-build-isolation", "-e", str(src), python=python)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    got = _check(python, elsewhere)
    assert Path(got["package"]) == src / "segstudio" / "__init__.py"
    assert Path(got["resources"]) == src / "resources"
    assert (got["camvid"], got["voc"], got["arch"]) == (11, 21, "enet")
