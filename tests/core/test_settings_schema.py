"""Issue 18 item 4: one table of setting ranges (core.settings_schema), read by segstudio.json's
validation, the engine, the CLI and the Fine-tune panel; an out-of-range value is refused
before anything is written, and a project file holding one still opens, with its defaults for
those values and a warning."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from segstudio.core import settings_schema as schema
from segstudio.core.project import Project
from tests.cli_helpers import one_line_error, run_cli


@pytest.fixture
def folder(tmp_path):
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(tmp_path / "a.png")
    return tmp_path


def _write_settings(folder, finetune) -> None:
    (folder / "segstudio.json").write_text(json.dumps(
        {"format": "segstudio-project", "version": 1, "settings": {"finetune": finetune}}))


@pytest.mark.parametrize(("name", "value", "ok"), [
    ("lr", 1e-3, True), ("lr", 50.0, False), ("lr", 0, False), ("lr", math.nan, False),
    ("lr", "0.1", False), ("lr", 1e-8, True), ("batch", 1024, True), ("batch", 1025, False),
    ("batch", True, False), ("batch", 4.0, False), ("steps", 0, False),
    ("height", 8192, True), ("height", 8193, False), ("weighting", "median", True),
    ("weighting", "magic", False), ("train_edited", 1, False), ("val_fraction", 0.95, False),
    ("a_newer_field", object(), True),
])
def test_one_row_decides(name, value, ok) -> None:
    assert (schema.check_value(name, value) is None) is ok


def test_out_of_range_file_opens_with_defaults_and_a_warning(folder) -> None:
    from segstudio.engine.workflow import default_finetune, finetune_settings

    _write_settings(folder, {"lr": 50.0, "batch": 2, "weighting": "magic", "future": [1]})
    project = Project.open(folder)          # used to raise "... lr: 50.0 is outside 1e-08..1"
    lines = project.settings_warnings
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert "settings.finetune.lr: 50.0 is outside" in lines[0] and "default" in lines[0]
    kept = project.settings["finetune"]
    assert kept == {"batch": 2, "future": [1]}     # the good values and unknown fields stay
    s = finetune_settings(project, "enet")
    assert s.lr == default_finetune(project).lr and s.batch == 2
    project.save()                           # the next save writes the file without them
    on_disk = json.loads((folder / "segstudio.json").read_text())["settings"]["finetune"]
    assert on_disk == {"batch": 2, "future": [1]}
    assert Project.open(folder).settings_warnings == []


def test_finetune_not_an_object_opens_too(folder) -> None:
    _write_settings(folder, [1, 2])
    project = Project.open(folder)
    assert project.settings["finetune"] == {} and "expected an object" in \
        project.settings_warnings[0]


@pytest.mark.parametrize("argv", [
    ("--lr", "50"), ("--lr", "0"), ("--batch", "2000"), ("--steps", "0"),
    ("--size", "100000x64"), ("--val-fraction", "0.95"), ("--weighting", "magic"),
])
def test_train_project_refuses_before_writing(capsys, folder, argv) -> None:
    before = sorted(p.name for p in folder.iterdir())
    code, _, err = run_cli(capsys, "train", folder, *argv)
    assert code == 2
    line = one_line_error(err)
    assert argv[0] in line, line
    assert sorted(p.name for p in folder.iterdir()) == before   # no segstudio.json, nothing


def test_train_project_refuses_unknown_arch_before_writing(capsys, folder) -> None:
    code, _, err = run_cli(capsys, "train", folder, "--arch", "resnet9000")
    assert code == 2 and "unknown architecture" in one_line_error(err)
    assert not (folder / "segstudio.json").exists()


def test_engine_uses_the_same_ranges() -> None:
    from types import SimpleNamespace

    from segstudio.engine.train_validate import ConfigError, _schema

    for name, bad in (("batch", 1025), ("lr", 50.0), ("val_fraction", 0.95)):
        with pytest.raises(ConfigError) as info:
            _schema(SimpleNamespace(**{name: bad}), name)
        assert "outside" in str(info.value)
    _schema(SimpleNamespace(batch=1024), "batch")


def test_cli_type_and_schema_agree() -> None:
    import argparse

    from segstudio.cli.options import schema_type

    lr = schema_type("lr")
    assert lr("1e-8") == 1e-8 and lr("1") == 1.0
    for text in ("50", "1e-9", "nan", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            lr(text)
