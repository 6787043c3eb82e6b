"""The pixel scale a network learnt, and the scale prediction runs at.

Training (engine.augment.RandomScaleCrop) scales every image by a random factor in
`scale_range` of *its own size* before cropping, so the network sees objects at
`scale_range` times their size in the training images. A checkpoint records that as a
`TrainScale`: the size of the median training image and the range. Its `frame` (the median
image size times the range's geometric middle) is "objects look as they do in a frame of this
many pixels"; prediction at scale "auto" resizes an image to that frame's area when its own
area puts objects outside the middle of the learnt range, and predicts it as it is otherwise.

No torch here: the CLI parses `--scale` without loading the engine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from segstudio.core.errors import SegstudioError

Scale = str | float          # "auto", "native" or a positive factor
SCALE_NAMES = ("auto", "native")
MAX_FACTOR = 16.0            # beyond this a factor is a typo, not a choice
DEFAULT_RANGE = (0.5, 2.0)   # what a training uses unless its recipe says otherwise


class ScaleError(SegstudioError):
    """An inference scale that is not "auto", "native" or a factor in (0, MAX_FACTOR]."""


def parse_scale(value: Any, what: str = "scale") -> Scale:
    """"auto" / "native" (any case) or a positive factor (number or text, "0.5" or "0.5x")
    -> a valid Scale. `what` names the setting in the error (e.g. "--scale")."""
    expected = f"{what} {value!r}: expected auto, native or a factor such as 0.5"
    if isinstance(value, str):
        text = value.strip().lower()
        if text in SCALE_NAMES:
            return text
        try:
            factor = float(text.removesuffix("x"))
        except ValueError:
            raise ScaleError(expected) from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        factor = float(value)
    else:
        raise ScaleError(expected)
    if not (math.isfinite(factor) and 0 < factor <= MAX_FACTOR):
        raise ScaleError(f"{what} {value!r}: a factor must be above 0 and at most "
                         f"{MAX_FACTOR:g}")
    return factor


@dataclass(frozen=True)
class TrainScale:
    """How big objects were, in pixels, when the network learnt them."""

    image_size: tuple[int, int]          # (H, W) of the median-area training image
    scale_range: tuple[float, float] = DEFAULT_RANGE   # augmentation factors of that size
    source: str = "images"               # "images": measured; "train_size": an older checkpoint

    @property
    def middle(self) -> float:
        """Geometric middle of the range: the factor the network saw most evenly around."""
        lo, hi = self.scale_range
        return math.sqrt(lo * hi)

    @property
    def frame(self) -> tuple[int, int]:
        """(H, W): objects look to the network as they do in a frame this size."""
        h, w = self.image_size
        return max(1, round(h * self.middle)), max(1, round(w * self.middle))

    @property
    def tolerance(self) -> float:
        """Images within this factor of the frame (by side, from its area) are predicted as
        they are: the middle half of the learnt range on a log scale (sqrt 2 for 0.5-2x)."""
        lo, hi = self.scale_range
        return (hi / lo) ** 0.25

    def factor_for(self, height: int, width: int) -> float:
        """The resize factor "auto" applies to an image of (height, width): 1.0 inside the
        tolerance, else the factor that gives the image the frame's area."""
        fh, fw = self.frame
        relative = math.sqrt((height * width) / (fh * fw))
        if 1 / self.tolerance <= relative <= self.tolerance:
            return 1.0
        return 1.0 / relative

    def describe(self) -> str:
        """One line for people, e.g. 'objects as in a 360x480 frame (training images
        360x480, scaled 0.5-2x)'."""
        fh, fw = self.frame
        lo, hi = self.scale_range
        what = "training images" if self.source == "images" else "training size"
        return (f"objects as in a {fh}x{fw} frame ({what} {self.image_size[0]}x"
                f"{self.image_size[1]}, scaled {lo:g}-{hi:g}x)")

    def to_dict(self) -> dict[str, Any]:
        return {"image_size": list(self.image_size), "scale_range": list(self.scale_range),
                "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainScale:
        h, w = (int(v) for v in d["image_size"])
        lo, hi = (float(v) for v in d.get("scale_range") or DEFAULT_RANGE)
        if h < 1 or w < 1 or not 0 < lo <= hi:
            raise ValueError(f"train_scale {d!r} is not a size and a scale range")
        return cls((h, w), (lo, hi), str(d.get("source", "images")))


def scaled_size(height: int, width: int, factor: float) -> tuple[int, int]:
    """(H, W) of an image resized by `factor` (at least 1 pixel a side)."""
    return max(1, round(height * factor)), max(1, round(width * factor))


def measure_train_scale(sizes: Iterable[Sequence[int]],
                        scale_range: tuple[float, float]) -> TrainScale | None:
    """TrainScale of training images of these (H, W) sizes; None when there are none.

    The median by area (the lower one for an even count) is a real image size, so a project
    of portrait and landscape photos records one of them rather than a square neither is.
    """
    ordered = sorted((tuple(s) for s in sizes), key=lambda s: (s[0] * s[1], s))
    if not ordered:
        return None
    h, w = ordered[(len(ordered) - 1) // 2]
    return TrainScale((int(h), int(w)), (float(scale_range[0]), float(scale_range[1])))


def train_scale_of(samples: Sequence[Any],
                   scale_range: tuple[float, float] | None = None) -> TrainScale | None:
    """TrainScale of training samples (engine.data.Sample: `.image` paths), from the image
    headers; remembered per list of paths, so calling it at every checkpoint costs nothing."""
    if scale_range is None:
        scale_range = DEFAULT_RANGE
    return _measured(tuple(Path(s.image) for s in samples), tuple(scale_range))


@lru_cache(maxsize=8)
def _measured(paths: tuple[Path, ...], scale_range: tuple[float, float]) -> TrainScale | None:
    from segstudio.core.imageio import image_size

    return measure_train_scale((image_size(p) for p in paths), scale_range)
