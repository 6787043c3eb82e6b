"""What a training run is given, reports and returns (re-exported by `engine.train`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from segstudio.core.classes import ClassSet
from segstudio.engine.scale import DEFAULT_RANGE

# The resumable state train writes beside best.* and last.* in out_dir (engine.train_state
# is its format). Here, torch-free, so validate_config and the workflow can name it without
# importing torch or the training loop.
STATE_FILE = "train_state.safetensors"


@dataclass
class TrainConfig:
    arch: str
    data: Any                                  # Project or folder (images/ + labels/)
    out_dir: Path
    epochs: int = 30
    size: tuple[int, int] = (360, 480)         # (H, W) training crops and validation size
    batch: int = 8
    lr: float = 5e-4
    weighting: str = "none"                    # "none" | "median" | "enet"
    dice: bool = False
    init: Path | None = None                   # start from this checkpoint
    val_fraction: float = 0.1
    val_dir: Path | None = None                # a separate validation folder/project
    seed: int = 0
    patience: int | None = None                # early stopping after N epochs without gain
    resume: bool = False                       # continue from out_dir's training state
    device: str | None = None
    workers: int | None = None                 # DataLoader processes (None: 0 on CPU)
    optimizer: str = "adam"                    # "adam" | "adamw"
    schedule: str = "poly"                     # "poly" | "cosine" | "constant"
    weight_decay: float = 2e-4
    classes: ClassSet | None = None            # override the data's class set
    backbone: str | Path | None = None         # ImageNet backbone weights for new models
    cache: bool | None = None                  # keep decoded data in RAM (None: when it fits)
    cache_limit: int = 4 * 2**30
    event_interval: float = 0.2                # seconds between "step" events
    max_steps: int | None = None               # cap steps per epoch (smoke runs, benchmarks)
    # Length in optimiser steps instead of epochs (tiny sets: 10 images are 2 steps an
    # epoch); an epoch is then at least MIN_EPOCH_STEPS steps, cycling through the data.
    steps: int | None = None
    train_edited: bool = True                  # EDITED images train on their touched pixels
    # A checkpoint measured on the validation images before training (epoch 0), beside the
    # starting weights: the model the user relies on, to compare the new one with.
    compare_to: Path | None = None
    # Adapting pretrained weights (engine.adapt; chosen by engine.workflow.recipe from where
    # the run starts). The defaults train every layer alike, as a run from scratch.
    pretrained_lr: float = 1.0                 # rate of pretrained layers, a fraction of lr
    warmup: int = 0                            # steps of linear warm-up of the rate
    freeze_bn: bool = False                    # keep batch-norm statistics as they start
    l2sp: float = 0.0                          # penalty on the distance from the start
    ema: float = 0.0                           # decay of the validated weight average
    head_steps: int = 0                        # first steps in which only fresh layers learn
    scale_range: tuple[float, float] = DEFAULT_RANGE  # random scale of the training crops

    def settings(self) -> dict[str, Any]:
        """JSON-able record of how a checkpoint was trained (for its sidecar)."""
        # Not asdict(): it would deep-copy `data`, which may be a live Project (with a lock).
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "classes"}
        if not isinstance(self.data, str | Path):
            d["data"] = self.data.root   # a Project
        for key in ("data", "out_dir", "init", "val_dir", "backbone", "compare_to"):
            d[key] = None if d[key] is None else str(d[key])
        d["size"] = list(self.size)
        d["scale_range"] = list(self.scale_range)
        return d


@dataclass
class TrainEvent:
    kind: str                                  # "step" | "epoch" | "done" | "log"
    epoch: int = 0                             # 1-based
    epochs: int = 0
    step: int = 0                              # 1-based within the epoch
    steps: int = 0
    loss: float | None = None                  # running mean of this epoch's training loss
    lr: float | None = None
    metrics: dict | None = None                # validation metrics ("epoch" and "done")
    eta_s: float | None = None
    message: str = ""


@dataclass
class TrainResult:
    best: Path | None
    last: Path | None
    metrics: dict = field(default_factory=dict)   # the best epoch's metrics
    best_epoch: int = 0
    epochs_done: int = 0
    cancelled: bool = False
    stopped_early: bool = False
    seconds: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)   # training phase of each epoch
    train_images: int = 0
    diverged: bool = False                        # stopped: the loss became NaN or infinite
    message: str = ""                             # why it stopped, when it did not finish
    start_metrics: dict | None = None             # the starting weights on the val images
    baseline_metrics: dict | None = None          # `compare_to` on the same images
    certainty: Any = None                         # engine.certainty.Certainty of best - baseline

    @property
    def status(self) -> str:
        """finished | cancelled | diverged (what a run record says)."""
        if self.diverged:
            return "diverged"
        return "cancelled" if self.cancelled else "finished"
