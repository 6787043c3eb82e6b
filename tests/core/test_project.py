import json
import os

import numpy as np
import pytest
from PIL import Image

from segstudio.core import project as project_mod
from segstudio.core import project_store as store_mod
from segstudio.core.classes import ClassSet, builtin_classes
from segstudio.core.errors import LabelError, ProjectError, WriteError
from segstudio.core.labels import write_label
from segstudio.core.project import ImageState, Project


def _img(path, h=6, w=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(path)


@pytest.fixture
def plain(tmp_path):
    for name in ["img10.png", "img2.jpg", "IMG1.jpeg", "sub/a.bmp", "sub/deeper/b.tif"]:
        _img(tmp_path / name)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.png").write_bytes(b"")
    (tmp_path / ".img2.png.abc.tmp").write_bytes(b"orphaned temp")
    _img(tmp_path / "labels" / "img2.png")  # labels/ is never an image source
    _img(tmp_path / "checkpoints" / "x.png")
    _img(tmp_path / ".cache" / "y.png")
    return tmp_path


def test_plain_folder_listing(plain) -> None:
    p = Project.open(plain)
    assert p.images_dir == plain.resolve() and p.labels_dir == plain.resolve() / "labels"
    assert [e.key for e in p.entries] == [
        "IMG1.jpeg",
        "img2.jpg",
        "img10.png",
        "sub/a.bmp",
        "sub/deeper/b.tif",
    ]
    e = p.entry("sub/deeper/b.tif")
    assert e.path == plain.resolve() / "sub" / "deeper" / "b.tif"
    assert p.label_path(e) == plain.resolve() / "labels" / "sub" / "deeper" / "b.png"
    assert p.read_image(e).shape == (6, 8, 3)
    assert not (plain / "segstudio.json").exists()  # opening writes nothing


def test_images_folder_layout(tmp_path) -> None:
    _img(tmp_path / "images" / "0001.jpg")
    _img(tmp_path / "other.png")
    p = Project.open(tmp_path)
    assert [e.key for e in p.entries] == ["0001.jpg"]
    assert p.label_path(p.entries[0]) == tmp_path.resolve() / "labels" / "0001.png"


def test_states_derive_persist_and_protect_reviewed(plain) -> None:
    p = Project.open(plain)
    e2, e10 = p.entry("img2.jpg"), p.entry("img10.png")
    # A label file from before segstudio is a person's label.
    assert p.state(e2) is ImageState.REVIEWED
    assert p.state(e10) is ImageState.UNLABELED
    mask = np.ones((6, 8), np.uint8)
    assert p.save_label(e10, mask, state=ImageState.PREDICTED, confidence=0.8)
    assert p.state(e10) is ImageState.PREDICTED and p.confidence(e10) == 0.8
    # A prediction never replaces a reviewed label unless asked to.
    assert not p.save_label(e2, mask, state=ImageState.PREDICTED)
    assert p.read_label(e2).max() == 0
    assert p.save_label(e2, mask, state=ImageState.PREDICTED, overwrite_reviewed=True)
    assert p.read_label(e2).max() == 1
    p.save_label(e10, mask, state=ImageState.REVIEWED)
    assert p.confidence(e10) == 0.8  # kept: un-reviewing shows the model's figure again

    again = Project.open(plain)
    assert again.state(again.entry("img10.png")) is ImageState.REVIEWED
    assert again.state(again.entry("img2.jpg")) is ImageState.PREDICTED
    assert again.counts() == {
        ImageState.UNLABELED: 3,
        ImageState.PREDICTED: 1,
        ImageState.EDITED: 0,
        ImageState.REVIEWED: 1,
    }
    assert [e.key for e in again.reviewed_entries()] == ["img10.png"]
    assert json.loads((plain / "segstudio.json").read_text())["images"]["img10.png"] == {
        "state": "reviewed", "confidence": 0.8
    }


def test_set_state_and_missing_label(plain) -> None:
    p = Project.open(plain)
    e2, e10 = p.entry("img2.jpg"), p.entry("img10.png")
    p.set_state(e2, ImageState.UNLABELED)  # e.g. exclude a bad label from training
    assert Project.open(plain).state(e2) is ImageState.UNLABELED
    with pytest.raises(ProjectError, match="no label file"):
        p.set_state(e10, ImageState.REVIEWED)


def test_label_checks_against_the_image(plain) -> None:
    p = Project.open(plain)
    e = p.entry("img10.png")
    with pytest.raises(LabelError, match="mask is 3x2 but image is 8x6"):
        p.save_label(e, np.zeros((2, 3), np.uint8), state=ImageState.REVIEWED)
    write_label(p.label_path(e), np.zeros((5, 8), np.uint8), p.classes)
    with pytest.raises(LabelError, match="label is 8x5 but its image is 8x6"):
        p.read_label(e)
    assert p.read_label(p.entry("sub/a.bmp")) is None


def test_stem_collisions_get_distinct_label_files(tmp_path) -> None:
    _img(tmp_path / "a.jpg")
    _img(tmp_path / "a.png")
    _img(tmp_path / "b.jpg")
    p = Project.open(tmp_path)
    paths = {e.key: p.label_path(e).name for e in p.entries}
    assert paths == {"a.jpg": "a.jpg.png", "a.png": "a.png.png", "b.jpg": "b.png"}


def test_classes_from_classes_json_in_parent_then_persisted(tmp_path) -> None:
    builtin_classes("camvid").save(tmp_path / "classes.json")
    _img(tmp_path / "train" / "images" / "x.jpg")
    p = Project.open(tmp_path / "train")
    assert p.classes.num_classes == 11
    p.classes.rename(0, "Heaven")
    p.save()
    (tmp_path / "classes.json").unlink()
    assert Project.open(tmp_path / "train").classes.names[0] == "Heaven"


def test_default_classes_for_a_new_project(tmp_path) -> None:
    _img(tmp_path / "x.png")
    assert Project.open(tmp_path).classes.names == ["background", "object"]


def test_checkpoints_and_settings_persist(plain) -> None:
    p = Project.open(plain)
    ck = p.checkpoints_dir / "run1" / "best.safetensors"
    p.register_checkpoint(ck, "enet", {"miou": 0.5})
    p.register_checkpoint(ck, "enet", {"miou": 0.6})
    p.settings["arch"] = "enet"
    p.save()
    again = Project.open(plain)
    assert len(again.checkpoints) == 1
    rec = again.checkpoints[0]
    assert rec["path"] == "checkpoints/run1/best.safetensors" and rec["metrics"] == {"miou": 0.6}
    assert again.checkpoint_path(rec) == ck.resolve()
    assert again.settings == {"arch": "enet"}


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"version": 99}',
        '{"images": {"a.png": {"state": "bogus"}}}',
        '{"images": {"a.png": {"state": "predicted", "confidence": "high"}}}',
        '{"checkpoints": [{"arch": "enet"}]}',
        '{"classes": {"classes": []}}',
    ],
)
def test_bad_project_file_is_a_projecterror(plain, content) -> None:
    (plain / "segstudio.json").write_text(content)
    with pytest.raises(ProjectError, match=r"segstudio\.json"):
        Project.open(plain)


