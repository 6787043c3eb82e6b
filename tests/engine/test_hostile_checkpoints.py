"""Hostile checkpoints (issue 9, "Checkpoints"): metadata of the wrong shape, non-float or
non-finite weights and broken embedded JSON each give one line naming the file (and the key or
tensor), never an AttributeError or a network that outputs NaN. Nothing is ever unpickled."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from segstudio.core.classes import ClassSet
from segstudio.engine.checkpoint import (
    CheckpointError,
    CheckpointMeta,
    load_checkpoint,
    read_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from segstudio.models import build_model, model_info


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata dict of a valid 3-class ENet checkpoint."""
    torch.manual_seed(0)
    classes = ClassSet(["a", "b", "c"], [(1, 2, 3), (4, 5, 6), (7, 8, 9)])
    info = model_info("enet")
    path = save_checkpoint(build_model("enet", 3), tmp_path_factory.mktemp("ck") / "good",
                           CheckpointMeta("enet", classes, info.mean, info.std,
                                          metrics={"miou": 0.5}, settings={"epochs": 2}))
    tensors, meta = read_checkpoint(path)
    return tensors, meta.to_dict()


def write(folder: Path, tensors: dict, *, embedded: str | None = None,
          sidecar: str | bytes | None = None, name: str = "ck") -> Path:
    weights = folder / f"{name}.safetensors"
    metadata = {"segstudio": embedded} if embedded is not None else None
    weights.write_bytes(st_save(tensors, metadata=metadata))
    if sidecar is not None:
        data = sidecar.encode() if isinstance(sidecar, str) else sidecar
        (folder / f"{name}.json").write_bytes(data)
    return weights


def refused(call, path: Path, *names: str) -> str:
    with pytest.raises(CheckpointError) as err:
        call(path)
    message = str(err.value)
    assert "\n" not in message
    for name in names:
        assert name in message, message
    return message


def with_key(meta: dict, key: str, value) -> str:
    d = dict(meta)
    if value is _DROP:
        d.pop(key)
    else:
        d[key] = value
    return json.dumps(d)


_DROP = object()

# (key changed, new value, what the message must say)
BAD_KEYS = [
    ("mean", [0.5, 0.5], "'mean'"),
    ("mean", [0.5, 0.5, "x"], "'mean'"),
    ("mean", [0.5, 0.5, math.nan], "'mean'"),
    ("mean", _DROP, "'mean'"),
    ("std", [0.2, 0.0, 0.2], "'std'"),
    ("std", [0.2, math.nan, 0.2], "'std'"),
    ("std", [0.2, -1, 0.2], "'std'"),
    ("std", None, "'std'"),
    ("arch", _DROP, "'arch'"),
    ("arch", 5, "'arch'"),
    ("arch", ["enet"], "'arch'"),
    ("classes", _DROP, "'classes'"),
    ("classes", [], "'classes'"),
    ("classes", {"classes": [{"name": "a"}]}, "'classes'"),
    ("train_size", "big", "'train_size'"),
    ("train_size", [0, 480], "'train_size'"),
    ("train_size", [True, 480], "'train_size'"),
    ("metrics", [], "'metrics'"),
    ("settings", 5, "'settings'"),
    ("parent", 3, "'parent'"),
    ("created", {"when": "now"}, "'created'"),
    ("version", 1, "'version'"),
]


@pytest.mark.parametrize("text", ["[]", "null", '"enet"', "[1,2]", "5", "true"])
def test_sidecar_that_is_not_an_object(tmp_path, good, text) -> None:
    path = write(tmp_path, good[0], sidecar=text)
    for call in (read_checkpoint, load_checkpoint, read_checkpoint_meta):
        refused(call, path, "ck.json", "must be a JSON object")


@pytest.mark.parametrize("text", ["[1,2]", "5", "null"])
def test_embedded_metadata_that_is_not_an_object(tmp_path, good, text) -> None:
    path = write(tmp_path, good[0], embedded=text, sidecar=json.dumps(good[1]))
    # The embedded copy is bound to the weights and wins over a good sidecar.
    refused(load_checkpoint, path, "ck.safetensors", "embedded metadata", "JSON object")


