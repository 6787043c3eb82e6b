"""The verdict on a fine-tune: does the new model replace the active one, and how sure is it.

The rule: a run becomes the active model only if it finished and its best validation mIoU
beats or equals the active model's, both measured on the same held-out images by the same
code (the active model is measured before training: epoch 0 of the curve), or, when nothing
could be measured (only edited images, which never validate), when no model was active.
The verdict carries the figures and their certainty (engine.certainty) as data: the panel,
`runs` and the CLI show them in their own words, none parses the others' text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from segstudio.engine.certainty import Certainty


@dataclass(frozen=True)
class Verdict:
    """Whether a run becomes the active model, and why, as data (the panel, `runs` and the
    CLI word it themselves; `text` is the one line they share)."""
    activated: bool
    why: str                      # the reason without the "(not) made active" head
    miou: float | None = None     # the run's best validation mIoU
    baseline: float | None = None # the active model's, on the same images
    certainty: Certainty | None = None   # of miou - baseline (engine.certainty)

    @property
    def text(self) -> str:
        head = "made active" if self.activated else "not made active"
        sure = f"; {self.certainty.describe()}" if self.certainty is not None else ""
        return f"{head}: {self.why}{sure}"

    def to_dict(self) -> dict:
        return {"activated": self.activated, "why": self.why,
                "certainty": None if self.certainty is None else self.certainty.to_dict()}


def decide(status: str, miou: float | None, baseline: float | None,
           active: Path | None, certainty: Certainty | None = None) -> Verdict:
    """The verdict on a run that wrote a checkpoint. The rule: finished, and at least as good
    as the active model on the same held-out images; `certainty` travels with it to be shown
    (a verdict on three images is a guess, and the user should see how rough)."""
    if status != "finished":
        return Verdict(False, f"the run {status}", miou, baseline)
    if miou is None:
        if active is None:
            # Only edited images (they never validate) and nothing to prefer instead.
            return Verdict(True, "no model was active (no validation images to measure it)")
        return Verdict(False, "no validation images to measure it on")
    if baseline is None:
        why = ("no model was active" if active is None else
               "the active model cannot be measured on these classes")
        return Verdict(True, f"{why}; val mIoU {100 * miou:.1f}%", miou)
    if miou >= baseline:
        return Verdict(True, f"val mIoU {100 * miou:.1f}% vs {100 * baseline:.1f}% for the "
                       "model it replaces, on the same images", miou, baseline, certainty)
    return Verdict(False, f"val mIoU {100 * miou:.1f}% is below the active model's "
                   f"{100 * baseline:.1f}% on the same images; you can still choose it",
                   miou, baseline, certainty)
