"""Everything a training run needs before its first step: data, model, loss, optimiser."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, Subset

from segstudio.core.classes import ClassSet
from segstudio.core.problems import report_all
from segstudio.engine.adapt import (
    L2SP,
    WeightAverage,
    freeze_batchnorm,
    param_groups,
    pretrained_names,
)
from segstudio.engine.augment import normalize_batch, train_transform
from segstudio.engine.checkpoint import (
    CheckpointError,
    classes_mismatch,
    load_matching,
    read_checkpoint,
    unwrap,
)
from segstudio.engine.data import (
    DatasetError,
    SegDataset,
    cache_bytes,
    class_stats,
    image_sizes,
    load_source,
    split_samples,
)
from segstudio.engine.device import ExecutionPolicy
from segstudio.engine.distributed import DistInfo
from segstudio.engine.losses import SegmentationLoss, class_weights
from segstudio.engine.schedule import make_optimizer, make_scheduler

VAL_MAX_SIDE = 1024
# With a length in steps, an epoch (a validation point, a checkpoint) is at least this many
# steps: ten reviewed images would otherwise make an epoch of two steps.
MIN_EPOCH_STEPS = 20


@dataclass
class Setup:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    criterion: nn.Module
    policy: ExecutionPolicy
    train_loader: DataLoader
    val_loader: DataLoader | None
    generator: torch.Generator
    sampler: DistributedSampler | None
    steps_per_epoch: int
    classes: ClassSet
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    n_train: int
    n_val: int
    weights_list: list[float] | None
    seed: int
    epochs: int = 1                 # epochs of this run (from `epochs`, or from `steps`)
    total_steps: int = 0
    init_complete: bool = False     # every tensor came from `init` (its metrics compare)
    freeze_bn: bool = False         # batch-norm statistics stay as they started
    l2sp: L2SP | None = None        # pull towards the starting weights
    average: WeightAverage | None = None   # the weights validated and saved
    pretrained: int = 0             # parameters that came from pretrained weights
    fresh: int = 0                  # parameters that start fresh

    @property
    def judged(self) -> nn.Module:
        """The network that validates and is saved: the weight average when there is one."""
        return self.average.model if self.average is not None else self.model

    def steps_in(self, epoch: int) -> int:
        """Optimiser steps of epoch `epoch` (0-based); the last one may be shorter."""
        if epoch < self.epochs - 1:
            return self.steps_per_epoch
        return self.total_steps - self.steps_per_epoch * (self.epochs - 1)

    def __post_init__(self) -> None:
        device = self.policy.device
        self._mean = torch.tensor(self.mean, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.std, device=device).view(1, 3, 1, 1)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 batch -> normalised float on the device in the policy's memory layout."""
        x = normalize_batch(images.to(self.policy.device, non_blocking=True), self._mean, self._std)
        return x.contiguous(memory_format=self.policy.memory_format())

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """One optimiser step; returns the (undetached) loss."""
        x = self.prepare(images)
        y = labels.to(self.policy.device, non_blocking=True).long()
        with self.policy.autocast():
            logits = self.model(x)
        loss = self.criterion(logits, y)
        penalty = self.l2sp.penalty() if self.l2sp is not None else None
        total = loss if penalty is None else loss + penalty
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.average is not None:
            self.average.update(unwrap(self.model))
        return loss  # the data term: what the curve shows, comparable between runs

    def train_mode(self) -> None:
        self.model.train()
        if self.freeze_bn:
            freeze_batchnorm(self.model)

    def reseed_loader(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)


