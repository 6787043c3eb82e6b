"""Progress shown on the terminal, shared by several commands (so that no command module
imports another's: each subcommand module stays a leaf that only `cli.main` loads).

- `segment_progress(bar)`: a tqdm bar moved by images and, inside a big image, by its tiles
  (segment into a project or into a folder);
- `TrainBar`: a bar per epoch with the epoch's figures as lines (train, in both modes);
- `TransferBar`: a bar per stage of an import or export;
- `load_predictor`: the predictor of a checkpoint (segment and eval).

tqdm is imported inside, when a bar is first shown: `segstudio --help` builds every parser.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segstudio.cli.options import fmt


def progress_text(event: Any) -> str:
    """The bar's note for a progress event: the tiles of a big image, else nothing."""
    if event.tiles_total is None or event.tiles_total < 2:
        return ""
    return f"{event.path.name}: tile {event.tiles_done}/{event.tiles_total}"


def segment_progress(bar: Any) -> Callable[[Any], None]:
    """Progress callback moving the bar by images and, inside a big image, by its tiles."""
    def update(event: Any) -> None:
        fraction = 0.0
        if event.tiles_total:
            fraction = event.tiles_done / event.tiles_total
        bar.n = round(event.done + min(fraction, 0.999), 3)
        bar.set_postfix_str(progress_text(event), refresh=False)
        bar.refresh()
    return update


class TrainBar:
    """tqdm bar per epoch, log lines above it, epoch metrics as lines (stderr)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None

    def __call__(self, event: Any) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        if event.kind == "log":
            tqdm.write(event.message)
        elif event.kind == "step":
            if self.bar is None:
                self.bar = tqdm(total=event.steps, desc=f"epoch {event.epoch}/{event.epochs}",
                                unit="step", leave=False, dynamic_ncols=True, disable=None)
            self.bar.n = event.step
            self.bar.set_postfix(loss=f"{event.loss:.3f}", lr=f"{event.lr:.2e}", refresh=False)
            self.bar.refresh()
        elif event.kind == "epoch":
            self.close()
            m = event.metrics or {}
            eta = f", eta {event.eta_s / 60:.1f} min" if event.eta_s is not None else ""
            # Epoch 0 is the starting weights measured before training: no loss yet.
            loss = "" if event.loss is None else f"loss {event.loss:.4f}, "
            what = f" ({event.message})" if event.message else ""
            tqdm.write(f"epoch {event.epoch}/{event.epochs}{what}: {loss}val mIoU "
                       f"{fmt(m.get('miou'))}%, pixel acc {fmt(m.get('pixel_accuracy'))}%{eta}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class TransferBar:
    """A tqdm bar per stage, fed by TransferProgress events."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.stage: str | None = None

    def __call__(self, event: Any) -> None:
        from tqdm import tqdm

        if event.stage != self.stage:
            self.close()
            self.stage = event.stage
            self.bar = tqdm(total=event.total or None, desc=event.stage, unit="img",
                            dynamic_ncols=True, disable=None, leave=False, file=sys.stderr)
        if self.bar is not None:
            self.bar.n = event.done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def load_predictor(checkpoint: Path | None, device: str | None, tile: int,
                   scale: str | float = "auto"):
    """Predictor for a checkpoint (default: the shipped one) and the path it came from."""
    from segstudio.cli import UsageError
    from segstudio.engine.checkpoint import default_checkpoint, load_checkpoint
    from segstudio.engine.predict import OVERLAP, Predictor

    if checkpoint is None:
        checkpoint = default_checkpoint()
        if not checkpoint.is_file():
            raise UsageError(f"no --checkpoint given and the default model {checkpoint} "
                             "is missing")
    model, meta = load_checkpoint(checkpoint)
    overlap = min(OVERLAP, tile // 4)
    return Predictor(model, meta, device, tile=max(tile, 64), overlap=overlap,
                     scale=scale), checkpoint
