"""pyproject.toml ships every package and every resource (a fast check of what the slow wheel
test proves by building one), and a checkout finds resources/ beside the package."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_an_spdx_string(config):
    assert config["project"]["license"] == "MIT"


def test_every_package_and_resource_folder_is_listed(config):
    listed = set(config["tool"]["setuptools"]["packages"])
    code = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "segstudio").rglob(
        "__init__.py") if "__pycache__" not in p.parts}
    data = {"segstudio.resources"} | {
        "segstudio.resources." + ".".join(d.relative_to(ROOT / "resources").parts)
        for d in (ROOT / "resources").rglob("*") if d.is_dir()
    }
    missing = sorted((code | data) - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert config["tool"]["setuptools"]["package-dir"] == {"segstudio.resources": "resources"}


def test_every_resource_file_matches_a_package_data_pattern(config):
    patterns = config["tool"]["setuptools"]["package-data"]
    unshipped = []
    for f in (ROOT / "resources").rglob("*"):
        if not f.is_file():
            continue
        package = ".".join(("segstudio.resources", *f.parent.relative_to(ROOT / "resources").parts))
        if not any(fnmatch.fnmatch(f.name, p) for p in patterns.get(package, [])):
            unshipped.append(str(f.relative_to(ROOT)))
    assert not unshipped, f"not in [tool.setuptools.package-data]: {unshipped}"


def test_a_checkout_reads_resources_beside_the_package():
    from segstudio.paths import RESOURCES, resource

    assert RESOURCES == ROOT / "resources"
    assert resource("classes", "camvid.json") == ROOT / "resources" / "classes" / "camvid.json"
    with pytest.raises(FileNotFoundError, match="segstudio resource missing"):
        resource("classes", "nope.json")
