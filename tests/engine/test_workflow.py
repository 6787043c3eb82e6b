"""The loop's rules, Qt-free: what re-segmentation does per state, which run becomes active,
fine-tune settings per project, stopped runs resumed."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from segstudio.core.project import ImageState, Project
from segstudio.core.sample import make_sample_project
from segstudio.engine.predict import Predictor
from segstudio.engine.workflow import (
    FinetuneSettings,
    active_checkpoint,
    default_finetune,
    finetune_settings,
    model_choices,
    plan_segmentation,
    resumable,
    run_finetune,
    segment_project,
    set_active,
    starting_point,
    unusual_settings,
)
from segstudio.engine.workflow.finetune import DEFAULT_LR, DEFAULT_STEPS, decide

TINY = FinetuneSettings(steps=20, height=48, width=64, batch=4, lr=5e-4, val_fraction=0.3)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_sample_project(tmp_path_factory.mktemp("wf") / "p", count=8, reviewed=6,
                               size=(48, 64), seed=3)


@pytest.fixture
def project(template, tmp_path) -> Project:
    return Project.open(shutil.copytree(template, tmp_path / "p"))


@pytest.fixture(scope="module")
def trained(template, tmp_path_factory):
    """A project copy with one finished run (the active model)."""
    root = shutil.copytree(template, tmp_path_factory.mktemp("trained") / "p")
    p = Project.open(root)
    outcome = run_finetune(p, "enet", replace(TINY, steps=60), device="cpu")
    assert outcome.activated and outcome.record["status"] == "finished"
    return root


def _edit(project, key, value, box):
    e = project.entry(key)
    mask = np.zeros((48, 64), np.uint8)
    if project.has_label(e):
        mask = project.read_label(e)
    touched = np.zeros((48, 64), bool)
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = value
    touched[y0:y1, x0:x1] = True
    project.save_label(e, mask, state=ImageState.EDITED, touched=touched)
    return e


def test_plan_says_what_happens_to_each_state(project) -> None:
    keys = [e.key for e in project.entries]
    project.save_label(project.entry(keys[6]), np.zeros((48, 64), np.uint8),
                       state=ImageState.PREDICTED)
    project.save_label(project.entry(keys[0]), project.read_label(project.entry(keys[0])),
                       state=ImageState.PREDICTED, overwrite_reviewed=True)
    _edit(project, keys[0], 2, (0, 8, 0, 8))
    plan = plan_segmentation(project, replace_reviewed=[keys[1]])
    assert [e.key for e in plan.run] == [keys[0], keys[1], keys[6], keys[7]]
    assert plan.lines() == [
        "1 unlabeled and 1 predicted image(s) get the new prediction",
        "1 edited image(s) keep every pixel you painted; only the rest is re-predicted",
        "1 reviewed image(s) you chose are replaced by the prediction (undo in the app "
        "brings them back)",
        "4 reviewed image(s) are left as they are",
    ]


def test_resegmentation_keeps_edited_pixels_and_reviewed_labels(project, trained) -> None:
    keys = [e.key for e in project.entries]
    reviewed_before = project.read_label(project.entry(keys[2])).copy()
    # An edited image: a predicted label with a corner painted by hand as class 3.
    project.save_label(project.entry(keys[7]), np.zeros((48, 64), np.uint8),
                       state=ImageState.PREDICTED)
    e = _edit(project, keys[7], 3, (0, 10, 0, 12))
    ckpt = active_checkpoint(Project.open(trained))
    predictor = Predictor.from_checkpoint(ckpt, "cpu")
    plan = plan_segmentation(project)
    results = {r.entry.key: r for r in segment_project(project, predictor, plan)}
    assert results[keys[7]].status == "merged"
    assert results[keys[6]].status == "predicted"
    label = project.read_label(e)
    assert (label[0:10, 0:12] == 3).all()                       # the person's pixels
    assert project.state(e) is ImageState.EDITED
    expected = predictor.predict(project.read_image(e))[0]
    np.testing.assert_array_equal(label[10:], expected[10:])   # the rest is the prediction
    np.testing.assert_array_equal(project.read_label(project.entry(keys[2])), reviewed_before)
    assert keys[2] not in results


def test_worse_run_is_kept_but_not_made_active(trained, tmp_path) -> None:
    p = Project.open(shutil.copytree(trained, tmp_path / "w"))
    before = active_checkpoint(p)
    # One huge step wrecks the model: finished, but worse than the active one.
    outcome = run_finetune(p, "enet", replace(TINY, steps=1, lr=0.05), device="cpu")
    rec = outcome.record
    assert rec["status"] == "finished" and not outcome.activated
    assert rec["baseline_miou"] is not None and rec["miou"] < rec["baseline_miou"]
    assert rec["start_miou"] == pytest.approx(rec["baseline_miou"])   # parent = active here
    assert "not made active" in outcome.reason and "below" in outcome.reason
    p2 = Project.open(p.root)
    assert active_checkpoint(p2) == before
    listed = {c.path: c for c in model_choices(p2)}
    worse = listed[p2.checkpoint_path(rec)]
    assert not worse.active and worse.usable and "below" in worse.note
    set_active(p2, worse.path)                                   # the user's say
    assert active_checkpoint(Project.open(p.root)) == worse.path


def test_cancelled_run_is_never_active_and_can_resume(trained, tmp_path) -> None:
    p = Project.open(shutil.copytree(trained, tmp_path / "c"))
    before = active_checkpoint(p)
    epochs = []

    def progress(e):
        if e.kind == "epoch" and e.epoch > 0:
            epochs.append(e.epoch)

    outcome = run_finetune(p, "enet", replace(TINY, steps=60), device="cpu",
                           progress=progress, cancel=lambda: len(epochs) >= 1)
    rec = outcome.record
    assert rec["status"] == "cancelled" and not outcome.activated
    assert active_checkpoint(Project.open(p.root)) == before
    assert resumable(p, rec)
    resumed = run_finetune(p, "enet", resume=rec, device="cpu")
    assert resumed.record["status"] == "finished"
    assert resumed.record["path"] == rec["path"] and resumed.result.epochs_done == 3
    assert not resumable(p, resumed.record)


def test_cancel_before_the_first_epoch_leaves_nothing(project) -> None:
    outcome = run_finetune(project, "enet", TINY, device="cpu", cancel=lambda: True)
    assert not outcome.activated and "nothing was kept" in outcome.reason
    assert Project.open(project.root).checkpoints == []
    assert not any(project.checkpoints_dir.glob("*/best.safetensors"))


def test_decide() -> None:
    assert decide("cancelled", 0.9, 0.1, None).activated is False
    assert decide("diverged", 0.9, None, None).activated is False
    assert decide("finished", 0.5, 0.5, None).activated is True       # equal is enough
    assert decide("finished", 0.49, 0.5, None).activated is False
    assert decide("finished", 0.3, None, None).activated is True      # nothing to compare with
    # Structured: the reason without its head, the figures, and the text the views share.
    v = decide("finished", 0.49, 0.5, None)
    assert v.miou == 0.49 and v.baseline == 0.5 and not v.why.startswith("not made active")
    assert v.text.startswith("not made active: val mIoU 49.0%")


def test_settings_belong_to_the_project(project, tmp_path) -> None:
    d = default_finetune(project)
    assert (d.height, d.width) == (48, 64)      # small images train whole
    assert finetune_settings(project, "enet") == FinetuneSettings.from_dict(
        project.settings["finetune"], d)
    big = make_sample_project(tmp_path / "big", count=2, reviewed=1, size=(600, 800))
    other = Project.open(big)
    other.settings.pop("finetune")
    d2 = default_finetune(other)
    assert (d2.height, d2.width) == (240, 320)  # big ones on crops of their aspect
    assert d2.steps >= DEFAULT_STEPS


def test_unusual_settings_are_named() -> None:
    base = FinetuneSettings()
    assert unusual_settings(base, base) == []
    lines = unusual_settings(replace(base, lr=10 * DEFAULT_LR, steps=DEFAULT_STEPS // 10), base)
    assert lines == [f"learning rate {10 * DEFAULT_LR:g} is 10x the default {DEFAULT_LR:g}",
                     f"length {DEFAULT_STEPS // 10} is 1/10 the default {DEFAULT_STEPS}"]


def test_starting_points(project) -> None:
    enet = starting_point(project, "enet")
    assert enet.init is not None and "shipped ENet" in enet.note and "fresh head" in enet.note
    unet = starting_point(project, "unet_resnet34")
    assert unet.init is None and unet.missing_backbone == "resnet34"
    assert "random initialisation" in unet.note


def test_encoder_networks_start_from_their_imagenet_encoder(project, tmp_path, monkeypatch):
    """LinkNet's fine-tune from scratch uses the ImageNet ResNet18 when it is present (here a
    stand-in file registered the way the weights manager verifies them)."""
    import hashlib

    import torch
    import torchvision

    from segstudio.engine.weights import WeightsEntry, registered

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))   # torch.hub.get_dir() follows it
    assert Path(torch.hub.get_dir()) == tmp_path / "th" / "hub"
    state = torchvision.models.resnet18(weights=None).state_dict()
    blob = tmp_path / "r18.pth"
    torch.save(state, blob)
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    cache = tmp_path / "th" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    name = f"resnet18-{digest[:8]}.pth"
    (cache / name).write_bytes(blob.read_bytes())
    entry = WeightsEntry(name="test-resnet18", file=name, description="test",
                         archs=("linknet",), url="http://127.0.0.1:9/none")
    with registered(entry):
        start = starting_point(project, "linknet")
        assert start.backbone == "test-resnet18" and start.missing_backbone is None
        logs = []
        outcome = run_finetune(project, "linknet", replace(TINY, steps=2), device="cpu",
                               progress=lambda e: logs.append(e.message))
    assert outcome.record["backbone"] == "test-resnet18"
    assert any("from the ImageNet test-resnet18 encoder" in m for m in logs)
    # The recipe's ImageNet case: the encoder's tensors (and only they) learn at the
    # pretrained share of the rate; the decoder starts fresh at the full rate.
    assert outcome.record["start_kind"] == "imagenet"
    adapting = [m for m in logs if m.startswith("adapting: ")]
    assert adapting and "pretrained tensors at 0.3x" in adapting[0]
    n = int(adapting[0].split()[1])
    encoder = sum(1 for k, _ in __import__("segstudio.models", fromlist=["build_model"])
                  .build_model("linknet", 4).named_parameters() if k.startswith("encoder."))
    assert n == encoder
    assert outcome.record["status"] == "finished"


def test_settings_saved_by_an_earlier_segstudio_follow_todays_defaults(project) -> None:
    """Version-1 projects saved the whole panel on each run, defaults included (200 steps,
    no weighting: the values that wrecked a trained model); those read as defaults now, while
    a value the person changed is kept, and a save marks the settings as today's."""
    from segstudio.engine.workflow.finetune import SETTINGS_VERSION, save_finetune_settings

    d = default_finetune(project)
    project.settings["finetune"] = {"steps": 200, "weighting": "none", "lr": 5e-4,
                                    "batch": 4}
    s = finetune_settings(project, "enet")
    assert (s.steps, s.weighting) == (d.steps, "auto")
    assert s.lr == 5e-4                                   # the person's own value
    project.settings["finetune"] = {"steps": 250, "weighting": "median"}
    s = finetune_settings(project, "enet")
    assert (s.steps, s.weighting) == (250, "median")
    # Saved today: "none" and 200 are the person's choice and stay.
    save_finetune_settings(project, replace(d, steps=200, weighting="none"))
    assert project.settings["finetune"]["version"] == SETTINGS_VERSION
    s = finetune_settings(project, "enet")
    assert (s.steps, s.weighting) == (200, "none")
    project.settings["finetune"]["version"] = "two"        # nonsense: read as version 1
    assert finetune_settings(project, "enet").weighting == "auto"
