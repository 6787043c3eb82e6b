"""The prediction as a prompt: a click on a wrongly predicted region takes the object under
it (SAM's mask, or similar-colour regions) and never more than the predicted region."""

from __future__ import annotations

import cv2
import numpy as np

from segstudio.assist.object_fill import component, object_fill
from segstudio.core.editing import MaskDocument


def _scene():
    """A grey road with a dark car on it, and a dark wall beside the road; the "network"
    labelled the car as road (0) and the wall as building (1)."""
    rng = np.random.default_rng(0)
    img = np.full((120, 160, 3), 128, np.uint8) + rng.integers(0, 6, (120, 160, 3), np.uint8)
    car = np.zeros((120, 160), np.uint8)
    cv2.rectangle(car, (40, 50), (80, 80), 1, -1)
    img[car > 0] = rng.integers(0, 6, (int(car.sum()), 3), np.uint8) + np.uint8([40, 30, 150])
    pred = np.zeros((120, 160), np.uint8)
    pred[:, 120:] = 1
    img[:, 120:] = (40, 30, 150)                          # same colour as the car
    return img, pred, car > 0


def test_the_click_takes_the_object_not_the_whole_region():
    img, pred, car = _scene()
    box, sel, how = object_fill(img, pred, 60, 65)
    assert how == "colour"
    full = np.zeros_like(car)
    y0, x0, y1, x1 = box
    full[y0:y1, x0:x1] = sel
    iou = (full & car).sum() / (full | car).sum()
    assert iou > 0.85                                     # the car
    assert not full[:, 120:].any()                        # never past the predicted region
    _, fill = component(pred, 60, 65)
    assert fill.sum() > 5 * full.sum()                    # fill would take the whole road


def test_sam_mask_is_restricted_to_the_predicted_region():
    img, pred, car = _scene()
    sam = np.zeros_like(car)
    sam[45:85, 35:140] = True                             # spills onto the wall
    box, sel, how = object_fill(img, pred, 60, 65, sam_mask=sam)
    assert how == "sam"
    y0, x0, y1, x1 = box
    full = np.zeros_like(car)
    full[y0:y1, x0:x1] = sel
    assert full[60, 60] and not full[:, 120:].any() and full.sum() == sam[:, :120].sum()
    # A SAM mask that misses the clicked pixel is not trusted: the colours decide.
    assert object_fill(img, pred, 60, 65, sam_mask=~sam)[2] == "colour"


def test_it_paints_as_a_touched_undoable_edit_and_respects_protect():
    img, pred, _ = _scene()
    doc = MaskDocument(pred.copy(), 255)
    box, sel, _ = object_fill(img, doc.mask, 60, 65)
    assert doc.paint(box, sel, 2) is not None
    assert doc.mask[65, 60] == 2 and doc.touched[65, 60] and doc.mask[5, 5] == 0
    doc.undo()
    assert (doc.mask == pred).all()
    doc.protect = 1                                       # paint only over building
    assert doc.paint(box, sel, 2) is None
    assert object_fill(img, pred, 500, 5) is None
