"""`bench loop`'s actions: per image the person labels, the clicks and strokes of painting it
from scratch and of correcting what the person was shown, manual and assisted
(loop_effort.py), summed per round and per strategy, beside the pixel ratio.

Painting an image from scratch depends on its truth only: it is counted once per image and
shared by every strategy that labels it (the fork of round 1 and later rounds alike).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segstudio.bench.loop_effort import MIN_SIZE, Effort, image_effort
from segstudio.core.entries import ImageEntry, ImageState
from segstudio.core.project import Project

KINDS = ("scratch_manual", "scratch_assisted", "correcting_manual", "correcting_assisted")
REFERENCE_PIXELS = 480 * 360     # the frame MIN_SIZE is given for (CamVid, bench assist)


@dataclass
class Actions:
    """Actions of some images: painting them from scratch, and correcting what was shown
    (the same as from scratch where nothing was predicted)."""

    scratch: Effort = field(default_factory=Effort)
    correcting: Effort = field(default_factory=Effort)

    def add(self, other: Actions) -> None:
        self.scratch.add(other.scratch)
        self.correcting.add(other.correcting)
        self.simulated = other.simulated

    simulated: bool = False     # the box's clicks simulated (else estimated per class)

    def to_dict(self) -> dict[str, int]:
        s, c = self.scratch, self.correcting
        out = {"scratch_manual": s.manual, "scratch_assisted": s.assisted,
               "correcting_manual": c.manual, "correcting_assisted": c.assisted,
               "scratch_objects": s.objects, "correcting_objects": c.objects,
               "scratch_strokes": s.strokes, "correcting_strokes": c.strokes}
        if self.simulated:     # an estimate has no failures, and never beats the polygon
            out |= {"scratch_either": s.either, "correcting_either": c.either,
                    "scratch_box_failed": s.failed, "correcting_box_failed": c.failed}
        return out


def min_size_for(shape: tuple[int, int]) -> int:
    """bench assist's smallest object (300 px of a 480x360 frame) as the same share of an
    image of `shape`: 75 px at the loop's default half size."""
    return max(1, round(MIN_SIZE * shape[0] * shape[1] / REFERENCE_PIXELS))


@dataclass
class ActionCounter:
    """Counts the actions of each image as the simulated person takes it up. `ratios`
    (loop_effort.box_ratios): the box's clicks estimated per class; None: simulated."""

    min_size: int
    ratios: dict[int, float] | None = None
    scratch: dict[str, Effort] = field(default_factory=dict)   # by image key
    seconds: float = 0.0

    def empty(self) -> Actions:
        """A round's sum to add images to (loop_sim.Loop makes it without importing this)."""
        return Actions(simulated=self.ratios is None)

    def image(self, project: Project, entry: ImageEntry, truth: np.ndarray, void: int,
              confidence: np.ndarray | None, partial: float | None) -> Actions:
        """Call before `loop_sim.correct` saves the truth: the rules are the same (no
        prediction: painted from scratch; partial: only the least confident pixels)."""
        from segstudio.bench.loop_sim import least_confident

        t0 = time.perf_counter()
        image = None
        if entry.key not in self.scratch:
            image = project.read_image(entry)
            self.scratch[entry.key] = image_effort(image, truth, None, void,
                                                   min_size=self.min_size, ratios=self.ratios)
        scratch = self.scratch[entry.key]
        if confidence is None or project.state(entry) is not ImageState.PREDICTED:
            correcting = scratch
        else:
            image = project.read_image(entry) if image is None else image
            fix = None if partial is None else least_confident(confidence, partial)
            correcting = image_effort(image, truth, project.read_label(entry), void, fix,
                                      min_size=self.min_size, ratios=self.ratios)
        self.seconds += time.perf_counter() - t0
        out = self.empty()
        out.add(Actions(scratch, correcting, out.simulated))   # copies: the cache stays as it is
        return out


def report(rounds: list[Any]) -> dict[str, Any] | None:
    """A strategy's `actions` object: the four totals (and the extras of Actions.to_dict),
    per-round lists of the four, and the share of correcting to scratch."""
    if not rounds or rounds[0].actions is None:
        return None
    total = Actions(simulated=rounds[0].actions.simulated)
    for r in rounds:
        total.add(r.actions)
    out: dict[str, Any] = total.to_dict()
    out["rounds"] = {k: [r.actions.to_dict()[k] for r in rounds] for k in KINDS}
    out["assisted_from"] = ("the box (GrabCut) simulated on every object" if total.simulated
                            else "polygon vertices x the box's clicks per vertex of the "
                            "object's class in bench assist (NoC@85)")
    for kind in ("manual", "assisted"):
        out[f"ratio_{kind}"] = out[f"correcting_{kind}"] / max(out[f"scratch_{kind}"], 1)
    return out


def summary_lines(strategies: dict[str, dict[str, Any]]) -> list[str]:
    """Per strategy and round: actions from scratch and correcting, manual / assisted."""
    rows = [(n, s["actions"]) for n, s in strategies.items() if s.get("actions")]
    if not rows:
        return []
    lines = ["actions: manual = polygon vertices + speck strokes, assisted = box clicks + "
             f"speck strokes ({rows[0][1]['assisted_from']})",
             f"  {'strategy':<16}{'round':>6}{'scratch man':>13}{'scratch ass':>13}"
             f"{'correct man':>13}{'correct ass':>13}"]
    for name, a in rows:
        per = a["rounds"]
        for i in range(len(per[KINDS[0]])):
            lines.append(f"  {name:<16}{i + 1:>6}" + "".join(f"{per[k][i]:>13}" for k in KINDS))
        lines.append(f"  {name:<16}{'all':>6}" + "".join(f"{a[k]:>13}" for k in KINDS)
                     + f"   correcting / scratch: manual {a['ratio_manual']:.3f}, "
                     f"assisted {a['ratio_assisted']:.3f}")
    return lines