def test_missing_or_file_folder(tmp_path) -> None:
    with pytest.raises(ProjectError, match="no such folder"):
        Project.open(tmp_path / "nope")
    (tmp_path / "f.png").write_bytes(b"")
    with pytest.raises(ProjectError, match="not a folder"):
        Project.open(tmp_path / "f.png")


def test_unwritable_folder_raises_projecterror_and_changes_nothing(plain, monkeypatch) -> None:
    # The tests may run as root, where chmod cannot make a folder read-only: fail the write.
    def refuse(path, obj):
        raise WriteError(path, "cannot write: Read-only file system")

    monkeypatch.setattr(store_mod, "atomic_write_json", refuse)
    monkeypatch.setattr(store_mod.pf, "append_journal",
                        lambda path, *a: refuse(path, None))
    p = Project.open(plain)
    e = p.entry("img10.png")
    with pytest.raises(ProjectError, match="Read-only file system"):
        p.save_label(e, np.zeros((6, 8), np.uint8), state=ImageState.REVIEWED)
    assert p.state(e) is ImageState.UNLABELED
    assert not p.label_path(e).exists()
    with pytest.raises(ProjectError, match="cannot save the project"):
        p.save()


def test_batch_defers_project_file_writes(plain, monkeypatch) -> None:
    writes = []
    real = store_mod.atomic_write_json
    monkeypatch.setattr(
        store_mod, "atomic_write_json", lambda p, o: (writes.append(p), real(p, o))
    )
    p = Project.open(plain)
    with p.batch():
        for e in p.entries:
            p.save_label(
                e, np.zeros((6, 8), np.uint8), state=ImageState.PREDICTED, overwrite_reviewed=True
            )
            p.set_confidence(e, 0.5)
    assert len(writes) <= 3  # the first, maybe one timed flush, the last
    again = Project.open(plain)
    assert again.counts()[ImageState.PREDICTED] == 5


