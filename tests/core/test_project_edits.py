"""The EDITED state: touched pixels are recorded, accumulate, survive re-segmentation, and move
with the image through reviewing and un-reviewing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import builtin_classes
from segstudio.core.errors import ProjectError, WriteError
from segstudio.core.label_saving import merge_prediction
from segstudio.core.project import ImageState, Project

H, W = 12, 16


@pytest.fixture
def project(tmp_path) -> Project:
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / name)
    project = Project.open(tmp_path)
    project.classes = builtin_classes("camvid")
    return project


def _touch(y0, y1, x0, x1) -> np.ndarray:
    t = np.zeros((H, W), bool)
    t[y0:y1, x0:x1] = True
    return t


def test_edited_save_records_and_accumulates_touched(project) -> None:
    e = project.entry("a.png")
    assert project.touched(e) is None
    mask = np.zeros((H, W), np.uint8)
    project.save_label(e, mask, state=ImageState.PREDICTED)
    mask[0:4, 0:4] = 1
    assert project.save_label(e, mask, state=ImageState.EDITED, touched=_touch(0, 4, 0, 4))
    assert project.state(e) is ImageState.EDITED
    mask[8:10, 8:12] = 1
    project.save_label(e, mask, state=ImageState.EDITED, touched=_touch(8, 10, 8, 12))
    touched = project.touched(e)
    assert touched.sum() == 16 + 8
    assert touched[0:4, 0:4].all() and touched[8:10, 8:12].all()
    # Persisted: another Project object (another window, the CLI) sees the same.
    again = Project.open(project.root)
    assert again.state(again.entry("a.png")) is ImageState.EDITED
    np.testing.assert_array_equal(again.touched(again.entry("a.png")), touched)
    # The store is hidden: never listed as an image or a label.
    assert [x.key for x in again.entries] == ["a.png", "b.png", "c.png"]


def test_prediction_on_edited_image_keeps_the_touched_pixels(project) -> None:
    e = project.entry("a.png")
    human = np.zeros((H, W), np.uint8)
    human[0:4, 0:4] = 2
    project.save_label(e, human, state=ImageState.EDITED, touched=_touch(0, 4, 0, 4))
    prediction = np.ones((H, W), np.uint8)
    assert project.save_label(e, prediction, state=ImageState.PREDICTED, confidence=0.7)
    label = project.read_label(e)
    assert (label[0:4, 0:4] == 2).all()           # the person's pixels
    assert (label[4:] == 1).all() and (label[:, 4:] == 1).all()   # the new prediction elsewhere
    assert project.state(e) is ImageState.EDITED
    assert project.confidence(e) == 0.7
    # On request the prediction replaces everything, and the touched record goes with it.
    assert project.save_label(e, prediction, state=ImageState.PREDICTED, overwrite_reviewed=True)
    assert (project.read_label(e) == 1).all()
    assert project.state(e) is ImageState.PREDICTED and project.touched(e) is None


def test_review_then_unreview_keeps_touched_and_confidence(project) -> None:
    e = project.entry("a.png")
    mask = np.zeros((H, W), np.uint8)
    project.save_label(e, mask, state=ImageState.PREDICTED, confidence=0.4)
    project.save_label(e, mask, state=ImageState.EDITED, touched=_touch(1, 3, 1, 3))
    project.save_label(e, mask, state=ImageState.REVIEWED)
    assert project.state(e) is ImageState.REVIEWED
    assert project.touched(e).sum() == 4 and project.confidence(e) == 0.4
    # A prediction never touches it now.
    assert not project.save_label(e, np.ones((H, W), np.uint8), state=ImageState.PREDICTED)
    # Un-reviewing (an explicit action) brings back EDITED with the same pixels and figure.
    project.save_label(e, mask, state=ImageState.EDITED)
    assert project.state(e) is ImageState.EDITED
    assert project.touched(e).sum() == 4 and project.confidence(e) == 0.4


def test_edited_without_touched_pixels_is_a_prediction(project) -> None:
    e = project.entry("b.png")
    project.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.EDITED)
    assert project.state(e) is ImageState.PREDICTED
    with pytest.raises(ValueError, match="touched map"):
        project.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.EDITED,
                           touched=np.ones((3, 3), bool))


def test_merge_prediction() -> None:
    current = np.full((2, 3), 5, np.uint8)
    pred = np.zeros((2, 3), np.uint8)
    touched = np.array([[True, False, False], [False, False, True]])
    out = merge_prediction(current, pred, touched)
    np.testing.assert_array_equal(out, [[5, 0, 0], [0, 0, 5]])
    assert merge_prediction(current, pred, None) is pred


def test_failed_label_write_leaves_memory_and_disk_agreeing(project, monkeypatch) -> None:
    """Disk full while a prediction replaces a reviewed label on request: the record must not
    say "predicted" for a file that still holds the person's label."""
    from segstudio.core import project as project_mod

    e = project.entry("c.png")
    human = np.full((H, W), 2, np.uint8)
    project.save_label(e, human, state=ImageState.REVIEWED)

    def full(path, mask, classes):
        raise WriteError(path, "cannot write: No space left on device")

    monkeypatch.setattr(project_mod, "write_label", full)
    with pytest.raises(ProjectError, match="No space left"):
        project.save_label(e, np.ones((H, W), np.uint8), state=ImageState.PREDICTED,
                           overwrite_reviewed=True)
    monkeypatch.undo()
    assert project.state(e) is ImageState.REVIEWED
    on_disk = json.loads(project.project_file.read_text())["images"]["c.png"]
    assert on_disk["state"] == "reviewed"
    assert (project.read_label(e) == 2).all()

    # Marking reviewed when the label cannot be written: the record is put back too.
    e2 = project.entry("b.png")
    project.save_label(e2, np.zeros((H, W), np.uint8), state=ImageState.PREDICTED)
    monkeypatch.setattr(project_mod, "write_label", full)
    with pytest.raises(ProjectError):
        project.save_label(e2, np.ones((H, W), np.uint8), state=ImageState.REVIEWED)
    monkeypatch.undo()
    assert project.state(e2) is ImageState.PREDICTED
    assert json.loads(project.project_file.read_text())["images"]["b.png"]["state"] == "predicted"
    assert Project.open(project.root).state(e2) is ImageState.PREDICTED


