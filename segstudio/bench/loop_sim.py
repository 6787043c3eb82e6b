"""The simulated person of `segstudio bench loop`: a temporary project, the app's workflow code,
labels revealed only as they are corrected.

Each round the person takes the next images in the order the Files list offers them (the
project's order, or "Worst first" by mean confidence), looks at the active model's prediction
and corrects it to the ground truth; the cost is the number of pixels that differ (void
excluded). Without a model there is nothing to correct: the image is painted from scratch and
costs every labelled pixel. Then the project is fine-tuned as the Fine-tune button would.

Partial correction: only the least confident `partial` share of each image's pixels is looked
at and set to the truth, saved as an EDITED image whose touched pixels are those (the rest
stays as predicted and does not train); its cost is the wrong pixels among them.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.core.classes import ClassSet
from segstudio.core.entries import ImageEntry, ImageState
from segstudio.core.project import Project


@dataclass(frozen=True)
class Strategy:
    name: str
    worst_first: bool      # the Files list's "Worst first" order instead of the project's
    partial: float | None  # share of each image's pixels corrected (None: the whole image)


def strategy(name: str, partial: float) -> Strategy:
    """"natural", "worst", "natural-partial", "worst-partial"."""
    order, _, kind = name.partition("-")
    if order not in ("natural", "worst") or kind not in ("", "partial"):
        raise ValueError(f"unknown strategy {name!r}: natural, worst, natural-partial or "
                         "worst-partial")
    return Strategy(name, order == "worst", partial if kind else None)


@dataclass
class Pixels:
    labelled: int = 0      # non-void ground-truth pixels of the images done
    corrected: int = 0     # pixels the person changed
    residual: int = 0      # wrong pixels left (partial correction only)

    def add(self, other: Pixels) -> None:
        self.labelled += other.labelled
        self.corrected += other.corrected
        self.residual += other.residual


def correct(project: Project, entry: ImageEntry, truth: np.ndarray, void: int,
            confidence: np.ndarray | None, partial: float | None) -> Pixels:
    """The person's work on one image (saved through `Project.save_label`) and its cost.

    `confidence`: the prediction's (H, W) confidence map, None when the image has no
    prediction (then it is painted from scratch, whatever the strategy)."""
    valid = truth != void
    labelled = int(valid.sum())
    if confidence is None or project.state(entry) is not ImageState.PREDICTED:
        project.save_label(entry, truth, state=ImageState.REVIEWED)
        return Pixels(labelled, labelled, 0)
    shown = project.read_label(entry)
    wrong = (shown != truth) & valid
    if partial is None:
        project.save_label(entry, truth, state=ImageState.REVIEWED)
        return Pixels(labelled, int(wrong.sum()), 0)
    touched = least_confident(confidence, partial)
    label = np.where(touched, truth, shown).astype(np.uint8)
    project.save_label(entry, label, state=ImageState.EDITED, touched=touched)
    return Pixels(labelled, int((wrong & touched).sum()), int((wrong & ~touched).sum()))


def least_confident(confidence: np.ndarray, share: float) -> np.ndarray:
    """(H, W) bool: the ceil(share * H * W) least confident pixels (ties: first in raster
    order, so the choice does not depend on the sort's implementation)."""
    flat = confidence.ravel()
    k = min(flat.size, math.ceil(share * flat.size))
    out = np.zeros(flat.size, bool)
    if k:
        out[np.argsort(flat, kind="stable")[:k]] = True
    return out.reshape(confidence.shape)


@dataclass
class RoundReport:
    round: int
    images: int                   # images done after this round
    pixels: Pixels                # this round's
    total: Pixels                 # all rounds so far
    val_miou: float | None        # the active model after this round, on the held-out images
    seconds: float
    activated: bool | None        # the round's fine-tune became the active model
    predicted: int                # images the network ran on this round
    actions: Any = None           # loop_actions.Actions of this round's images, if counted

    def to_dict(self) -> dict[str, Any]:
        p, t = self.pixels, self.total
        return {
            "round": self.round, "images": self.images,
            "correction_fraction": p.corrected / max(p.labelled, 1),
            "ratio_so_far": t.corrected / max(t.labelled, 1),
            "residual_fraction": p.residual / max(p.labelled, 1),
            "pixels_labelled": p.labelled, "pixels_corrected": p.corrected,
            "val_miou": self.val_miou, "seconds": round(self.seconds, 1),
            "activated": self.activated, "predicted": self.predicted,
            **({} if self.actions is None else {"actions": self.actions.to_dict()}),
        }


@dataclass
class Loop:
    """One strategy's project and its state; `run_round` does one round of the loop."""

    project: Project
    strategy: Strategy
    truth: dict[str, np.ndarray]
    classes: ClassSet
    finetune: Callable[[Project, bool], Any]      # (project, first) -> FinetuneOutcome
    evaluate: Callable[[Project], float | None]   # val mIoU of the active model
    device: str | None = None
    # checkpoint -> what segment_project predicts with (default: engine.predict.Predictor)
    predictor: Callable[[Path], Any] | None = None
    # loop_actions.ActionCounter: also count each image's clicks and strokes (None: pixels only)
    actions: Any = None
    done: list[str] = field(default_factory=list)
    total: Pixels = field(default_factory=Pixels)
    rounds: list[RoundReport] = field(default_factory=list)
    finetunes: int = 0

    def next_images(self, n: int) -> tuple[list[ImageEntry], int]:
        """Predict what the person will look at with the active model, then take the next
        `n` in the Files list's order; returns them and how many images were predicted."""
        from segstudio.engine.predict import Predictor
        from segstudio.engine.workflow import (
            active_checkpoint,
            plan_segmentation,
            review_queue,
            segment_project,
        )

        done = set(self.done)
        remaining = [e for e in self.project.entries if e.key not in done]
        active = active_checkpoint(self.project)
        if active is None:
            self._confidence: dict[str, np.ndarray] = {}
            return remaining[:n], 0
        # Natural order only needs the next n; worst first needs every candidate's confidence.
        candidates = remaining if self.strategy.worst_first else remaining[:n]
        predictor = (self.predictor or (lambda p: Predictor.from_checkpoint(p, self.device)))(
            active)
        plan = plan_segmentation(self.project, candidates)
        self._confidence = {}
        for res in segment_project(self.project, predictor, plan, batch=4):
            if res.status == "failed":
                raise RuntimeError(f"{res.entry.path}: {res.message}")
            self._confidence[res.entry.key] = res.confidence_map.astype(np.float32) / 255
        queue = review_queue(self.project, candidates, worst_first=self.strategy.worst_first)
        return queue[:n], len(candidates)

    def run_round(self, n: int) -> RoundReport:
        t0 = time.perf_counter()
        chosen, predicted = self.next_images(n)
        pixels = Pixels()
        actions = None if self.actions is None else self.actions.empty()
        with self.project.batch():
            for e in chosen:
                if actions is not None:    # before `correct` replaces what was shown
                    actions.add(self.actions.image(
                        self.project, e, self.truth[e.key], self.classes.ignore_index,
                        self._confidence.get(e.key), self.strategy.partial))
                pixels.add(correct(self.project, e, self.truth[e.key],
                                   self.classes.ignore_index, self._confidence.get(e.key),
                                   self.strategy.partial))
                self.done.append(e.key)
        self.total.add(pixels)
        outcome = self.finetune(self.project, self.finetunes == 0)
        self.finetunes += 1
        report = RoundReport(len(self.rounds) + 1, len(self.done), pixels,
                             Pixels(**vars(self.total)), self.evaluate(self.project),
                             time.perf_counter() - t0, outcome.activated, predicted, actions)
        self.rounds.append(report)
        return report

    def fork(self, folder: Path, strategy: Strategy) -> Loop:
        """This loop's project copied to `folder`, continuing as `strategy`."""
        shutil.copytree(self.project.root, folder, symlinks=True)
        return Loop(Project.open(folder), strategy, self.truth, self.classes, self.finetune,
                    self.evaluate, self.device, self.predictor, self.actions,
                    list(self.done),
                    Pixels(**vars(self.total)),
                    list(self.rounds), self.finetunes)