def build_setup(cfg: Any, device: torch.device, policy: ExecutionPolicy, info: DistInfo,
                log: Callable[[str], None]) -> Setup:
    from segstudio.models import build_model, model_info

    mi = model_info(cfg.arch)
    source = load_source(cfg.data, cfg.classes,
                         include_edited=getattr(cfg, "train_edited", False))
    report_all(source.warnings, log, what="folder warnings")
    classes = source.classes
    if cfg.val_dir is not None:
        val_source = load_source(cfg.val_dir, classes)
        train_samples, val_samples = source.samples, val_source.samples
    else:
        train_samples, val_samples = split_samples(source.samples, cfg.val_fraction)
        if val_samples and val_samples == train_samples:
            log("only one image: validating on the training image (metrics show fit only)")
    size = tuple(cfg.size)
    val_hw = (VAL_MAX_SIDE, VAL_MAX_SIDE)
    cache = cfg.cache
    if cache is None:
        need = cache_bytes(train_samples, None) + cache_bytes(val_samples, val_hw)
        cache = need <= cfg.cache_limit
    train_ds = SegDataset(train_samples, classes,
                          train_transform(size, classes.ignore_index, scale=tuple(cfg.scale_range)),
                          cache=cache)
    # Validation at native resolution (what Predictor does), shrunk only beyond VAL_MAX_SIDE.
    val_ds = SegDataset(val_samples, classes, None, cache=cache, max_hw=val_hw) \
        if val_samples else None
    stats = class_stats(train_ds)   # also validates every training label up front
    if stats.pixels.sum() == 0:
        raise DatasetError(source.root, "every training label is void: nothing to learn")
    weights = class_weights(stats, cfg.weighting)
    partial = sum(1 for x in train_samples if x.touched is not None)
    log(f"data {source.root}: {len(train_samples)} training"
        + (f" ({partial} edited: their touched pixels only)" if partial else "")
        + f", {len(val_samples)} validation images, {classes.num_classes} classes"
        + (", cached in memory" if cache else ""))

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.arch, classes.num_classes, pretrained_backbone=cfg.backbone)
    init_complete, fresh = False, {n for n, _ in model.named_parameters()}
    if cfg.init is not None:
        init_complete, fresh = _init_from(model, cfg.init, cfg.arch, classes, log)
    elif cfg.backbone is not None:
        fresh = _fresh_beside_backbone(model)
    pretrained = pretrained_names(model, fresh)
    model.to(device)
    if policy.channels_last:
        model.to(memory_format=torch.channels_last)
    if info.enabled:
        if device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    workers = cfg.workers
    if workers is None:
        # On CPU the cores are busy with the network itself, and cached data is cheap to crop.
        workers = 0 if device.type == "cpu" else min(8, (os.cpu_count() or 1) // info.world)
    generator = torch.Generator()
    sampler = DistributedSampler(train_ds, info.world, info.rank, shuffle=True,
                                 seed=cfg.seed) if info.enabled else None
    loader_kw = {"num_workers": workers, "pin_memory": device.type == "cuda"}
    train_loader = DataLoader(train_ds, batch_size=cfg.batch, shuffle=sampler is None,
                              sampler=sampler, generator=generator, **loader_kw)
    val_loader = None
    if val_ds is not None:
        shard = Subset(val_ds, range(info.rank, len(val_ds), info.world))
        same_size = len(set(image_sizes(val_samples))) == 1
        val_loader = DataLoader(shard, batch_size=cfg.batch if same_size else 1, shuffle=False,
                                **loader_kw)
    steps = len(train_loader)
    if cfg.max_steps is not None:
        steps = min(steps, cfg.max_steps)
    epochs, total = cfg.epochs, steps * cfg.epochs
    if getattr(cfg, "steps", None):
        if cfg.max_steps is None:
            steps = max(steps, MIN_EPOCH_STEPS)
        total = int(cfg.steps)
        epochs = -(-total // steps)

    bare = unwrap(model)
    groups = param_groups(bare, pretrained, cfg.weight_decay, cfg.l2sp > 0)
    optimizer = make_optimizer(groups, cfg.optimizer, cfg.lr, cfg.weight_decay, device)
    scheduler = make_scheduler(optimizer, cfg.schedule, total, warmup=cfg.warmup,
                               group_scale=(1.0, cfg.pretrained_lr),
                               group_hold=(0, cfg.head_steps if fresh else 0))
    l2sp = L2SP(bare, pretrained, cfg.l2sp) if cfg.l2sp > 0 and pretrained else None
    average = WeightAverage(bare, cfg.ema) if cfg.ema > 0 else None
    if pretrained:
        log(f"adapting: {len(pretrained)} pretrained tensors at {cfg.pretrained_lr:g}x the rate"
            + (f" after {cfg.head_steps} head-only steps" if cfg.head_steps and fresh else "")
            + (", batch-norm statistics frozen" if cfg.freeze_bn else "")
            + (f", L2-SP {cfg.l2sp:g}" if l2sp else "")
            + (f", weight average {cfg.ema:g}" if average else ""))
    scaler = torch.amp.GradScaler(device.type, enabled=policy.needs_grad_scaler)
    criterion = SegmentationLoss(classes.ignore_index, weights, dice=cfg.dice).to(device)
    return Setup(model, optimizer, scheduler, scaler, criterion, policy, train_loader,
                 val_loader, generator, sampler, steps, classes, tuple(mi.mean), tuple(mi.std),
                 len(train_samples), len(val_samples),
                 None if weights is None else [round(float(w), 4) for w in weights], cfg.seed,
                 epochs=epochs, total_steps=total, init_complete=init_complete,
                 freeze_bn=cfg.freeze_bn, l2sp=l2sp, average=average,
                 pretrained=len(pretrained), fresh=len(groups[0]["params"]))


def load_comparable(path: Any, classes: ClassSet, device: torch.device,
                    policy: ExecutionPolicy, log: Callable[[str], None]) -> nn.Module | None:
    """A checkpoint's network to measure on the same validation images, or None (with a log
    line) when it cannot be compared: unreadable, or trained on other classes."""
    from segstudio.engine.checkpoint import load_checkpoint

    try:
        model, meta = load_checkpoint(path, device=device)
    except CheckpointError as exc:
        log(f"not comparing with {path}: {exc}")
        return None
    problem = classes_mismatch(classes, meta.classes)
    if problem is not None:
        log(f"not comparing with {path}: {problem}")
        return None
    if policy.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def class_tensors(arch: str, num_classes: int) -> set[str]:
    """Names of `arch`'s tensors whose shape depends on the number of classes (its head),
    found by building it for two class counts on the meta device (no memory, no weights)."""
    from segstudio.models import build_model

    with torch.device("meta"):
        a = build_model(arch, num_classes).state_dict()
        b = build_model(arch, num_classes + 1).state_dict()
    return {k for k, v in a.items() if k not in b or b[k].shape != v.shape}


def _fresh_beside_backbone(model: nn.Module) -> set[str]:
    """Parameters an ImageNet encoder did not provide (models.backbones marks the ones it
    loaded)."""
    from segstudio.models.backbones import is_pretrained

    return {n for n, p in model.named_parameters() if not is_pretrained(p)}


def _init_from(model: nn.Module, path: Any, arch: str, classes: ClassSet,
               log: Callable[[str], None]) -> tuple[bool, set[str]]:
    """Load what fits; (every tensor came from the checkpoint (same classes), the names of
    the parameters left fresh)."""
    tensors, meta = read_checkpoint(path)
    if meta.arch != arch:
        raise CheckpointError(path, f"checkpoint is a {meta.arch!r} network, "
                              f"cannot initialise {arch!r} from it")
    mismatch = classes_mismatch(classes, meta.classes)
    if mismatch is not None:
        # Other classes: the head starts fresh even where its shape fits (the same number of
        # classes, renamed or reordered), or it would start out predicting the wrong ones.
        dependent = class_tensors(arch, classes.num_classes)
        tensors = {k: v for k, v in tensors.items() if k not in dependent}
    left = load_matching(model, tensors)
    params = {n for n, _ in model.named_parameters()}
    fresh = {n for n in left if n in params}
    if mismatch is None and not left:
        log(f"initialised from {path}")
        return True, fresh
    reason = mismatch or "some layers differ"
    loaded = len(model.state_dict()) - len(left)
    log(f"initialised from {path}: {loaded} tensors loaded, {len(left)} re-initialised "
        f"({', '.join(left[:4])}"
        f"{'...' if len(left) > 4 else ''}): {reason}")
    return False, fresh
