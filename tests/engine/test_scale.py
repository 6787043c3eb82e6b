"""The learnt pixel scale: parsing scales, the auto factor, what checkpoints record."""

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import ClassSet
from segstudio.core.labels import write_label
from segstudio.engine.checkpoint import CheckpointError, CheckpointMeta, read_checkpoint
from segstudio.engine.scale import DEFAULT_RANGE as SCALE_RANGE
from segstudio.engine.scale import (
    ScaleError,
    TrainScale,
    measure_train_scale,
    parse_scale,
    scaled_size,
    train_scale_of,
)

CAMVID = TrainScale((360, 480), (0.5, 2.0))


def test_parse_scale_accepts_names_and_factors():
    assert parse_scale("auto") == "auto" and parse_scale(" Native ") == "native"
    assert parse_scale("0.5") == 0.5 and parse_scale("2x") == 2.0 and parse_scale(3) == 3.0


@pytest.mark.parametrize("bad", ["", "big", "0", "-1", "nan", "inf", "100", None, True, [1]])
def test_parse_scale_rejects_with_one_line(bad):
    with pytest.raises(ScaleError) as exc:
        parse_scale(bad)
    assert "\n" not in str(exc.value) and "scale" in str(exc.value)


def test_frame_tolerance_and_auto_factor():
    assert CAMVID.frame == (360, 480) and CAMVID.tolerance == pytest.approx(2 ** 0.5)
    # An 8000x6000 upscaled frame goes back to exactly 480x360.
    factor = CAMVID.factor_for(6000, 8000)
    assert factor == pytest.approx(0.06) and scaled_size(6000, 8000, factor) == (360, 480)
    # Inside the middle of the learnt range (sqrt 2 either way): predicted as it is.
    assert CAMVID.factor_for(360, 480) == 1.0
    assert CAMVID.factor_for(480, 640) == 1.0 and CAMVID.factor_for(270, 360) == 1.0
    # Outside: resized to the frame's area, up or down.
    assert CAMVID.factor_for(720, 960) == pytest.approx(0.5)
    assert CAMVID.factor_for(48, 64) == pytest.approx(7.5)
    # A range not centred on 1 moves the frame: 0.25-1x of 1000 px images learnt 500 px.
    assert TrainScale((1000, 1000), (0.25, 1.0)).frame == (500, 500)
    assert "360x480" in CAMVID.describe()


def test_measure_takes_the_median_image_by_area():
    assert measure_train_scale([], SCALE_RANGE) is None
    sizes = [(6000, 8000), (8000, 6000), (3000, 4000), (6000, 8000), (100, 100)]
    scale = measure_train_scale(sizes, (0.5, 2.0))
    assert scale.image_size in {(6000, 8000), (8000, 6000)}   # a real size, not 7000x7000
    assert scale.scale_range == (0.5, 2.0) and scale.source == "images"


def test_train_scale_of_reads_image_headers(tmp_path):
    class Sample:
        def __init__(self, path):
            self.image = path

    samples = []
    for i, (h, w) in enumerate([(30, 40), (60, 80), (90, 120)]):
        path = tmp_path / f"{i}.png"
        Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(path)
        samples.append(Sample(path))
    scale = train_scale_of(samples)
    assert scale == TrainScale((60, 80), tuple(SCALE_RANGE))


def _classes():
    return ClassSet(names=["a", "b"], colors=[(1, 2, 3), (4, 5, 6)], ignore_index=255)


def test_meta_round_trip_and_older_checkpoints():
    meta = CheckpointMeta("enet", _classes(), (0.5,) * 3, (0.25,) * 3, train_size=(32, 48),
                          train_scale=TrainScale((6000, 8000), (0.5, 2.0)))
    d = json.loads(json.dumps(meta.to_dict()))
    assert d["train_scale"] == {"image_size": [6000, 8000], "scale_range": [0.5, 2.0],
                                "source": "images"}
    back = CheckpointMeta.from_dict(d)
    assert back.train_scale == meta.train_scale and back.learnt_scale() == meta.train_scale
    # Written before the field existed: its training size stands in.
    del d["train_scale"]
    old = CheckpointMeta.from_dict(d)
    assert old.train_scale is None
    assert old.learnt_scale() == TrainScale((32, 48), (0.5, 2.0), "train_size")
    d["train_size"] = None
    assert CheckpointMeta.from_dict(d).learnt_scale() is None


