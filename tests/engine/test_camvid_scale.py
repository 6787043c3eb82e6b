"""The shipped ENet (learnt on 480x360 CamVid frames) on a frame enlarged to 8000x6000."""

import cv2
import numpy as np
import pytest

from segstudio.core.imageio import read_image
from segstudio.engine.checkpoint import default_checkpoint
from segstudio.engine.predict import Predictor

pytestmark = [pytest.mark.camvid, pytest.mark.slow]


@pytest.fixture(scope="module")
def shipped():
    path = default_checkpoint()
    if not path.exists():
        pytest.skip(f"default model not shipped at {path}")
    return Predictor.from_checkpoint(path, "cpu")


@pytest.fixture(scope="module")
def frame(camvid_root):
    return read_image(sorted((camvid_root / "val" / "images").glob("*.jpg"))[0])


def _at_centres(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The big label map sampled at the centres of the small frame's pixels."""
    h, w = labels.shape
    ys = ((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(int)
    xs = ((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(int)
    return labels[ys][:, xs]


def test_auto_scale_gives_the_frames_labels_at_8000x6000(shipped, frame):
    assert shipped.scale == "auto" and frame.shape[:2] == (360, 480)
    small_labels, small_conf = shipped.predict(frame)
    big = cv2.resize(frame, (8000, 6000), interpolation=cv2.INTER_CUBIC)
    plan = shipped.plan(6000, 8000)
    assert plan.size == (360, 480) and plan.tiles == 1
    labels, conf = shipped.predict(big)
    assert labels.shape == (6000, 8000) and conf.shape == (6000, 8000)
    assert (_at_centres(labels, (360, 480)) == small_labels).mean() > 0.97
    assert abs(float(conf.mean()) - float(small_conf.mean())) < 0.02


def test_native_scale_gives_the_wrong_scale_result(shipped, frame):
    """What the issue saw: at native scale each 1024 px tile shows a few 16x enlarged
    objects, which the network reads as road. One tile's window shows it (the whole image
    takes a minute on a CPU)."""
    small_labels, _ = shipped.predict(frame)
    big = cv2.resize(frame, (8000, 6000), interpolation=cv2.INTER_CUBIC)
    y, x = 2500, 3500
    window = big[y:y + 1024, x:x + 1024]
    shipped.scale = "native"
    try:
        labels, _ = shipped.predict(window)
    finally:
        shipped.scale = "auto"
    expected = cv2.resize(small_labels, (8000, 6000), interpolation=cv2.INTER_NEAREST)
    expected = expected[y:y + 1024, x:x + 1024]
    road = shipped.meta.classes.names.index("Road")
    assert (labels == expected).mean() < 0.3
    assert (labels == road).mean() > 0.4 and (expected == road).mean() < 0.1
