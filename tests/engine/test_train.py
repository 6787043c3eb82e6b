import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core.errors import LabelError, ProjectError
from segstudio.engine.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from segstudio.engine.data import DatasetError
from segstudio.engine.train import judge, should_stop, train


def _run(config, cancel_when=None):
    """Train, collecting events; `cancel_when(events)` is polled as the cancel flag."""
    events = []
    cancel = None if cancel_when is None else (lambda: cancel_when(events))
    result = train(config, progress=events.append, cancel=cancel)
    return result, events


def test_one_epoch_writes_best_and_last(sample_project, tmp_path, tiny_config):
    result, events = _run(tiny_config(sample_project, tmp_path))
    assert result.best == tmp_path / "best.safetensors" and result.best.is_file()
    assert result.last == tmp_path / "last.safetensors"
    meta = json.loads((tmp_path / "best.json").read_text())
    assert meta["metrics"]["epoch"] == 1 and set(meta["metrics"]["iou"]) == {
        "sky", "ground", "disc", "box"}
    assert 0 <= meta["metrics"]["pixel_accuracy"] <= 1
    # 6 reviewed images: 3 validate (engine.data.MIN_VAL_IMAGES), 3 train.
    assert meta["settings"]["size"] == [32, 48] and meta["settings"]["train_images"] == 3
    assert meta["settings"]["data"] == str(sample_project)
    kinds = [e.kind for e in events]
    assert kinds[0] == "log" and kinds[-1] == "done" and "epoch" in kinds
    steps = [e for e in events if e.kind == "step"]
    assert [e.step for e in steps] == [1] and all(e.steps == 1 for e in steps)
    assert all(e.lr > 0 and e.loss > 0 and e.eta_s is not None for e in steps)
    epoch = next(e for e in events if e.kind == "epoch")
    assert epoch.metrics["miou"] is not None and epoch.eta_s == 0
    model, _ = load_checkpoint(result.best)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_a_project_object_trains_too(sample_project, tmp_path, tiny_config):
    from segstudio.core.project import Project

    project = Project.open(sample_project)
    result, _ = _run(tiny_config(project, tmp_path, max_steps=1))
    meta = json.loads((tmp_path / "last.json").read_text())
    assert result.epochs_done == 1 and meta["settings"]["data"] == str(project.root)
    assert meta["settings"]["max_steps"] == 1


def test_seeded_runs_repeat_exactly(sample_project, tmp_path, tiny_config):
    losses = []
    for name in ("a", "b"):
        _, events = _run(tiny_config(sample_project, tmp_path / name, seed=3))
        losses.append([e.loss for e in events if e.kind == "step"])
    assert losses[0] == losses[1] and len(losses[0]) == 1
    wa, _ = read_checkpoint(tmp_path / "a" / "last")
    wb, _ = read_checkpoint(tmp_path / "b" / "last")
    assert all(np.array_equal(wa[k].numpy(), wb[k].numpy()) for k in wa)


def test_resume_continues_to_the_same_weights(sample_project, tmp_path, tiny_config):
    straight, _ = _run(tiny_config(sample_project, tmp_path / "s", epochs=2))
    first, _ = _run(tiny_config(sample_project, tmp_path / "r", epochs=2),
                    cancel_when=lambda events: any(e.kind == "epoch" for e in events))
    assert first.cancelled and first.epochs_done == 1
    resumed, events = _run(tiny_config(sample_project, tmp_path / "r", epochs=2, resume=True))
    assert any("resumed" in e.message for e in events if e.kind == "log")
    assert resumed.epochs_done == 2 and not resumed.cancelled
    ws, _ = read_checkpoint(straight.last)
    wr, _ = read_checkpoint(resumed.last)
    assert all(np.array_equal(ws[k].numpy(), wr[k].numpy()) for k in ws)


def test_cancel_keeps_last_good_checkpoint(sample_project, tmp_path, tiny_config):
    _run(tiny_config(sample_project, tmp_path))
    before = (tmp_path / "last.safetensors").read_bytes()
    # Let one step of the next epoch run, then stop mid-epoch.
    result, events = _run(tiny_config(sample_project, tmp_path, epochs=3, resume=True),
                          cancel_when=lambda events: any(e.kind == "step" for e in events))
    assert result.cancelled and events[-1].message == "cancelled"
    assert (tmp_path / "last.safetensors").read_bytes() == before
    load_checkpoint(tmp_path / "last.safetensors")


def test_init_with_other_classes_reinitialises_the_head(sample_project, tmp_path, tiny_config):
    from segstudio.core.classes import ClassSet
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model

    other = ClassSet(names=["a", "b"], colors=[(1, 2, 3), (4, 5, 6)], ignore_index=255)
    save_checkpoint(build_model("enet", 2), tmp_path / "other",
                    CheckpointMeta("enet", other, (0.5,) * 3, (0.25,) * 3))
    _, events = _run(tiny_config(sample_project, tmp_path / "out",
                                 init=tmp_path / "other.safetensors"))
    logs = " ".join(e.message for e in events if e.kind == "log")
    assert "re-initialised" in logs and "classes differ" in logs
    meta = json.loads((tmp_path / "out" / "best.json").read_text())
    assert meta["parent"].endswith("other.safetensors")


def test_init_from_another_architecture_is_refused(sample_project, tmp_path, tiny_config):
    from segstudio.core.classes import ClassSet
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model

    classes = ClassSet(names=["a", "b"], colors=[(1, 2, 3), (4, 5, 6)], ignore_index=255)
    save_checkpoint(build_model("linknet", 2), tmp_path / "ln",
                    CheckpointMeta("linknet", classes, (0.5,) * 3, (0.25,) * 3))
    with pytest.raises(CheckpointError, match="'linknet' network, cannot initialise 'enet'"):
        train(tiny_config(sample_project, tmp_path / "o", init=tmp_path / "ln.safetensors"))


def test_early_stopping_rule():
    best, bad, stops = float("-inf"), 0, []
    for score in [0.1, 0.3, 0.2, 0.25, 0.4, 0.1, 0.1]:
        improved, bad = judge(score, best, bad)
        best = max(best, score) if improved else best
        stops.append(should_stop(bad, 2))
    assert stops == [False, False, False, True, False, False, True]
    assert not should_stop(100, None)


def _folder(tmp_path, n=3, value=1):
    (tmp_path / "images").mkdir(parents=True)
    (tmp_path / "labels").mkdir()
    for i in range(n):
        image = np.full((40, 40, 3), 50 * i, np.uint8)
        Image.fromarray(image).save(tmp_path / "images" / f"{i}.png")
        Image.fromarray(np.full((40, 40), value, np.uint8)).save(tmp_path / "labels" / f"{i}.png")
    return tmp_path


def test_bad_data_is_refused_with_clear_errors(tmp_path, tiny_config):
    (tmp_path / "empty" / "images").mkdir(parents=True)
    with pytest.raises(DatasetError, match="empty dataset"):
        train(tiny_config(tmp_path / "empty", tmp_path / "o1"))
    plain = tmp_path / "plain"
    plain.mkdir()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(plain / "a.png")
    with pytest.raises(ProjectError, match="no reviewed images"):
        train(tiny_config(plain, tmp_path / "o2"))
    # The default class set (background, object) has no class 7.
    bad = _folder(tmp_path / "bad", value=7)
    with pytest.raises(LabelError, match="7"):
        train(tiny_config(bad, tmp_path / "o3"))