def test_invalid_recorded_scale_is_a_checkpoint_error(tmp_path):
    import torch

    from segstudio.engine.checkpoint import save_checkpoint
    from segstudio.models import build_model

    torch.manual_seed(0)
    meta = CheckpointMeta("enet", _classes(), (0.5,) * 3, (0.25,) * 3)
    path = save_checkpoint(build_model("enet", 2), tmp_path / "m", meta)
    sidecar = tmp_path / "m.json"
    bad = json.loads(sidecar.read_text()) | {"train_scale": {"image_size": [0, 5]}}
    sidecar.write_text(json.dumps(bad))
    # The copy embedded in the weights wins over the sidecar (and is valid).
    assert read_checkpoint(path)[1].train_scale is None
    # A sidecar-only checkpoint (no embedded metadata) with a broken scale is refused.
    from safetensors.torch import load_file, save_file

    save_file(load_file(path), path)
    with pytest.raises(CheckpointError) as exc:
        read_checkpoint(path)
    assert "train_scale" in str(exc.value) and "\n" not in str(exc.value)


def _big_folder(root, size, count=2, seed=0):
    """images/ + labels/ + classes.json: scenes drawn small and enlarged to `size`."""
    import cv2

    from segstudio.core.classes import ClassSet
    from segstudio.core.sample import SAMPLE_CLASSES, SAMPLE_COLORS, render_scene

    classes = ClassSet(list(SAMPLE_CLASSES), list(SAMPLE_COLORS), ignore_index=255)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    classes.save(root / "classes.json")
    rng = np.random.default_rng(seed)
    h, w = size
    for i in range(count):
        image, label = render_scene(rng, (96, 128))
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        label = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
        Image.fromarray(image).save(root / "images" / f"s{i}.jpg", quality=90)
        write_label(root / "labels" / f"s{i}.png", label, classes)
    return root


def test_training_records_the_scale_of_its_images(tmp_path, tiny_config):
    from segstudio.engine.predict import Predictor
    from segstudio.engine.train import train

    data = _big_folder(tmp_path / "data", (480, 640), count=3)
    result = train(tiny_config(data, tmp_path / "run", val_fraction=0.0, max_steps=1))
    _, meta = read_checkpoint(result.last)
    assert meta.train_scale == TrainScale((480, 640), tuple(SCALE_RANGE))
    assert meta.train_size == (32, 48)      # the crop size: not the scale
    predictor = Predictor.from_checkpoint(result.last, "cpu")
    assert predictor.factor_for(480, 640) == 1.0        # its own images: natively
    assert predictor.factor_for(4800, 6400) == pytest.approx(0.1)


@pytest.mark.slow
def test_fine_tuning_on_8000x6000_images_predicts_them_natively(tmp_path, tiny_config):
    """Fine-tuning the shipped CamVid model (learnt at 480x360) on native crops of 8000x6000
    photos records their scale: the fine-tuned model then predicts such photos natively,
    where the shipped one would shrink them 16x."""
    from segstudio.engine.checkpoint import default_checkpoint, save_checkpoint
    from segstudio.engine.predict import Predictor
    from segstudio.engine.train import train

    start = default_checkpoint()
    if not start.exists():
        from segstudio.core.classes import builtin_classes
        from segstudio.models import build_model, model_info

        info = model_info("enet")
        start = save_checkpoint(build_model("enet", 11), tmp_path / "start", CheckpointMeta(
            "enet", builtin_classes("camvid"), info.mean, info.std, train_size=(360, 480)))
    assert Predictor.from_checkpoint(start, "cpu").factor_for(6000, 8000) == \
        pytest.approx(0.06)
    data = _big_folder(tmp_path / "photos", (6000, 8000), count=1)
    result = train(tiny_config(data, tmp_path / "run", init=start, val_fraction=0.0,
                               max_steps=1, size=(360, 480), batch=1))
    tuned = Predictor.from_checkpoint(result.last, "cpu")
    assert tuned.meta.train_scale.image_size == (6000, 8000)
    assert tuned.factor_for(6000, 8000) == 1.0 and tuned.plan(6000, 8000).tiles > 1
