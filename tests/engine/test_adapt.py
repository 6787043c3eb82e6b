"""Adapting pretrained weights (engine.adapt), the recipe per start (workflow.recipe) and the
verdict's certainty (engine.certainty)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from segstudio.engine.adapt import (
    L2SP,
    WeightAverage,
    freeze_batchnorm,
    param_groups,
    pretrained_names,
)
from segstudio.engine.certainty import block_matrices, miou_of, paired_bootstrap
from segstudio.engine.scale import TrainScale
from segstudio.engine.schedule import make_optimizer, make_scheduler
from segstudio.engine.workflow.recipe import StartKind, recipe_for


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))


def test_groups_split_fresh_from_pretrained_and_decay_only_without_l2sp() -> None:
    net = _net()
    old = pretrained_names(net, fresh={"2.weight", "2.bias"})
    assert old == {"0.weight", "0.bias", "1.weight", "1.bias"}
    fresh, pre = param_groups(net, old, 2e-4, l2sp=True)
    assert len(fresh["params"]) == 2 and len(pre["params"]) == 4
    assert fresh["weight_decay"] == 2e-4 and pre["weight_decay"] == 0.0


def test_schedule_holds_the_body_then_warms_it_up_at_its_share() -> None:
    net = _net()
    groups = param_groups(net, pretrained_names(net, {"2.weight", "2.bias"}), 0, False)
    opt = make_optimizer(groups, "adam", 1e-3, device=torch.device("cpu"))
    sched = make_scheduler(opt, "constant", 100, warmup=10, group_scale=(1.0, 0.3),
                           group_hold=(0, 20))
    lrs = []
    for _ in range(40):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    assert lrs[0][1] == 0 and lrs[19][1] == 0              # the body waits for the head
    assert lrs[9][0] == pytest.approx(1e-3)                # the head warmed up in 10 steps
    assert lrs[20][1] == pytest.approx(0.3e-3 / 10)        # then the body's own warm-up
    assert lrs[30][1] == pytest.approx(0.3e-3)


def test_frozen_batchnorm_keeps_its_statistics() -> None:
    net = _net()
    before = net[1].running_mean.clone()
    net.train()
    assert freeze_batchnorm(net) == 1
    net(torch.randn(2, 3, 8, 8) * 5 + 3)
    assert torch.equal(net[1].running_mean, before)


def test_l2sp_is_zero_at_the_start_and_grows_with_distance() -> None:
    net = _net()
    reg = L2SP(net, {"0.weight"}, alpha=0.5)
    assert float(reg.penalty().detach()) == 0
    with torch.no_grad():
        net[0].weight.add_(1.0)
    assert float(reg.penalty().detach()) == pytest.approx(0.5 * 0.5 * net[0].weight.numel())


def test_weight_average_trails_the_weights() -> None:
    net = _net()
    avg = WeightAverage(net, 0.9)
    start = net[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.add_(1.0)
    for _ in range(50):
        avg.update(net)
    got = avg.model[0].weight
    assert torch.all(got > start) and torch.all(got <= net[0].weight + 1e-6)
    assert not any(p.requires_grad for p in avg.model.parameters())


def test_recipe_follows_the_start() -> None:
    fit = recipe_for(StartKind.FITTING, 400, "auto", parent_settings={"weighting": "enet"})
    assert fit.options.freeze_bn and fit.options.pretrained_lr < 1 and fit.options.ema > 0
    assert fit.options.warmup == 40 and fit.options.head_steps == 0
    assert fit.weighting == "enet"                       # the parent's calibration kept
    head = recipe_for(StartKind.FRESH_HEAD, 400, "auto", parent_settings={"weighting": "enet"})
    assert head.options.head_steps == 60
    assert recipe_for(StartKind.FITTING, 400, "median").weighting == "median"  # the user's
    scratch = recipe_for(StartKind.SCRATCH, 400, "auto")
    assert scratch.options.pretrained_lr == 1 and not scratch.options.freeze_bn
    assert scratch.weighting == "none"
    for r in (fit, head, scratch):
        assert r.describe()


def test_crops_follow_the_parents_scale_without_compounding() -> None:
    parent = TrainScale((360, 480), (0.5, 2.0))
    same = recipe_for(StartKind.FITTING, 100, "none", parent_scale=parent,
                      image_size=(360, 480))
    assert same.scale_range == (0.5, 2.0) and same.scale_note == ""
    big = recipe_for(StartKind.FITTING, 100, "none", parent_scale=parent,
                     image_size=(1080, 1440))
    assert big.scale_range == pytest.approx((1 / 6, 2 / 3)) and "0.33x" in big.scale_note
    # The child records its own images with that range (its frame is the parent's); its
    # child on the same images gets the same range, not the factor twice.
    child = TrainScale((1080, 1440), big.scale_range)
    assert child.frame == parent.frame
    again = recipe_for(StartKind.FITTING, 100, "none", parent_scale=child,
                       image_size=(1080, 1440))
    assert again.scale_range == pytest.approx(big.scale_range)
    tiny = recipe_for(StartKind.FITTING, 100, "none", parent_scale=parent, image_size=(8, 8))
    assert tiny.scale_range == pytest.approx((2.0, 8.0))    # capped at 4x


def test_block_matrices_sum_to_the_image_matrix() -> None:
    rng = np.random.default_rng(0)
    pred, target = rng.integers(0, 3, (20, 30)), rng.integers(0, 4, (20, 30))
    blocks = block_matrices(pred, target, 3, ignore_index=3)
    assert blocks.shape == (16, 3, 3)
    assert blocks.sum() == int((target != 3).sum())


def test_bootstrap_is_sure_of_a_clear_gain_and_unsure_of_noise() -> None:
    rng = np.random.default_rng(1)
    target = [rng.integers(0, 3, (16, 16)) for _ in range(8)]

    def blocks(flip: float, seed: int):
        r = np.random.default_rng(seed)
        out = []
        for t in target:
            p = np.where(r.random(t.shape) < flip, (t + 1) % 3, t)
            out.append(block_matrices(p, t, 3, ignore_index=255))
        return np.stack(out)

    good, bad = blocks(0.1, 2), blocks(0.4, 3)
    c = paired_bootstrap(good, bad)
    assert c.delta > 0 and c.low > 0 and c.p_better > 0.99 and c.unit == "images"
    same = paired_bootstrap(blocks(0.3, 4), blocks(0.3, 5))
    assert same.low < 0 < same.high
    assert "interval" in c.describe()
    few = paired_bootstrap(good[:2], bad[:2])
    assert few.unit == "blocks" and "too few images" in few.describe()
    assert paired_bootstrap(good[:0], bad[:0]) is None
    assert miou_of(good.sum((0, 1))) == pytest.approx(c.delta + miou_of(bad.sum((0, 1))))
