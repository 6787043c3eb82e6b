"""Training settings are checked before any work (issue 9, "Arguments"): each bad value is one
line naming the option, raised by `train()` itself (so the GUI is covered) before data is read,
a device is picked or anything is written."""

from __future__ import annotations

import math
import os
import time

import pytest

from segstudio.core.errors import SegstudioError
from segstudio.engine import train as train_module
from segstudio.engine.checkpoint import CheckpointError
from segstudio.engine.train import train
from segstudio.engine.train_validate import ConfigError, validate_config

BAD = [
    ("lr", math.nan, "--lr"), ("lr", -1.0, "--lr"), ("lr", math.inf, "--lr"), ("lr", 0, "--lr"),
    ("lr", "0.1", "--lr"),
    ("weight_decay", math.nan, "--weight-decay"), ("weight_decay", -1.0, "--weight-decay"),
    ("workers", -5, "--workers"), ("workers", 10**6, "--workers"),
    ("seed", 2**64, "--seed"), ("seed", -1, "--seed"), ("seed", 1.5, "--seed"),
    ("val_fraction", 1.0, "--val-fraction"), ("val_fraction", -0.1, "--val-fraction"),
    ("val_fraction", math.nan, "--val-fraction"),
    ("batch", 0, "--batch"), ("batch", True, "--batch"),
    ("size", (10, 10), "--size"), ("size", (100_000, 100_000), "--size"), ("size", "big", "--size"),
    ("patience", 0, "--patience"),
    ("epochs", 0, "--epochs"), ("epochs", 1e30, "--epochs"),
    ("optimizer", "sgd", "--optimizer"), ("schedule", "step", "--schedule"),
    ("weighting", "inverse", "--weighting"),
    ("arch", "resnet9000", "--arch"),
    ("max_steps", 0, "max_steps"), ("event_interval", math.nan, "event_interval"),
    ("dice", "yes", "--dice"), ("cache", "no", "cache"),
    ("backbone", "imagenet", "--backbone"),     # ENet has no ImageNet backbone
    ("val_dir", "/nonexistent/val", "--val"), ("data", "/nonexistent/data", "DATA"),
]


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if training gets as far as picking a device or reading data."""
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the settings were checked")

    monkeypatch.setattr(train_module, "select_device", forbidden)
    monkeypatch.setattr(train_module, "build_setup", forbidden)


def _refused(config, error=ConfigError) -> str:
    t0 = time.perf_counter()
    with pytest.raises(error) as err:
        train(config)
    assert time.perf_counter() - t0 < 5.0
    message = str(err.value)
    assert "\n" not in message and isinstance(err.value, SegstudioError)
    return message


@pytest.mark.parametrize(("field", "value", "option"), BAD)
def test_bad_setting_is_refused_before_any_work(sample_project, tmp_path, tiny_config, no_work,
                                                field, value, option) -> None:
    out = tmp_path / "out"
    data = value if field == "data" else sample_project
    extra = {} if field == "data" else {field: value}
    message = _refused(tiny_config(data, out, **extra))
    assert message.startswith(f"{option}:"), message
    assert not out.exists()


def test_out_pointing_at_a_file(sample_project, tmp_path, tiny_config, no_work) -> None:
    target = tmp_path / "results.txt"
    target.write_text("precious")
    assert "is a file" in _refused(tiny_config(sample_project, target))
    assert "which is a file" in _refused(tiny_config(sample_project, target / "sub"))
    assert target.read_text() == "precious"


def test_read_only_out(sample_project, tmp_path, tiny_config, no_work) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert "read-only" in _refused(tiny_config(sample_project, ro))
        assert "read-only" in _refused(tiny_config(sample_project, ro / "new"))
        assert os.listdir(ro) == []
    finally:
        ro.chmod(0o755)


def test_resume_with_nothing_saved_is_an_error(sample_project, tmp_path, tiny_config,
                                               no_work) -> None:
    message = _refused(tiny_config(sample_project, tmp_path / "run", resume=True))
    assert message.startswith("--resume:") and "train_state.safetensors" in message
    assert not (tmp_path / "run").exists()


def test_resume_from_an_unreadable_or_foreign_state(sample_project, tmp_path, tiny_config,
                                                    no_work) -> None:
    import torch
    from safetensors.torch import save as st_save

    run = tmp_path / "run"
    run.mkdir()
    (run / "train_state.safetensors").write_bytes(b"junk")
    message = _refused(tiny_config(sample_project, run, resume=True), CheckpointError)
    assert "train_state.safetensors" in message and "cannot resume" in message
    foreign = '{"info": {"arch": "segnet"}, "param_groups": [], "plain_state": {}}'
    (run / "train_state.safetensors").write_bytes(
        st_save({"x": torch.zeros(1)}, metadata={"segstudio_train_state": foreign}))
    assert "'segnet'" in _refused(tiny_config(sample_project, run, resume=True), CheckpointError)


def test_init_that_is_not_a_checkpoint(sample_project, tmp_path, tiny_config, no_work) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    message = _refused(tiny_config(sample_project, tmp_path / "o", init=junk), CheckpointError)
    assert "junk.safetensors" in message
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    assert "not a checkpoint" in _refused(tiny_config(sample_project, tmp_path / "o", init=notes),
                                          CheckpointError)


def test_init_of_another_architecture(sample_project, tmp_path, tiny_config, no_work) -> None:
    from segstudio.core.classes import default_classes
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model, model_info

    info = model_info("linknet")
    path = save_checkpoint(build_model("linknet", 2), tmp_path / "ln",
                           CheckpointMeta("linknet", default_classes(), info.mean, info.std))
    message = _refused(tiny_config(sample_project, tmp_path / "o", init=path), CheckpointError)
    assert "'linknet'" in message and "ln.safetensors" in message


def test_good_settings_pass(sample_project, tmp_path, tiny_config) -> None:
    validate_config(tiny_config(sample_project, tmp_path / "new" / "run", seed=2**63 - 1,
                                workers=0, patience=3, val_fraction=0.0, weight_decay=0.0))


def test_init_with_nan_weights_is_refused_before_any_work(sample_project, tmp_path, tiny_config,
                                                          no_work) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    from segstudio.core.classes import default_classes
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model, model_info

    info = model_info("enet")
    path = save_checkpoint(build_model("enet", 2), tmp_path / "ck",
                           CheckpointMeta("enet", default_classes(), info.mean, info.std))
    tensors = load_file(path)
    name = next(k for k in tensors if k.endswith("weight"))
    tensors[name].view(-1)[0] = torch.nan
    save_file(tensors, path)  # no embedded metadata now: the sidecar (still valid) is used
    message = _refused(tiny_config(sample_project, tmp_path / "o", init=path), CheckpointError)
    assert "ck.safetensors" in message and name in message and "NaN" in message


def test_training_says_which_folders_it_left_out(sample_project, tmp_path, tiny_config) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(sample_project, data)
    (tmp_path / "elsewhere").mkdir()
    (data / "images" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    events = []
    train(tiny_config(data, tmp_path / "out", max_steps=1), progress=events.append)
    logs = [e.message for e in events if e.kind == "log"]
    assert sum("linked" in m and "not followed" in m for m in logs) == 1, logs
