"""The actions a person needs to label one image in `segstudio bench loop`: clicks and strokes
with the app's tools, painting from scratch or correcting what the model predicted, with and
without the assisted tools. Qt-free (numpy + OpenCV + the assist bench's simulated person).

Objects to fix, grouped by their true class and 8-connected (as `bench assist` takes them):

- from scratch: every connected region of each class of the ground truth;
- correcting: every connected region of the wrong pixels (void excluded) of each true class.

An object of at least `min_size` pixels is measured (below); a smaller one is a **speck**:
specks of one class within `SPECK_GAP` pixels of each other are **one brush stroke** (a
person sweeps a noisy patch at once), in both counts. A speck is not folded into a nearby
object: the gap between them may hold pixels that are right.

What an object's pixels must match: its own pixels must get its class and the pixels around
it must not, except pixels it may cover at no cost ("don't care", as void in bench assist):
void; pixels whose truth is its class (right already, so paint spilling onto them changes
nothing, or wrong and mended by it: another object of the class, or pixels a partial
correction did not look at); and pixels in its holes that another object repaints anyway
(the person paints the enclosing object first, the one inside over it: a building around a
sign is one outline).

- **manual**: the vertices a polygon needs to reach 85% IoU, measured on the object as bench
  assist's polygon baseline does (`assist_sim.contour_trial`: the outline simplified at a
  shrinking tolerance until its fill reaches the target);
- **assisted**: the clicks of the best weight-free tool of bench assist, the box (GrabCut;
  the region brush took 18.5 clicks per object against the box's 8.3 there, the scissors
  42.5), either
  - estimated (`box_ratios`, the default of bench loop): the object's polygon vertices times
    its class's box clicks per polygon vertex at NoC@85 in bench assist's run (docs/assist.md;
    the overall 8.28 / 7.07 for a class it did not measure), at least the box's 2 corners; or
  - simulated with the real tool on the object's window (`ratios=None`:
    `assist_sim.box_trial`, 2 corners then RITM clicks; a failure after `max_clicks` counts
    `max_clicks`), about 25 GrabCut runs per object: it adds ~75% to a bench loop run;
- **either** (simulated only): per object the cheaper of the two (a person who has both
  tools and knows which suits which object).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.bench import assist_sim as sim
from segstudio.bench.assist import object_window

MIN_SIZE = 300        # bench assist's --min-size default, pixels at CamVid's 480x360
SPECK_GAP = 4         # specks of a class this close (pixels) are one stroke
TARGET = 0.85         # the IoU each object is painted to (NoC@85)
MAX_CLICKS = 20       # RITM's cap for a click tool
MARGIN = 48           # bench assist's --margin: image around the object the box tool sees
# bench assist's NoC@85 per class, box (GrabCut) / polygon, on 76 CamVid val objects
# (docs/assist.md, "Figures"): the box's clicks per polygon vertex.
BOX_PER_VERTEX = {"Building": 5.43 / 6.73, "SignSymbol": 5.94 / 6.0, "Car": 5.43 / 5.43,
                  "Pedestrian": 10.67 / 10.47}
BOX_PER_VERTEX_ALL = 6.58 / 7.07     # all 76 objects: for a class bench assist did not measure


@dataclass
class Effort:
    """Actions to label images: `manual` (polygon vertices + speck strokes), `assisted`
    (box clicks + speck strokes), `either` (per object the cheaper), and what they count."""

    manual: int = 0
    assisted: int = 0
    either: int = 0
    objects: int = 0      # objects measured (at least min_size pixels)
    strokes: int = 0      # brush strokes for specks, in each count above
    failed: int = 0       # objects the box did not bring to the target in max_clicks

    def add(self, other: Effort) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _todo(truth: np.ndarray, start: np.ndarray | None, void: int,
          fix: np.ndarray | None) -> np.ndarray:
    """The pixels the person must change."""
    todo = truth != void
    if start is not None:
        todo &= start != truth
    if fix is not None:
        todo &= fix
    return todo


def speck_strokes(specks: np.ndarray, gap: int = SPECK_GAP) -> int:
    """Brush strokes for a bool map of specks: those within `gap` pixels are one stroke."""
    if not specks.any():
        return 0
    size = 2 * (gap // 2) + 1
    near = cv2.dilate(specks.astype(np.uint8), np.ones((size, size), np.uint8))
    _, comp = cv2.connectedComponents(near, connectivity=8)
    return len(np.unique(comp[specks]))


def objects_to_fix(truth: np.ndarray, start: np.ndarray | None, void: int,
                   fix: np.ndarray | None = None, min_size: int = MIN_SIZE
                   ) -> tuple[list[tuple[int, np.ndarray]], int]:
    """([(class, bool mask)] of the objects of at least `min_size` pixels, largest first
    per class; speck strokes). `start`: the label the person starts from (None: nothing,
    painting from scratch); `fix`: the pixels the person looks at (None: all)."""
    todo = _todo(truth, start, void, fix)
    found: list[tuple[int, np.ndarray]] = []
    strokes = 0
    for c in np.unique(truth[todo]).tolist():
        _, comp, stats, _ = cv2.connectedComponentsWithStats(
            (todo & (truth == c)).astype(np.uint8), connectivity=8)
        areas = stats[:, cv2.CC_STAT_AREA]
        big = [i for i in np.argsort(-areas) if i > 0 and areas[i] >= min_size]
        found += [(int(c), comp == i) for i in big]
        small = np.flatnonzero((areas < min_size) & (np.arange(len(areas)) > 0))
        if len(small):
            strokes += speck_strokes(np.isin(comp, small))
    return found, strokes


def _care(mask: np.ndarray, c: int, truth: np.ndarray, todo: np.ndarray, void: int
          ) -> np.ndarray:
    """The pixels whose result counts for the object `mask` of class c (see the docstring)."""
    # Painting c where the truth is c never does harm: right already, or wrong and mended.
    care = (truth != void) & ((truth != c) | mask)
    filled = np.zeros(mask.shape, np.uint8)
    cv2.drawContours(filled, [sim.outline(mask).reshape(-1, 1, 2)], -1, 1, -1)
    care &= ~((filled > 0) & ~mask & todo)
    return care


def box_ratios(names: list[str]) -> dict[int, float]:
    """Class index -> the box's clicks per polygon vertex (BOX_PER_VERTEX by class name)."""
    return {i: BOX_PER_VERTEX.get(n, BOX_PER_VERTEX_ALL) for i, n in enumerate(names)}


