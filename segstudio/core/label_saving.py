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

Two writers on one label (two windows, the CLI beside the app). Each view remembers the label
file it last read or wrote (`Project.label_changed`). When another writer saved it since, the
save merges instead of writing a stale whole mask over the other's strokes:
- with `base` (the label the writer's mask started from: what it read, or last saved), the
  writer's pixels are those that differ from `base`; everywhere else the disk's label stays.
  The later save wins where both changed a pixel (autosave follows strokes closely, and the
  app saves when its window loses focus, so the later save holds the newer stroke);
- without it (a script with two `Project` objects), an EDITED save keeps the disk's values on
  the pixels other writers touched (recorded touched pixels) outside its own `touched`: a
  touched pixel holds the class someone painted there;
- a prediction never replaces pixels touched on disk in that case either.
After a merge the file holds more than the writer's mask, so the writer's view counts as
changed, and a window then brings the other writer's pixels in (`MaskDocument.merge_disk`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Literal

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


Outcome = Literal["predicted", "merged", "replaced", "kept"]


def prediction_outcome(current: ImageState, touched: bool,
                       overwrite_reviewed: bool) -> tuple[Outcome, ImageState | None]:
    """What a prediction does to an image in state `current`, with or without pixels a
    person touched, and the state it leaves: the one rule for a label on disk (`save`) and
    for an image open in the app (`ui.session.apply_prediction`).

    A reviewed image is kept unless the user asked to replace it; touched pixels keep their
    values (the image stays EDITED) unless the user asked to overwrite; else the prediction
    replaces the label (a reviewed image "replaced", any other "predicted")."""
    if current is ImageState.REVIEWED and not overwrite_reviewed:
        return "kept", None
    if touched and not overwrite_reviewed:
        return "merged", ImageState.EDITED
    return ("replaced" if current is ImageState.REVIEWED else "predicted"), ImageState.PREDICTED


def merge_concurrent(project: Project, entry: ImageEntry, mask: np.ndarray, state: ImageState,
                     touched: np.ndarray | None, base: np.ndarray | None,
                     disk_touched: np.ndarray | None) -> tuple[np.ndarray, ImageState]:
    """`mask` merged with the label another writer saved since this view read it (the
    folder lock is held); the state to save it with."""
    theirs = None
    if base is None:
        if disk_touched is None or state is not ImageState.EDITED:
            return mask, state   # nothing of a person's to keep (and no need to decode)
        theirs = disk_touched if touched is None else disk_touched & ~touched
        if not theirs.any():
            return mask, state
    try:
        disk = project.read_label(entry)
    except SegstudioError:
        return mask, state   # unusable on disk: this writer's label replaces it, as before
    if disk is None or disk.shape != mask.shape:
        return mask, state
    if base is not None:
        merged = np.where(mask != base, mask, disk)
        if state is ImageState.PREDICTED and disk_touched is not None:
            # Someone painted meanwhile: their pixels stay, and so does the image's EDITED.
            return np.where(disk_touched, disk, merged), ImageState.EDITED
        return merged, state
    return np.where(theirs, disk, mask), state


def _record_state(record: dict | None, label_exists: bool) -> ImageState:
    if not label_exists:
        return ImageState.UNLABELED
    if record is None or "state" not in record:
        return ImageState.REVIEWED
    return ImageState(record["state"])


def save(project: Project, entry: ImageEntry, mask: np.ndarray, state: ImageState,
         overwrite_reviewed: bool, confidence: float | None,
         touched: np.ndarray | None, base: np.ndarray | None = None) -> bool:
    if state is ImageState.UNLABELED:
        raise ValueError("save_label needs state PREDICTED, EDITED or REVIEWED")
    project.check_shape(entry, mask)
    if touched is not None:
        if touched.shape != mask.shape[:2]:
            raise ValueError(f"touched map {touched.shape} differs from the mask {mask.shape}")
        touched = np.asarray(touched, bool)
        if not touched.any():
            touched = None
    if base is not None and base.shape != mask.shape:
        raise ValueError(f"base label {base.shape} differs from the mask {mask.shape}")
    original = mask
    with project.locked():
        if project.classes_unsaved:
            # The label's values mean these classes: they reach segstudio.json first, or a
            # crash would leave labels beside the placeholder classes.
            project.save()
        # Both folders first: a refused label must not leave a touched map behind.
        project.check_inside(project.label_path(entry).parent)
        project.check_inside(project.touched_path(entry).parent)
        key = entry.key
        exists = project.label_exists(entry)
        before = project.record(key)
        current = _record_state(before, exists)
        old_touched = project.touched(entry) if exists else None
        if exists and project.label_changed(entry):
            mask, state = merge_concurrent(project, entry, mask, state, touched, base,
                                           old_touched)
        clear_touched = False
        if state is ImageState.PREDICTED:
            outcome, new_state = prediction_outcome(current, old_touched is not None,
                                                    overwrite_reviewed)
            if new_state is None:
                return False
            if outcome == "merged":
                mask = merge_prediction(project.read_label(entry), mask, old_touched)
            else:
                clear_touched = old_touched is not None
            state = new_state
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
            project.write_touched_file(entry, new_touched)
        if down:
            # Label first: until the record follows, the disk shows the higher state.
            project.write_label_file(entry, mask)
            project.journal(key, record, explicit=True)
        else:
            size = project.journal(key, record)
            try:
                project.write_label_file(entry, mask)
            except BaseException:
                project.unjournal(key, size, before)
                raise
        # The file now holds what this writer holds, or (merged) more than that.
        project.note_label(entry, known=mask is original)
        if clear_touched:
            project.remove_touched_file(entry)
        # The journal holds the record durably; segstudio.json catches up at the next flush.
        with contextlib.suppress(SegstudioError):
            project.flush_soon()
    return True