def test_batch_records_are_durable_before_segstudio_json_is_rewritten(project) -> None:
    """Predicting a folder writes segstudio.json only every few seconds; a kill in between
    must not turn the predictions into "reviewed" (a label without a record would be)."""
    e = project.entry("a.png")
    with project.batch():
        project.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.PREDICTED,
                           confidence=0.3)
        assert not project.project_file.exists()      # not flushed yet...
        other = Project.open(project.root)            # ...as seen after a kill right now
        assert other.state(other.entry("a.png")) is ImageState.PREDICTED
        assert other.confidence(other.entry("a.png")) == 0.3
    data = json.loads(project.project_file.read_text())
    assert data["images"]["a.png"] == {"state": "predicted", "confidence": 0.3}
    assert (project.store_dir / "journal.jsonl").stat().st_size == 0


def test_disk_full_in_a_batch_writes_neither_record_nor_label(project, monkeypatch) -> None:
    from segstudio.core import project_store as store_mod

    e = project.entry("b.png")

    def full(path, *args):
        raise WriteError(path, "cannot write: No space left on device")

    monkeypatch.setattr(store_mod.pf, "append_journal", full)
    with project.batch(), pytest.raises(ProjectError, match="No space left"):
        project.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.PREDICTED)
    assert project.state(e) is ImageState.UNLABELED
    assert not project.label_path(e).exists()
    monkeypatch.undo()
    assert Project.open(project.root).state(e) is ImageState.UNLABELED


def test_torn_journal_line_is_ignored(project) -> None:
    e = project.entry("a.png")
    with project.batch():
        project.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.PREDICTED)
        with open(project.store_dir / "journal.jsonl", "ab") as f:
            f.write(b'{"key": "b.png", "record": {"sta')   # killed mid-append
        other = Project.open(project.root)
        assert other.state(other.entry("a.png")) is ImageState.PREDICTED
        assert other.state(other.entry("b.png")) is ImageState.UNLABELED


def test_prediction_outcome_is_the_one_rule() -> None:
    """What a prediction does, by state, touched pixels and the user's explicit overwrite:
    the rule both the disk save and the app's open document follow."""
    from segstudio.core.label_saving import prediction_outcome

    S = ImageState
    assert prediction_outcome(S.REVIEWED, False, False) == ("kept", None)
    assert prediction_outcome(S.REVIEWED, True, False) == ("kept", None)
    assert prediction_outcome(S.REVIEWED, True, True) == ("replaced", S.PREDICTED)
    assert prediction_outcome(S.EDITED, True, False) == ("merged", S.EDITED)
    assert prediction_outcome(S.EDITED, True, True) == ("predicted", S.PREDICTED)
    assert prediction_outcome(S.PREDICTED, False, False) == ("predicted", S.PREDICTED)
    assert prediction_outcome(S.UNLABELED, False, False) == ("predicted", S.PREDICTED)