def object_actions(image: np.ndarray, mask: np.ndarray, care: np.ndarray,
                   max_clicks: int = MAX_CLICKS, box_per_vertex: float | None = None
                   ) -> tuple[int, int, bool]:
    """(polygon vertices, box clicks, the box reached the target) for one object: its
    bool `mask` and the pixels that count (`care`), on the image's (or a window's) grid.
    The box is simulated unless `box_per_vertex` (clicks per vertex) estimates it."""
    y0, x0, y1, x1 = object_window(mask, MARGIN, mask.shape)
    gt, valid = mask[y0:y1, x0:x1], care[y0:y1, x0:x1]
    vertices, _ = sim.contour_trial(gt, valid, stop=TARGET).vertices(TARGET)
    if box_per_vertex is not None:
        return vertices, max(2, round(vertices * box_per_vertex)), True
    clicks, ok = sim.box_trial(image[y0:y1, x0:x1], gt, valid, max_clicks,
                               stop=TARGET).noc(TARGET, max_clicks)
    return vertices, clicks, ok


def image_effort(image: np.ndarray, truth: np.ndarray, start: np.ndarray | None, void: int,
                 fix: np.ndarray | None = None, *, min_size: int = MIN_SIZE,
                 max_clicks: int = MAX_CLICKS, ratios: dict[int, float] | None = None
                 ) -> Effort:
    """The actions to bring `start` (None: an unlabelled image) to `truth` on the pixels
    `fix` (None: all), by the rules of the module docstring. `ratios` (`box_ratios`):
    the box's clicks estimated per class; None: simulated."""
    found, strokes = objects_to_fix(truth, start, void, fix, min_size)
    todo = _todo(truth, start, void, fix)
    out = Effort(manual=strokes, assisted=strokes, either=strokes, strokes=strokes)
    for c, mask in found:
        care = _care(mask, c, truth, todo, void)
        vertices, clicks, ok = object_actions(
            image, mask, care, max_clicks, None if ratios is None else ratios[c])
        out.manual += vertices
        out.assisted += clicks
        out.either += min(vertices, clicks)
        out.objects += 1
        out.failed += not ok
    return out

