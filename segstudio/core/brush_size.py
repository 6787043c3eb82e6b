"""How big the brush is on another image: the same part of the picture.

A brush is kept as a fraction of the image's diagonal, not in image pixels: a 119 px brush
chosen on a 6000x4000 photo (1.7% of its diagonal) was 119 px on the next 480x360 frame too,
a third of its height (issue 19). Screen pixels were the other candidate; they are not used
because the brush would then change what it covers with every zoom step, and a user zooms in
to paint *finer* with the same brush, as in GIMP or napari, where sizes are image pixels. So:
image pixels while the image stays, the same fraction of the picture when it changes. What the
tool bar shows is always the image pixels of the image on screen."""

from __future__ import annotations

import math


def diagonal(shape: tuple[int, ...]) -> float:
    """The diagonal of an image of `shape` (height, width, ...) in pixels."""
    return math.hypot(float(shape[0]), float(shape[1]))


def relative_size(pixels: float, shape: tuple[int, ...]) -> float:
    """A brush of `pixels` on an image of `shape`, as a fraction of its diagonal."""
    return float(pixels) / max(diagonal(shape), 1.0)


def pixel_size(fraction: float, shape: tuple[int, ...], lo: int = 1, hi: int = 400) -> int:
    """The brush in whole pixels of an image of `shape`, within the slider's [lo, hi]."""
    return int(min(max(round(fraction * diagonal(shape)), lo), hi))
