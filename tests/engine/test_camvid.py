"""The engine on the real CamVid folders (skipped when ../shared/datasets/camvid is absent)."""

import math

import pytest

from segstudio.engine.checkpoint import default_checkpoint
from segstudio.engine.data import load_source

pytestmark = pytest.mark.camvid


def test_camvid_train_opens_as_training_data(camvid_root):
    source = load_source(camvid_root / "train")
    assert len(source.samples) == 367
    assert source.classes.num_classes == 11 and source.classes.ignore_index == 11
    first = source.samples[0]
    assert first.image.suffix == ".jpg" and first.label.parent.name == "labels"


@pytest.mark.slow
def test_shipped_model_reproduces_its_recorded_val_miou(camvid_root):
    """`segstudio eval` (fast inference path, native resolution) agrees with the validation
    the training run recorded in the sidecar."""
    from segstudio.engine.evaluate import evaluate
    from segstudio.engine.predict import Predictor

    path = default_checkpoint()
    if not path.exists():
        pytest.skip(f"default model not shipped at {path}")
    predictor = Predictor.from_checkpoint(path, "cpu")
    recorded = predictor.meta.metrics
    assert predictor.meta.settings["val_dir"].endswith("val")
    metrics = evaluate(predictor, camvid_root / "val")
    assert metrics["images"] == 101
    assert math.isclose(metrics["miou"], recorded["miou"], abs_tol=0.005)
    assert math.isclose(metrics["pixel_accuracy"], recorded["pixel_accuracy"], abs_tol=0.005)
