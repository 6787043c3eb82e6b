"""`bench loop`'s actions on small masks whose answer is known: a square is 4 polygon vertices
from scratch, a correct prediction costs nothing, a prediction wrong on one object costs that
object, specks are strokes, and paint may spill at no cost onto pixels already right."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.bench.loop_actions import ActionCounter, min_size_for, report
from segstudio.bench.loop_effort import (
    image_effort,
    object_actions,
    objects_to_fix,
    speck_strokes,
)

VOID = 255
H, W = 64, 80


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A grey background (class 0) with a red square (class 1) of 20x20 and a void band."""
    truth = np.zeros((H, W), np.uint8)
    truth[20:40, 30:50] = 1
    truth[:2] = VOID
    image = np.full((H, W, 3), 60, np.uint8)
    image[truth == 1] = (220, 30, 30)
    return image, truth


def test_from_scratch_a_square_on_a_background_is_two_outlines_of_four_vertices() -> None:
    image, truth = _scene()
    found, strokes = objects_to_fix(truth, None, VOID, min_size=50)
    assert sorted(c for c, _ in found) == [0, 1] and strokes == 0
    effort = image_effort(image, truth, None, VOID, min_size=50)
    # The background's hole is the square, painted over it afterwards: its outline is the
    # frame's 4 corners, not a ring.
    assert (effort.manual, effort.objects, effort.strokes) == (8, 2, 0)
    # The box: 2 corners each, GrabCut finds the red square on grey at once.
    assert effort.assisted == 4 and effort.either == 4 and effort.failed == 0


def test_a_correct_prediction_needs_no_action() -> None:
    image, truth = _scene()
    shown = truth.copy()
    shown[:2] = 0                       # whatever is under void does not count
    effort = image_effort(image, truth, shown, VOID, min_size=50)
    assert (effort.manual, effort.assisted, effort.objects, effort.strokes) == (0, 0, 0, 0)


def test_a_prediction_wrong_on_one_object_needs_that_objects_actions() -> None:
    image, truth = _scene()
    shown = np.zeros_like(truth)                                # the square missed
    effort = image_effort(image, truth, shown, VOID, min_size=50)
    found, _ = objects_to_fix(truth, shown, VOID, min_size=50)
    assert [c for c, _ in found] == [1]
    vertices, clicks, ok = object_actions(image, truth == 1, truth != VOID)
    assert (effort.manual, effort.assisted, effort.objects) == (vertices, clicks, 1)
    assert vertices == 4 and ok


def test_only_the_pixels_looked_at_count() -> None:
    image, truth = _scene()
    shown = np.zeros_like(truth)
    fix = np.zeros(truth.shape, bool)              # partial correction looked elsewhere
    assert image_effort(image, truth, shown, VOID, fix, min_size=50).manual == 0
    fix[:, :40] = True                             # the square's left half: 20x10
    found, _ = objects_to_fix(truth, shown, VOID, fix, min_size=50)
    assert [(c, int(m.sum())) for c, m in found] == [(1, 200)]


def test_specks_are_strokes_and_close_ones_one_stroke() -> None:
    specks = np.zeros((H, W), bool)
    specks[10, 10] = specks[10, 13] = True          # 2 px apart: one sweep
    specks[50, 60] = True                           # far away: another
    assert speck_strokes(specks) == 2
    image, truth = _scene()
    shown = truth.copy()
    shown[2:64, 0][::2] = 1                         # 31 wrong single pixels down the edge
    effort = image_effort(image, truth, shown, VOID, min_size=50)
    assert effort.objects == 0 and effort.strokes == effort.manual == effort.assisted == 1


def test_paint_may_spill_onto_pixels_already_right() -> None:
    # The square's top-left quarter is right already: the wrong part is an L, and the
    # polygon may cut across the right quarter (fewer vertices than the L's 6).
    image, truth = _scene()
    shown = np.zeros_like(truth)
    shown[20:30, 30:40] = 1
    wrong = (truth == 1) & (shown != 1)
    alone, _, _ = object_actions(image, wrong, truth != VOID)
    assert alone == 6
    effort = image_effort(image, truth, shown, VOID, min_size=50)
    assert effort.objects == 1 and effort.manual < alone


def test_min_size_follows_the_image() -> None:
    assert min_size_for((360, 480)) == 300 and min_size_for((180, 240)) == 75
    assert report([]) is None


def test_an_unlabelled_image_costs_the_same_from_scratch_and_correcting(tmp_path) -> None:
    from PIL import Image

    from segstudio.core.classes import ClassSet
    from segstudio.core.project import Project

    image, truth = _scene()
    (tmp_path / "images").mkdir()
    Image.fromarray(image).save(tmp_path / "images" / "a.png")
    ClassSet(["bg", "square"], [(60, 60, 60), (220, 30, 30)], VOID).save(
        tmp_path / "classes.json")
    project = Project.open(tmp_path)
    counter = ActionCounter(50)
    entry = project.entries[0]
    got = counter.image(project, entry, truth, VOID, None, None)
    assert got.to_dict()["scratch_manual"] == got.to_dict()["correcting_manual"] == 8
    # Counted once (cached by key) and handed out as a copy that a round's sum cannot change.
    again = counter.image(project, entry, truth, VOID, None, None)
    assert again.scratch is not counter.scratch["a.png"] and again.scratch.manual == 8


def test_the_estimate_scales_each_objects_vertices_by_its_class() -> None:
    from segstudio.bench.loop_effort import BOX_PER_VERTEX, BOX_PER_VERTEX_ALL, box_ratios

    image, truth = _scene()
    effort = image_effort(image, truth, None, VOID, min_size=50, ratios={0: 1.0, 1: 1.5})
    assert (effort.manual, effort.assisted) == (8, 4 + 6)
    ratios = box_ratios(["Sky", "Car"])
    assert ratios[0] == BOX_PER_VERTEX_ALL and ratios[1] == pytest.approx(BOX_PER_VERTEX["Car"])
    assert ActionCounter(50, ratios).empty().to_dict().keys() == {
        f"{a}_{b}" for a in ("scratch", "correcting") for b in ("manual", "assisted",
                                                               "objects", "strokes")}


def test_pixels_of_the_class_not_looked_at_may_be_painted_over() -> None:
    # Partial correction looked at the missed square but for a block inside it: the wrong
    # pixels looked at are a square with a hole, and the hole (truth: the square's class)
    # gains from the paint, so the square's 4 corners do.
    image, truth = _scene()
    shown = np.zeros_like(truth)
    fix = np.ones(truth.shape, bool)
    fix[25:36, 35:46] = False
    effort = image_effort(image, truth, shown, VOID, fix, min_size=50)
    assert (effort.objects, effort.manual) == (1, 4)
