"""How a fine-tune trains, from where it starts: the four cases and their settings.

A click on Fine-tune starts from one of four places, and each needs its own treatment
(`segstudio bench adapt` and `bench finetune` measured them; docs/learning.md):

- **fitting**: a trained model whose head fits the project's classes (the active model, or
  the shipped ENet on CamVid's classes). The run *adapts* it: pretrained layers at 0.3x
  the rate after a warm-up, batch-norm statistics frozen, a pull towards the start (L2-SP),
  a weight average validated and saved, the class weighting the model was trained with, and
  crops at the scale it learnt. Trained as from scratch, 10 images took the shipped ENet
  from 58.8% to 55.7% on held-out frames of a street it never saw.
- **fresh head**: a trained body with a new head for the project's own classes. The head
  learns alone for the first steps (its random gradients would wreck the body), then the rest
  adapts as above.
- **imagenet**: an ImageNet encoder under a fresh decoder: the decoder learns at the full
  rate, the encoder at 0.3x, statistics frozen.
- **scratch**: random initialisation; every layer alike, as before.

Scale: a network sees objects at the scale it learnt them (engine.scale.TrainScale). When
the project's images are of another size, the crops are resized so that objects look as
they did to the parent, the same factor prediction at scale "auto" applies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from segstudio.engine.adapt import AdaptOptions


class StartKind(StrEnum):
    FITTING = "fitting"
    FRESH_HEAD = "fresh-head"
    IMAGENET = "imagenet"
    SCRATCH = "scratch"


# What the panel, `runs` and the CLI say about each case.
KIND_WORDS = {
    StartKind.FITTING: "adapting a model that knows your classes",
    StartKind.FRESH_HEAD: "a trained body with a new head for your classes",
    StartKind.IMAGENET: "an ImageNet encoder with a new decoder",
    StartKind.SCRATCH: "from scratch",
}

# Fraction of the rate for pretrained layers, warm-up and head-only steps (as shares of the
# run), the L2-SP weight and the weight average's decay, measured with `bench adapt`.
PRETRAINED_LR = 0.3
WARMUP_SHARE = 0.1
HEAD_SHARE = 0.15
L2SP = 0.01
EMA = 0.99
MAX_WARMUP = 100
# Crops are rescaled at most this much either way to match the parent's scale: beyond it the
# images are of another kind (thumbnails, gigapixel scans), and resampling would only blur or
# drop detail; prediction at "auto" applies its own factor anyway.
MAX_RESCALE = 4.0

_OPTIONS = {
    StartKind.FITTING: AdaptOptions(PRETRAINED_LR, 0, True, L2SP, EMA, 0),
    StartKind.FRESH_HEAD: AdaptOptions(PRETRAINED_LR, 0, True, L2SP, EMA, 0),
    StartKind.IMAGENET: AdaptOptions(PRETRAINED_LR, 0, True, 0.0, EMA, 0),
    StartKind.SCRATCH: AdaptOptions(),
}


@dataclass(frozen=True)
class Recipe:
    kind: StartKind
    options: AdaptOptions
    weighting: str                        # resolved: never "auto"
    scale_range: tuple[float, float]
    scale_note: str = ""                  # why the crops are rescaled, when they are

    def summary(self) -> str:
        """The case in a few words (the panel's note)."""
        return KIND_WORDS[self.kind]

    def describe(self) -> str:
        """One line for the CLI, the run's record and the panel's tooltip."""
        o = self.options
        parts = [KIND_WORDS[self.kind]]
        if self.kind is not StartKind.SCRATCH:
            if o.head_steps:
                parts.append(f"head alone for {o.head_steps} steps")
            parts.append(f"pretrained layers at {o.pretrained_lr:g}x the rate")
            if o.freeze_bn:
                parts.append("batch-norm statistics kept")
            if o.l2sp:
                parts.append("held near the start (L2-SP)")
            if o.ema:
                parts.append("weights averaged")
        if self.weighting != "none":
            parts.append(f"{self.weighting} class weighting")
        if self.scale_note:
            parts.append(self.scale_note)
        return "; ".join(parts)

    def train_fields(self) -> dict:
        """The TrainConfig fields this recipe sets."""
        o = self.options
        return {"pretrained_lr": o.pretrained_lr, "warmup": o.warmup, "freeze_bn": o.freeze_bn,
                "l2sp": o.l2sp, "ema": o.ema, "head_steps": o.head_steps,
                "weighting": self.weighting, "scale_range": self.scale_range}


def recipe_for(kind: StartKind, steps: int, weighting: str, *, parent_settings: dict | None = None,
               parent_scale=None, image_size: tuple[int, int] | None = None) -> Recipe:
    """The recipe for a run of `steps` steps starting as `kind`.

    `weighting`: the project's setting ("auto": what the parent was trained with, else none).
    `parent_scale`: the parent's engine.scale.TrainScale; with `image_size` (the project's
    median image) the crops' scale range follows it."""
    from segstudio.engine.scale import DEFAULT_RANGE

    options = _OPTIONS[kind]
    if kind is not StartKind.SCRATCH:
        warmup = min(MAX_WARMUP, max(1, round(WARMUP_SHARE * steps)))
        head = round(HEAD_SHARE * steps) if kind is StartKind.FRESH_HEAD else 0
        options = replace(options, warmup=warmup, head_steps=head)
    if weighting == "auto":
        inherited = (parent_settings or {}).get("weighting")
        weighting = inherited if kind in (StartKind.FITTING, StartKind.FRESH_HEAD) and \
            inherited in ("none", "median", "enet") else "none"
    scale_range, note = tuple(DEFAULT_RANGE), ""
    if parent_scale is not None and image_size is not None:
        scale_range, note = _matched_range(parent_scale, image_size)
    return Recipe(kind, options, weighting, scale_range, note)


def _matched_range(parent_scale, image_size: tuple[int, int]) -> tuple[tuple[float, float], str]:
    """The crops' scale range that shows objects of `image_size` images as the parent saw
    them: the parent's range, centred on the factor from these images to its frame (capped
    at MAX_RESCALE), or centred on 1 when they are within its tolerance (no rescale).
    Centring the *shape* of the range (not multiplying the parent's range) keeps a chain of
    fine-tunes from compounding the factor."""
    import math

    lo, hi = parent_scale.scale_range
    middle = math.sqrt(lo * hi)
    shape = (lo / middle, hi / middle)
    fh, fw = parent_scale.frame
    target = math.sqrt((fh * fw) / max(1, image_size[0] * image_size[1]))
    if 1 / parent_scale.tolerance <= target <= parent_scale.tolerance:
        return shape, ""
    target = min(MAX_RESCALE, max(1 / MAX_RESCALE, target))
    return ((shape[0] * target, shape[1] * target),
            f"crops scaled {target:.2g}x so objects look as the model learnt them "
            f"({parent_scale.describe()})")
