import json

import pytest
import torch

from segstudio.core.classes import ClassSet, builtin_classes
from segstudio.engine.checkpoint import (
    CheckpointError,
    CheckpointMeta,
    classes_mismatch,
    default_checkpoint,
    load_checkpoint,
    load_matching,
    read_checkpoint,
    save_checkpoint,
)
from segstudio.models import build_model, model_info


def _meta(classes: ClassSet, arch: str = "enet") -> CheckpointMeta:
    info = model_info(arch)
    return CheckpointMeta(arch=arch, classes=classes, mean=info.mean, std=info.std,
                          train_size=(32, 48), metrics={"miou": 0.5},
                          settings={"epochs": 3}, parent=None)


def _classes(n: int) -> ClassSet:
    return ClassSet(names=[f"c{i}" for i in range(n)],
                    colors=[(10 * i, 20, 30) for i in range(n)], ignore_index=255)


def test_round_trip_writes_weights_and_sidecar(tmp_path):
    torch.manual_seed(0)
    model = build_model("enet", 3).eval()
    path = save_checkpoint(model, tmp_path / "m", _meta(_classes(3)))
    assert path == tmp_path / "m.safetensors"
    sidecar = json.loads((tmp_path / "m.json").read_text())
    assert sidecar["arch"] == "enet" and sidecar["train_size"] == [32, 48]
    assert [c["name"] for c in sidecar["classes"]["classes"]] == ["c0", "c1", "c2"]
    assert {"mean", "std", "metrics", "settings", "parent", "created", "version"} <= set(sidecar)
    loaded, meta = load_checkpoint(tmp_path / "m.json")
    assert meta.classes.names == ["c0", "c1", "c2"] and meta.metrics == {"miou": 0.5}
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(),
                              strict=True):
        assert torch.equal(a, b), k
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), loaded(x))


def test_lost_sidecar_still_loads_from_embedded_metadata(tmp_path):
    save_checkpoint(build_model("enet", 2), tmp_path / "m", _meta(_classes(2)))
    (tmp_path / "m.json").unlink()
    _, meta = load_checkpoint(tmp_path / "m.safetensors")
    assert meta.arch == "enet" and meta.classes.num_classes == 2


def test_other_architecture_is_refused(tmp_path):
    save_checkpoint(build_model("enet", 2), tmp_path / "m", _meta(_classes(2)))
    with pytest.raises(CheckpointError, match="'enet' network, expected 'segnet'") as err:
        load_checkpoint(tmp_path / "m.safetensors", arch="segnet")
    assert "m.safetensors" in str(err.value) and "\n" not in str(err.value)


def test_weights_that_do_not_fit_the_classes(tmp_path):
    save_checkpoint(build_model("enet", 2), tmp_path / "m", _meta(_classes(5)))
    with pytest.raises(CheckpointError, match="do not fit enet with 5 classes: shape"):
        load_checkpoint(tmp_path / "m")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"\xff" * 64])
def test_corrupt_or_missing_file(tmp_path, content):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"bad\.safetensors: not a readable"):
        read_checkpoint(bad)
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "absent.safetensors")


def test_a_pickle_is_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("unpickled a user's file",))

    pickled = tmp_path / "evil.safetensors"
    torch.save({"weights": Boom()}, pickled)
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(pickled)


def test_load_matching_reinitialises_only_the_head(tmp_path):
    source = build_model("enet", 11)
    target = build_model("enet", 4)
    left = load_matching(target, source.state_dict())
    assert left and len(left) <= 4
    own = target.state_dict()
    for k, v in source.state_dict().items():
        if k not in left:
            assert torch.equal(own[k], v)


def test_classes_mismatch_says_what_differs():
    camvid = builtin_classes("camvid")
    assert classes_mismatch(camvid, camvid.copy()) is None
    assert "checkpoint has 2" in classes_mismatch(camvid, _classes(2))


def test_default_checkpoint_location():
    path = default_checkpoint()
    assert path.name == "enet_camvid.safetensors" and path.parent.name == "models"
    if not path.exists():
        pytest.skip(f"default model not shipped yet at {path}")
    model, meta = load_checkpoint(path)
    assert meta.arch == "enet" and meta.classes.num_classes == 11
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 11, 64, 64)
    assert meta.metrics.get("miou") is not None
