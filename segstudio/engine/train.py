"""Fine-tuning: the same loop for the GUI (progress callback + cancel flag), the CLI and torchrun.

Per epoch: train, validate (confusion matrix -> mIoU, per-class IoU, pixel accuracy), write
`last` and, when validation improved, `best` (atomic safetensors + JSON sidecar), then the
resumable state. Rank 0 alone writes and reports under DistributedDataParallel.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from segstudio.engine import distributed as dist_utils
from segstudio.engine.certainty import block_matrices, paired_bootstrap
from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint, unwrap
from segstudio.engine.device import device_name, execution_policy, select_device
from segstudio.engine.metrics import ConfusionMatrix
from segstudio.engine.scale import train_scale_of
from segstudio.engine.train_setup import Setup, build_setup
from segstudio.engine.train_state import load_train_state, save_train_state
from segstudio.engine.train_types import STATE_FILE, TrainConfig, TrainEvent, TrainResult
from segstudio.engine.train_validate import validate_config

__all__ = ["STATE_FILE", "TrainConfig", "TrainEvent", "TrainResult", "train"]

# Between validations, train at least this many times as long as one validation takes.
VAL_TIME_RATIO = 2.0


def train(config: TrainConfig, *, progress: Callable[[TrainEvent], None] | None = None,
          cancel: Callable[[], bool] | None = None) -> TrainResult:
    """Train as configured; returns where the checkpoints are and the best metrics."""
    validate_config(config)  # every setting, before any data is read or file written
    device = select_device(config.device)
    info = dist_utils.env_info()
    device = dist_utils.process_device(device, info)
    info = dist_utils.setup(device)
    try:
        return _Trainer(config, device, info, progress, cancel).run()
    finally:
        dist_utils.teardown()


def finite_weights(model: torch.nn.Module) -> bool:
    """No parameter or buffer holds NaN or inf (what a diverged step leaves behind)."""
    return all(bool(torch.isfinite(t).all()) for t in unwrap(model).state_dict().values()
               if t.is_floating_point())


def judge(score: float, best: float, bad_epochs: int) -> tuple[bool, int]:
    """(improved, epochs without improvement) after an epoch scoring `score`."""
    return (True, 0) if score > best else (False, bad_epochs + 1)


def validation_due(epoch: int, epochs: int, trained_s: float, val_s: float | None) -> bool:
    """Whether epoch `epoch` (0-based) of `epochs` ends with a validation: always the first
    and the last; in between only once the training since the last validation (`trained_s`)
    took at least VAL_TIME_RATIO times as long as one validation (`val_s`, None before the
    first), so that validation never dominates a short fine-tune (101 full-size images after
    every 20-step epoch would): about a third of a long run at most (docs/learning.md)."""
    if epoch == 0 or epoch + 1 >= epochs or val_s is None:
        return True
    return trained_s >= VAL_TIME_RATIO * val_s


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
        self._trained_at_val = 0.0
        self.last_blocks: np.ndarray | None = None   # of the latest validation
        self.blocks: dict[str, np.ndarray | None] = {"best": None, "baseline": None}

    def emit(self, kind: str, **kw) -> None:
        if self._progress is not None:
            s = getattr(self, "s", None)
            epochs = s.epochs if s is not None else self.config.epochs
            self._progress(TrainEvent(kind, epochs=epochs, **kw))

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
            saved = load_train_state(state_path, s.model, s.optimizer,
                                     average=None if s.average is None else s.average.model)
            if s.average is not None:
                s.average.updates = int(saved.get("average_updates") or 0)
            self._check_resume(saved, state_path)
            start_epoch = saved["epoch"]
            best_score, bad_epochs = saved["best_score"], saved["bad_epochs"]
            result.best_epoch, result.metrics = saved["best_epoch"], saved["best_metrics"]
            result.start_metrics = saved.get("start_metrics")
            result.baseline_metrics = saved.get("baseline_metrics")
            s.scheduler.load_state_dict(saved["scheduler"])
            self.blocks |= {k: v for k, v in saved.get("arrays", {}).items()
                            if k in self.blocks}
            if saved.get("scaler"):
                s.scaler.load_state_dict(saved["scaler"])
            self.log(f"resumed from {state_path} after epoch {start_epoch}")
        elif cfg.resume:
            self.log(f"nothing to resume in {self.out_dir}; starting from scratch")
        else:
            measured = self.measure_start()
            if measured is None:
                result.cancelled = True
            else:
                result.start_metrics, result.baseline_metrics = measured
        result.train_images = s.n_train
        for epoch in range(start_epoch, s.epochs):
            if result.cancelled:
                break
            t0 = time.perf_counter()
            loss = self.train_epoch(epoch)
            result.epoch_seconds.append(time.perf_counter() - t0)
            if loss is None:
                result.cancelled = True
                break
            if not math.isfinite(loss) or not finite_weights(s.model):
                # Nothing of this epoch is written: the last good checkpoint stays as it was.
                result.diverged = True
                result.message = (f"training diverged in epoch {epoch + 1}: the loss became "
                                  f"{loss:g}; try a lower learning rate (now {cfg.lr:g})")
                self.log(result.message)
                break
            metrics = self.validate(epoch) if self.should_validate(epoch) else {}
            if metrics is None:
                result.cancelled = True
                break
            metrics["train_loss"] = loss
            metrics["epoch"] = epoch + 1
            improved = False
            if "miou" in metrics:
                score = metrics["miou"] if metrics.get("miou") is not None else -loss
                improved, bad_epochs = judge(score, best_score, bad_epochs)
                if improved:
                    best_score = score
                    result.best_epoch, result.metrics = epoch + 1, metrics
                    self.blocks["best"] = self.last_blocks
            if self.info.main:
                self.save(epoch, metrics, improved, best_score, bad_epochs, result)
            dist_utils.barrier()
            result.epochs_done = epoch + 1
            self.emit("epoch", epoch=epoch + 1, loss=loss, lr=self.lr(),
                      metrics=metrics if "miou" in metrics else None,
                      eta_s=self.eta(epoch + 1, 0))
            if should_stop(bad_epochs, cfg.patience) and epoch + 1 < s.epochs:
                result.stopped_early = True
                self.log(f"early stop: no gain for {bad_epochs} epochs")
                break
        result.best, result.last = self._existing("best"), self._existing("last")
        if self.blocks["best"] is not None and self.blocks["baseline"] is not None:
            result.certainty = paired_bootstrap(self.blocks["best"], self.blocks["baseline"])
        result.seconds = time.perf_counter() - self.start_time
        self.emit("done", epoch=result.epochs_done, metrics=result.metrics,
                  message=result.status)
        return result

    def measure_start(self) -> tuple[dict | None, dict | None] | None:
        """Validation metrics of the starting weights and of `compare_to`, on the same images
        as every epoch after (reported as epoch 0); each None where it is not comparable (a
        fresh head for other classes, no starting checkpoint, no validation images). None
        when cancelled meanwhile."""
        from segstudio.engine.train_setup import load_comparable

        s, cfg = self.s, self.config
        if s.val_loader is None:
            return None, None
        start = None
        if s.init_complete:
            start = self.validate(-1)
            if start is None:
                return None
            self.emit("epoch", epoch=0, metrics=start, message="starting weights")
        baseline = None
        same = cfg.compare_to is not None and cfg.init is not None and \
            Path(cfg.compare_to).resolve() == Path(cfg.init).resolve()
        if same and start is not None:
            baseline = start
            self.blocks["baseline"] = self.last_blocks
        elif cfg.compare_to is not None:
            model = load_comparable(cfg.compare_to, s.classes, self.device, self.policy,
                                    self.log)
            if model is not None:
                baseline = self.validate(-1, model)
                if baseline is None:
                    return None
                self.blocks["baseline"] = self.last_blocks
        return start, baseline
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
        left = sum(self.s.steps_in(e) for e in range(epoch_done, self.s.epochs)) - step_in_epoch
        vals = self.validations_left(epoch_done) if self.val_time is not None else 0
        return max(0.0, left * per_step + vals * (self.val_time or 0.0))

    def cancelled(self) -> bool:
        flag = bool(self.cancel is not None and self.cancel())
        if self.info.enabled and self.cancel is not None:
            flag = dist_utils.broadcast_flag(flag, self.device)
        return flag

    def batches(self, epoch: int):
        """The epoch's batches: one pass over the data, or several when the set is so small
        that an epoch of step-counted training spans more than one pass."""
        s = self.s
        wanted, done = s.steps_in(epoch), 0
        while done < wanted:
            for batch in s.train_loader:
                if done >= wanted:
                    return
                yield batch
                done += 1

    def train_epoch(self, epoch: int) -> float | None:
        """Mean training loss of the epoch (NaN when it diverged), or None when cancelled."""
        s, cfg = self.s, self.config
        s.train_mode()
        # Seeding per epoch makes a resumed run draw the same crops/shuffles as an unbroken one.
        torch.manual_seed(cfg.seed + 1000 * (epoch + 1))
        s.reseed_loader(epoch)
        total = torch.zeros((), device=self.device)
        n, last_emit, steps = 0, 0.0, s.steps_in(epoch)
        for step, (images, labels) in enumerate(self.batches(epoch)):
            if self.cancelled():
                return None
            t0 = time.perf_counter()
            lr = self.lr()  # the rate this step uses (the schedule advances after it)
            loss = s.step(images, labels)
            # A NaN/inf loss poisons the weights at once: stop here rather than spend the
            # rest of the epoch (a sync per step; CPU steps are synchronous anyway).
            if not bool(torch.isfinite(loss.detach())):
                return float("nan")
            total += loss.detach()
            n += 1
            now = time.perf_counter()
            self.step_time += now - t0
            self.steps_timed += 1
            if now - last_emit >= cfg.event_interval or step + 1 == steps:
                last_emit = now
                self.emit("step", epoch=epoch + 1, step=step + 1, steps=steps,
                          loss=float(total) / n, lr=lr, eta_s=self.eta(epoch, step + 1))
        return float(dist_utils.all_mean(total / max(n, 1)))

    def should_validate(self, epoch: int) -> bool:
        return validation_due(epoch, self.s.epochs, self.step_time - self._trained_at_val,
                              self.val_time)

    def validations_left(self, epoch_done: int) -> int:
        left = self.s.epochs - epoch_done
        if left <= 0 or self.val_time is None or not self.steps_timed:
            return max(left, 0)
        per_step = self.step_time / self.steps_timed
        steps = sum(self.s.steps_in(e) for e in range(epoch_done, self.s.epochs))
        return min(left, 1 + int(steps * per_step / max(VAL_TIME_RATIO * self.val_time, 1e-9)))

    @torch.inference_mode()
    def validate(self, epoch: int, model: torch.nn.Module | None = None) -> dict | None:
        """Metrics of `model` (default: the one training) on the validation images; None
        when cancelled meanwhile."""
        s = self.s
        cm = ConfusionMatrix(s.classes.num_classes, s.classes.ignore_index)
        if s.val_loader is None:
            return {"miou": None, "iou": {}, "pixel_accuracy": None}
        t0 = time.perf_counter()
        # The bare module: DDP's forward would sync buffers with ranks that may have fewer
        # (or no) validation images, and wait for them forever.
        model = unwrap(s.judged if model is None else model).eval()
        blocks = []
        for images, labels in s.val_loader:
            # Ranks may hold different numbers of validation batches, so no collective
            # cancel check here; under DDP cancelling takes effect at the next training step.
            if not self.info.enabled and self.cancelled():
                return None
            with self.policy.autocast():
                logits = model(s.prepare(images))
            pred = logits.argmax(1)
            cm.update(pred, labels.to(self.device, non_blocking=True))
            # Per-image block counts for the verdict's certainty (engine.certainty).
            for p_i, t_i in zip(pred.cpu().numpy(), labels.numpy(), strict=True):
                blocks.append(block_matrices(p_i, t_i, s.classes.num_classes,
                                             s.classes.ignore_index))
        cm.all_reduce()
        self.last_blocks = np.stack(blocks) if blocks and not self.info.enabled else None
        self.val_time = time.perf_counter() - t0
        self._trained_at_val = self.step_time
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
                              train_scale=train_scale_of(s.train_loader.dataset.samples,
                                                         tuple(cfg.scale_range)))
        save_checkpoint(s.judged, self.out_dir / "last", meta)
        if improved:
            save_checkpoint(s.judged, self.out_dir / "best", meta)
        save_train_state(self.out_dir / STATE_FILE, s.model, s.optimizer, {
            "average_updates": s.average.updates if s.average is not None else 0,
            "epoch": epoch + 1, "arch": cfg.arch, "classes": s.classes.names,
            "best_score": best_score, "bad_epochs": bad_epochs,
            "best_epoch": result.best_epoch, "best_metrics": result.metrics,
            "scheduler": s.scheduler.state_dict(), "scaler": s.scaler.state_dict(),
            "start_metrics": result.start_metrics, "baseline_metrics": result.baseline_metrics,
        }, average=None if s.average is None else s.average.model, arrays=self.blocks)
