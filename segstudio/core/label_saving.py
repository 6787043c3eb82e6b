"""The protocol of `Project.save_label`: decide, then write in an order that is safe to stop.

All of it runs under the project's folder lock, after re-reading segstudio.json, so the
decision (skip a reviewed image, keep an edited image's touched pixels) is made against what
is on disk now, not against a stale view.

Order of writes. A crash between two writes leaves the disk as after the first one; the state
that disk shows must never be *lower* than the truth, since a lower state lets a later
prediction overwrite a person's pixels:
- touched pixels first: more of them only protects more;
- moving up (a prediction on a new image, an edit, marking reviewed): the record first (one
  fsync'd line in the project's journal, see `project_file`), then the label;
- moving down (un-reviewing, re-segmenting a reviewed image on request): the label first,
  then the record.
When the label cannot be written (full disk, read-only folder) the journal line is cut back
(truncating needs no free space), so memory and disk agree on the old record; segstudio.json
itself is rewritten from the journal at the next flush.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np

from segstudio.core.entries import ImageEntry, ImageState
from segstudio.core.errors import SegstudioError

if TYPE_CHECKING:
    from segstudio.core.project import Project


def merge_prediction(current: np.ndarray, prediction: np.ndarray,
                     touched: np.ndarray | None) -> np.ndarray:
    """The prediction everywhere except the touched pixels, which keep `current`'s values."""
    if touched is None:
        return prediction
    return np.where(touched, current, prediction).astype(np.uint8, copy=False)


def _record_state(record: dict | None, label_exists: bool) -> ImageState:
    if not label_exists:
        return ImageState.UNLABELED
    if record is None or "state" not in record:
        return ImageState.REVIEWED
    return ImageState(record["state"])


def save(project: Project, entry: ImageEntry, mask: np.ndarray, state: ImageState,
         overwrite_reviewed: bool, confidence: float | None,
         touched: np.ndarray | None) -> bool:
    if state is ImageState.UNLABELED:
        raise ValueError("save_label needs state PREDICTED, EDITED or REVIEWED")
    project._check_shape(entry, mask)
    if touched is not None:
        if touched.shape != mask.shape[:2]:
            raise ValueError(f"touched map {touched.shape} differs from the mask {mask.shape}")
        touched = np.asarray(touched, bool)
        if not touched.any():
            touched = None
    with project._locked():
        key = entry.key
        exists = project._label_exists(entry)
        before = project._records.get(key)
        current = _record_state(before, exists)
        old_touched = project.touched(entry) if exists else None
        clear_touched = False
        if state is ImageState.PREDICTED:
            if current is ImageState.REVIEWED and not overwrite_reviewed:
                return False
            if current is ImageState.EDITED and not overwrite_reviewed and old_touched is not None:
                on_disk = project.read_label(entry)
                mask = merge_prediction(on_disk, mask, old_touched)
                state = ImageState.EDITED
            else:
                clear_touched = old_touched is not None
        new_touched = old_touched
        if touched is not None:
            new_touched = touched if old_touched is None else (old_touched | touched)
        if state is ImageState.EDITED and new_touched is None:
            state = ImageState.PREDICTED  # nothing touched after all: a plain prediction
        record = dict(before or {})
        record["state"] = state.value
        if confidence is not None:
            record["confidence"] = float(confidence)
        down = state.rank < current.rank
        if new_touched is not None and new_touched is not old_touched and not clear_touched:
            project._write_touched_file(entry, new_touched)
        if down:
            # Label first: until the record follows, the disk shows the higher state.
            project._write_label_file(entry, mask)
            project._journal(key, record, explicit=True)
        else:
            size = project._journal(key, record)
            try:
                project._write_label_file(entry, mask)
            except BaseException:
                project._unjournal(key, size, before)
                raise
        if clear_touched:
            project._remove_touched_file(entry)
        # The journal holds the record durably; segstudio.json catches up at the next flush.
        with contextlib.suppress(SegstudioError):
            project._changed()
    return True