def test_listing_many_files_does_not_decode(tmp_path) -> None:
    # Empty files would fail to decode: listing and states must not touch their content.
    names = [f"frame_{i}.jpg" for i in range(1000)]
    for n in names:
        (tmp_path / n).touch()
    p = Project.open(tmp_path)
    assert [e.key for e in p.entries] == names  # natural order: frame_2 before frame_10
    assert p.counts()[ImageState.UNLABELED] == 1000


@pytest.mark.camvid
def test_opening_read_only_camvid_reads_human_labels(camvid_root) -> None:
    train = camvid_root / "train"
    before = sorted(os.listdir(train))
    p = Project.open(train)
    assert len(p.entries) == 367
    assert p.classes == ClassSet.load(camvid_root / "classes.json")
    assert p.counts()[ImageState.REVIEWED] == 367
    e = p.entries[0]
    assert p.read_label(e).shape == p.read_image(e).shape[:2] == (360, 480)
    assert sorted(os.listdir(train)) == before


def test_entries_are_immutable_hashable_and_picklable(plain) -> None:
    import dataclasses
    import pickle

    p = Project.open(plain)
    e = p.entry("sub/a.bmp")
    assert e == project_mod.ImageEntry("sub/a.bmp", plain.resolve() / "sub" / "a.bmp")
    assert {e: 1}[pickle.loads(pickle.dumps(e))] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.key = "x"
    with pytest.raises(ProjectError, match="not an image"):
        p.entry("nope.png")


def test_folder_marked_read_only_is_refused_even_for_root(plain) -> None:
    p = Project.open(plain)
    e = p.entry("img10.png")
    labels_mode = os.stat(p.labels_dir).st_mode
    os.chmod(p.labels_dir, 0o555)
    try:
        assert p.read_only
        with pytest.raises(ProjectError, match="read-only folder"):
            p.save_label(e, np.zeros((6, 8), np.uint8), state=ImageState.REVIEWED)
        assert p.state(e) is ImageState.UNLABELED and not p.label_path(e).exists()
    finally:
        os.chmod(p.labels_dir, labels_mode)
    assert not p.read_only
    assert p.save_label(e, np.zeros((6, 8), np.uint8), state=ImageState.REVIEWED)


@pytest.mark.camvid
def test_saving_into_read_only_camvid_is_a_projecterror(camvid_root) -> None:
    train = camvid_root / "train"
    p = Project.open(train)
    if not p.read_only:
        pytest.skip(f"{train} is writable here; not testing a save into the shared dataset")
    before = sorted(os.listdir(train)), sorted(os.listdir(train / "labels"))[:3]
    e = p.entries[0]
    with pytest.raises(ProjectError, match="read-only"):
        p.save_label(
            e, np.zeros((360, 480), np.uint8), state=ImageState.REVIEWED, overwrite_reviewed=True
        )
    with pytest.raises(ProjectError, match="read-only"):
        p.save()
    assert (sorted(os.listdir(train)), sorted(os.listdir(train / "labels"))[:3]) == before
    assert p.read_label(e).max() > 1  # still the human label


def test_worker_thread_saves_while_the_gui_thread_reads_and_saves(tmp_path) -> None:
    import threading

    for i in range(40):
        _img(tmp_path / f"{i}.png", 4, 4)
    p = Project.open(tmp_path)
    errors = []

    def worker():
        try:
            with p.batch():
                for e in p.entries:
                    p.save_label(
                        e, np.ones((4, 4), np.uint8), state=ImageState.PREDICTED, confidence=0.5
                    )
        except Exception as exc:  # surfaced below
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    while t.is_alive():
        p.counts()
        p.settings["seen"] = p.counts()[ImageState.PREDICTED]
        p.save()
    t.join()
    assert not errors
    again = Project.open(tmp_path)
    assert again.counts()[ImageState.PREDICTED] == 40
    assert all(again.confidence(e) == 0.5 for e in again.entries)


def test_classes_taken_in_memory_reach_the_file_before_the_first_label(tmp_path) -> None:
    # A bare folder that took a model's classes when it opened (classes_unsaved) has nothing
    # written into it; the first label writes the classes first, so labels never sit beside
    # the placeholder classes.
    _img(tmp_path / "a.png")
    p = Project.open(tmp_path)
    p.classes = builtin_classes("camvid")
    p.classes_unsaved = True
    assert not p.project_file.exists()
    mask = np.full((6, 8), 8, np.uint8)                       # Car: not a placeholder class
    assert p.save_label(p.entries[0], mask, state=ImageState.EDITED,
                        touched=np.ones((6, 8), bool))
    assert not p.classes_unsaved
    again = Project.open(tmp_path)
    assert again.classes.names == builtin_classes("camvid").names
    assert (again.read_label(again.entries[0]) == 8).all()