@pytest.mark.parametrize(("key", "value", "says"), BAD_KEYS)
def test_bad_metadata_keys_are_named(tmp_path, good, key, value, says) -> None:
    text = with_key(good[1], key, value)
    path = write(tmp_path, good[0], sidecar=text)
    refused(load_checkpoint, path, "ck.json", says)
    path = write(tmp_path, good[0], embedded=text, name="emb")
    refused(read_checkpoint, path, "emb.safetensors", says)


@pytest.mark.parametrize("text", ["{not json", '{"arch": "enet",', "\xff\xfe", "[" * 100_000])
def test_bad_json_says_so_and_not_unreadable_safetensors(tmp_path, good, text) -> None:
    path = write(tmp_path, good[0], embedded=text)
    message = refused(read_checkpoint, path, "ck.safetensors", "embedded metadata")
    assert "not valid JSON" in message and "not a readable" not in message
    path = write(tmp_path, good[0], sidecar=text, name="side")
    assert "not valid JSON" in refused(load_checkpoint, path, "side.json")


def test_huge_sidecar_is_refused_unread(tmp_path, good) -> None:
    path = write(tmp_path, good[0], sidecar=b" " * (17 * 2**20) + b"{}")
    refused(read_checkpoint, path, "ck.json", "too large")


def test_unknown_keys_are_kept_in_settings_and_metrics(tmp_path, good) -> None:
    d = dict(good[1])
    d["settings"] = {**d["settings"], "future_option": {"nested": [1, 2]}}
    d["metrics"] = {**d["metrics"], "boundary_f1": 0.7}
    d["a_key_from_a_newer_segstudio"] = {"anything": True}
    path = write(tmp_path, good[0], embedded=json.dumps(d))
    _, meta = read_checkpoint(path)
    assert meta.settings["future_option"] == {"nested": [1, 2]}
    assert meta.metrics["boundary_f1"] == 0.7 and meta.settings["epochs"] == 2
    assert read_checkpoint_meta(path).metrics == meta.metrics


@pytest.mark.parametrize("dtype", [torch.int8, torch.bool, torch.uint8, torch.complex64])
def test_non_float_weights_are_refused(tmp_path, good, dtype) -> None:
    tensors = dict(good[0])
    name = next(k for k in tensors if k.endswith("conv.weight"))
    tensors[name] = torch.ones_like(tensors[name]).to(dtype)
    path = write(tmp_path, tensors, embedded=json.dumps(good[1]))
    for call in (read_checkpoint, load_checkpoint):
        refused(call, path, "ck.safetensors", name, str(dtype).removeprefix("torch."))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused(tmp_path, good, value) -> None:
    tensors = {k: v.clone() for k, v in good[0].items()}
    name = next(k for k in tensors if k.endswith("running_var"))
    tensors[name][0] = value
    path = write(tmp_path, tensors, embedded=json.dumps(good[1]))
    refused(load_checkpoint, path, "ck.safetensors", name, "NaN or infinite")


def test_save_refuses_non_finite_weights_and_bad_metadata(tmp_path, good) -> None:
    model = build_model("enet", 3)
    meta = CheckpointMeta.from_dict(good[1])
    with torch.no_grad():
        next(iter(model.parameters()))[0] = math.nan
    refused(lambda p: save_checkpoint(model, p, meta), tmp_path / "nan", "nan.safetensors",
            "refusing to save", "NaN")
    model = build_model("enet", 3)
    bad = CheckpointMeta.from_dict(good[1])
    bad.std = (0.2, 0.0, 0.2)
    refused(lambda p: save_checkpoint(model, p, bad), tmp_path / "std", "'std'")
    assert list(tmp_path.iterdir()) == []   # nothing written, no temp files either


def test_zero_std_never_reaches_a_prediction(tmp_path, good) -> None:
    from segstudio.engine.predict import Predictor

    d = dict(good[1], std=[0.0, 0.0, 0.0])
    path = write(tmp_path, good[0], embedded=json.dumps(d))
    refused(Predictor.from_checkpoint, path, "ck.safetensors", "'std'")


def test_wrong_file_kinds(tmp_path, good) -> None:
    (tmp_path / "folder.safetensors").mkdir()
    refused(read_checkpoint, tmp_path / "folder.safetensors", "is a folder")
    (tmp_path / "notes.txt").write_text("hello")
    refused(read_checkpoint_meta, tmp_path / "notes.txt", "notes.txt", "not a checkpoint")
    refused(read_checkpoint, tmp_path / "absent", "absent.safetensors", "not found")
