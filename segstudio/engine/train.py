"""Fine-tuning: the same loop for the GUI (progress callback + cancel flag), the CLI and torchrun.

Per epoch: train, validate (confusion matrix -> mIoU, per-class IoU, pixel accuracy), write
`last` and, when validation improved, `best` (atomic safetensors + JSON sidecar), then the
resumable state. Rank 0 alone writes and reports under DistributedDataParallel.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from segstudio.core.classes import ClassSet
from segstudio.engine import distributed as dist_utils
from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint, unwrap
from segstudio.engine.device import device_name, execution_policy, select_device
from segstudio.engine.metrics import ConfusionMatrix
from segstudio.engine.scale import train_scale_of
from segstudio.engine.train_setup import Setup, build_setup
from segstudio.engine.train_state import load_train_state, save_train_state

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

    def settings(self) -> dict[str, Any]:
        """JSON-able record of how a checkpoint was trained (for its sidecar)."""
        # Not asdict(): it would deep-copy `data`, which may be a live Project (with a lock).
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "classes"}
        if not isinstance(self.data, str | Path):
            d["data"] = self.data.root   # a Project
        for key in ("data", "out_dir", "init", "val_dir", "backbone"):
            d[key] = None if d[key] is None else str(d[key])
        d["size"] = list(self.size)
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


def train(config: TrainConfig, *, progress: Callable[[TrainEvent], None] | None = None,
          cancel: Callable[[], bool] | None = None) -> TrainResult:
    """Train as configured; returns where the checkpoints are and the best metrics."""
    device = select_device(config.device)
    info = dist_utils.env_info()
    device = dist_utils.process_device(device, info)
    info = dist_utils.setup(device)
    try:
        return _Trainer(config, device, info, progress, cancel).run()
    finally:
        dist_utils.teardown()


def judge(score: float, best: float, bad_epochs: int) -> tuple[bool, int]:
    """(improved, epochs without improvement) after an epoch scoring `score`."""
    return (True, 0) if score > best else (False, bad_epochs + 1)


def should_stop(bad_epochs: int, patience: int | None) -> bool:
    return patience is not None and bad_epochs >= patience


class _Trainer:
    def __init__(self, config: TrainConfig, device: torch.device, info: dist_utils.DistInfo,
                 progress, cancel) -> None:
        self.config = config
        self.device = device
        self.info = info
        self.policy = execution_policy(device)
        self._progress = progress if info.main else None
        self.cancel = cancel
        self.out_dir = Path(config.out_dir)
        self.start_time = time.perf_counter()
        self.step_time = 0.0       # seconds of training steps so far (this run)
        self.steps_timed = 0
        self.val_time: float | None = None

    def emit(self, kind: str, **kw) -> None:
        if self._progress is not None:
            self._progress(TrainEvent(kind, epochs=self.config.epochs, **kw))

    def log(self, message: str) -> None:
        self.emit("log", message=message)

    # -- orchestration ---------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.config
        if cfg.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {cfg.epochs}")
        torch.manual_seed(cfg.seed)
        s: Setup = build_setup(cfg, self.device, self.policy, self.info, self.log)
        self.s = s
        result = TrainResult(best=None, last=None)
        best_score, bad_epochs, start_epoch = -math.inf, 0, 0
        state_path = self.out_dir / STATE_FILE
        if cfg.resume and state_path.is_file():
            saved = load_train_state(state_path, s.model, s.optimizer)
            self._check_resume(saved, state_path)
            start_epoch = saved["epoch"]
            best_score, bad_epochs = saved["best_score"], saved["bad_epochs"]
            result.best_epoch, result.metrics = saved["best_epoch"], saved["best_metrics"]
            s.scheduler.load_state_dict(saved["scheduler"])
            if saved.get("scaler"):
                s.scaler.load_state_dict(saved["scaler"])
            self.log(f"resumed from {state_path} after epoch {start_epoch}")
        elif cfg.resume:
            self.log(f"nothing to resume in {self.out_dir}; starting from scratch")
        result.train_images = s.n_train
        for epoch in range(start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            loss = self.train_epoch(epoch)
            result.epoch_seconds.append(time.perf_counter() - t0)
            if loss is None:
                result.cancelled = True
                break
            metrics = self.validate(epoch)
            if metrics is None:
                result.cancelled = True
                break
            metrics["train_loss"] = loss
            metrics["epoch"] = epoch + 1
            score = metrics["miou"] if metrics.get("miou") is not None else -loss
            improved, bad_epochs = judge(score, best_score, bad_epochs)
            if improved:
                best_score = score
                result.best_epoch, result.metrics = epoch + 1, metrics
            if self.info.main:
                self.save(epoch, metrics, improved, best_score, bad_epochs, result)
            dist_utils.barrier()
            result.epochs_done = epoch + 1
            self.emit("epoch", epoch=epoch + 1, loss=loss, lr=self.lr(), metrics=metrics,
                      eta_s=self.eta(epoch + 1, 0))
            if should_stop(bad_epochs, cfg.patience) and epoch + 1 < cfg.epochs:
                result.stopped_early = True
                self.log(f"early stop: no gain for {bad_epochs} epochs")
                break
        result.best, result.last = self._existing("best"), self._existing("last")
        result.seconds = time.perf_counter() - self.start_time
        self.emit("done", epoch=result.epochs_done, metrics=result.metrics,
                  message="cancelled" if result.cancelled else "finished")
        return result

    def _existing(self, stem: str) -> Path | None:
        path = self.out_dir / f"{stem}.safetensors"
        return path if path.is_file() else None

    def _check_resume(self, saved: dict, path: Path) -> None:
        from segstudio.engine.checkpoint import CheckpointError

        if saved.get("arch") != self.config.arch or saved.get("classes") != self.s.classes.names:
            raise CheckpointError(path, f"cannot resume: state is for {saved.get('arch')} with "
                                  f"classes {saved.get('classes')}, not this run")

    # -- epochs ----------------------------------------------------------------------------
    def lr(self) -> float:
        return float(self.s.optimizer.param_groups[0]["lr"])

    def eta(self, epoch_done: int, step_in_epoch: int) -> float | None:
        if not self.steps_timed:
            return None
        per_step = self.step_time / self.steps_timed
        left_epochs = self.config.epochs - epoch_done
        left_steps = left_epochs * self.s.steps_per_epoch - step_in_epoch
        vals = left_epochs if self.val_time is not None else 0
        return max(0.0, left_steps * per_step + vals * (self.val_time or 0.0))

    def cancelled(self) -> bool:
        flag = bool(self.cancel is not None and self.cancel())
        if self.info.enabled and self.cancel is not None:
            flag = dist_utils.broadcast_flag(flag, self.device)
        return flag

    def train_epoch(self, epoch: int) -> float | None:
        """Mean training loss of the epoch, or None when cancelled."""
        s, cfg = self.s, self.config
        s.model.train()
        # Seeding per epoch makes a resumed run draw the same crops/shuffles as an unbroken one.
        torch.manual_seed(cfg.seed + 1000 * (epoch + 1))
        s.reseed_loader(epoch)
        total = torch.zeros((), device=self.device)
        n, last_emit = 0, 0.0
        for step, (images, labels) in enumerate(s.train_loader):
            if step >= s.steps_per_epoch:
                break
            if self.cancelled():
                return None
            t0 = time.perf_counter()
            lr = self.lr()  # the rate this step uses (the schedule advances after it)
            loss = s.step(images, labels)
            total += loss.detach()
            n += 1
            now = time.perf_counter()
            self.step_time += now - t0
            self.steps_timed += 1
            if now - last_emit >= cfg.event_interval or step + 1 == s.steps_per_epoch:
                last_emit = now
                self.emit("step", epoch=epoch + 1, step=step + 1, steps=s.steps_per_epoch,
                          loss=float(total) / n, lr=lr, eta_s=self.eta(epoch, step + 1))
        return float(dist_utils.all_mean(total / max(n, 1)))

    @torch.inference_mode()
    def validate(self, epoch: int) -> dict | None:
        s = self.s
        cm = ConfusionMatrix(s.classes.num_classes, s.classes.ignore_index)
        if s.val_loader is None:
            return {"miou": None, "iou": {}, "pixel_accuracy": None}
        t0 = time.perf_counter()
        # The bare module: DDP's forward would sync buffers with ranks that may have fewer
        # (or no) validation images, and wait for them forever.
        model = unwrap(s.model).eval()
        for images, labels in s.val_loader:
            # Ranks may hold different numbers of validation batches, so no collective
            # cancel check here; under DDP cancelling takes effect at the next training step.
            if not self.info.enabled and self.cancelled():
                return None
            with self.policy.autocast():
                logits = model(s.prepare(images))
            cm.update(logits.argmax(1), labels.to(self.device, non_blocking=True))
        cm.all_reduce()
        self.val_time = time.perf_counter() - t0
        return cm.summary(s.classes.names)

    # -- writing ---------------------------------------------------------------------------
    def save(self, epoch: int, metrics: dict, improved: bool, best_score: float,
             bad_epochs: int, result: TrainResult) -> None:
        s, cfg = self.s, self.config
        settings = cfg.settings() | {
            "device_name": device_name(self.device), "world_size": self.info.world,
            "train_images": s.n_train, "val_images": s.n_val,
            "class_weights": s.weights_list, "seconds": time.perf_counter() - self.start_time,
        }
        meta = CheckpointMeta(arch=cfg.arch, classes=s.classes, mean=s.mean, std=s.std,
                              train_size=tuple(cfg.size), metrics=metrics, settings=settings,
                              parent=str(cfg.init) if cfg.init else None,
                              train_scale=train_scale_of(s.train_loader.dataset.samples))
        save_checkpoint(s.model, self.out_dir / "last", meta)
        if improved:
            save_checkpoint(s.model, self.out_dir / "best", meta)
        save_train_state(self.out_dir / STATE_FILE, s.model, s.optimizer, {
            "epoch": epoch + 1, "arch": cfg.arch, "classes": s.classes.names,
            "best_score": best_score, "bad_epochs": bad_epochs,
            "best_epoch": result.best_epoch, "best_metrics": result.metrics,
            "scheduler": s.scheduler.state_dict(), "scaler": s.scaler.state_dict(),
        })
