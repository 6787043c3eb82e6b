"""Prediction at an inference scale, progress inside an image, and cancel inside an image."""

import threading
import time

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from segstudio.core.classes import ClassSet
from segstudio.engine.checkpoint import CheckpointMeta
from segstudio.engine.predict import (
    PredictCancelled,
    Predictor,
    PredictProgress,
    predict_paths,
)
from segstudio.engine.scale import ScaleError, TrainScale


def _meta(k: int = 3, learnt: tuple[int, int] | None = (60, 80)) -> CheckpointMeta:
    classes = ClassSet(names=[f"c{i}" for i in range(k)],
                       colors=[(40 * i + 10, 0, 0) for i in range(k)], ignore_index=255)
    return CheckpointMeta(arch="tiny", classes=classes, mean=(0.5, 0.5, 0.5),
                          std=(0.25, 0.25, 0.25),
                          train_scale=TrainScale(learnt) if learnt else None)


def _net(k: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, k, 3, padding=1))


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_scale_is_validated_and_can_change():
    p = Predictor(_net(), _meta(), "cpu")
    assert p.scale == "auto"
    with pytest.raises(ScaleError):
        Predictor(_net(), _meta(), "cpu", scale="huge")
    with pytest.raises(ScaleError):
        p.scale = 0
    p.scale = "0.5"
    assert p.scale == 0.5 and p.factor_for(100, 100) == 0.5
    p.scale = "native"
    assert p.factor_for(6000, 8000) == 1.0


def test_plan_says_what_auto_does():
    p = Predictor(_net(), _meta(learnt=(60, 80)), "cpu", tile=256, overlap=32)
    assert p.plan(60, 80).factor == 1.0 and p.plan(60, 80).tiles == 1
    assert p.plan(600, 800).factor == pytest.approx(0.1) and p.plan(600, 800).size == (60, 80)
    p.scale = "native"
    assert p.plan(600, 800).factor == 1.0 and p.plan(600, 800).tiles > 1
    # No recorded scale and no training size: auto is native.
    assert Predictor(_net(), _meta(learnt=None), "cpu").plan(600, 800).factor == 1.0


def test_auto_predicts_small_and_upsamples_the_logits():
    p = Predictor(_net(), _meta(learnt=(60, 80)), "cpu")
    image = _image(600, 800, seed=1)
    labels, conf = p.predict(image)
    assert labels.shape == (600, 800) and conf.shape == (600, 800)
    # Reference: shrink the image, logits at 60x80, bilinear logits up, then softmax.
    small = cv2.resize(image, (80, 60), interpolation=cv2.INTER_AREA)
    logits = p.logits(p.to_input(small))
    up = F.interpolate(logits, size=(600, 800), mode="bilinear", align_corners=False)[0]
    ref_conf, ref_labels = up.softmax(0).max(0)
    assert np.abs(conf - ref_conf.numpy()).max() < 1e-5
    assert (labels == ref_labels.numpy()).mean() > 0.999
    # Upsampled logits, not labels: boundaries fall between the low-resolution pixels.
    assert len(np.unique(conf)) > 60 * 80


def test_factor_scales_tiled_prediction_too():
    p = Predictor(_net(), _meta(), "cpu", tile=64, overlap=16, scale=0.5)
    assert p.plan(300, 400).tiles > 1
    labels, conf = p.predict(_image(300, 400, seed=2))
    assert labels.shape == (300, 400) and np.isfinite(conf).all() and conf.min() > 0.3
    with pytest.raises(ScaleError) as exc:
        Predictor(_net(), _meta(), "cpu", scale=16).predict(_image(5000, 5000))
    assert "\n" not in str(exc.value)


def test_batch_path_only_for_unscaled_single_tiles():
    p = Predictor(_net(), _meta(learnt=(60, 80)), "cpu")
    assert p.one_forward([_image(60, 80), _image(60, 80, 1)])
    assert not p.one_forward([_image(600, 800)])
    out = p.predict_batch([_image(600, 800, s) for s in range(2)])
    assert [o[0].shape for o in out] == [(600, 800)] * 2


def test_on_tile_reports_each_tile():
    p = Predictor(_net(), _meta(), "cpu", tile=64, overlap=16, scale="native")
    seen = []
    p.predict(_image(150, 200), on_tile=lambda k, n: seen.append((k, n)))
    n = p.plan(150, 200).tiles
    assert seen == [(k, n) for k in range(1, n + 1)] and n > 4


def _slow_net(k: int = 3, delay: float = 0.02) -> nn.Module:
    class Slow(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, k, 1)

        def forward(self, x):
            time.sleep(delay)   # a network that takes a while per tile
            return self.conv(x)
    return Slow()


def test_cancel_from_another_thread_stops_inside_one_image():
    p = Predictor(_slow_net(delay=0.05), _meta(), "cpu", tile=64, overlap=8, scale="native")
    image = _image(2000, 2000)
    assert p.plan(2000, 2000).tiles > 500        # 30 s of tiles if it ran through
    flag = threading.Event()
    seen = []
    timer = threading.Timer(0.5, flag.set)
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(PredictCancelled):
        p.predict(image, on_tile=lambda k, n: seen.append(k), cancel=flag.is_set)
    stopped = time.perf_counter() - t0
    # Generous for a busy 2-core machine: the flag went up at 0.5 s, one tile is 0.05 s.
    assert 0 < len(seen) < p.plan(2000, 2000).tiles and stopped < 3.0


def _write(folder, sizes):
    paths = []
    for i, (h, w) in enumerate(sizes):
        path = folder / f"img{i}.png"
        Image.fromarray(_image(h, w, seed=i)).save(path)
        paths.append(path)
    return paths


def test_predict_paths_reports_tiles_of_the_current_image(tmp_path):
    paths = _write(tmp_path, [(40, 50), (200, 260), (40, 50)])
    p = Predictor(_net(), _meta(), "cpu", tile=64, overlap=16, scale="native")
    events: list[PredictProgress] = []
    results = list(predict_paths(p, paths, progress=events.append))
    assert [r.labels.shape for r in results] == [(40, 50), (200, 260), (40, 50)]
    tiles = [e for e in events if e.tiles_total is not None]
    n = p.plan(200, 260).tiles
    assert [e.tiles_done for e in tiles] == list(range(1, n + 1))
    assert all(e.path == paths[1] and e.tiles_total == n and e.done == 1 and e.total == 3
               for e in tiles)
    finished = [e for e in events if e.tiles_total is None]
    assert [e.done for e in finished] == [1, 2, 3]
    assert all(e.eta_s is not None and e.eta_s >= 0 for e in events)


def test_predict_paths_cancel_inside_a_big_image(tmp_path):
    paths = _write(tmp_path, [(40, 50), (1500, 1500), (40, 50)])
    p = Predictor(_slow_net(delay=0.05), _meta(), "cpu", tile=64, overlap=8, scale="native")
    flag = threading.Event()

    def progress(event):
        if event.tiles_done == 3:
            threading.Timer(0.2, flag.set).start()
    t0 = time.perf_counter()
    results = list(predict_paths(p, paths, progress=progress, cancel=flag.is_set))
    assert [r.path for r in results] == paths[:1]
    assert time.perf_counter() - t0 < 10.0     # the whole image would take ~25 s


def test_too_large_a_scale_is_a_result_error_and_the_run_goes_on(tmp_path):
    paths = _write(tmp_path, [(40, 50), (1100, 1100), (40, 50)])
    p = Predictor(_net(), _meta(), "cpu", scale=16)
    results = list(predict_paths(p, paths))
    assert results[0].error is None and results[2].error is None
    assert isinstance(results[1].error, ScaleError) and "img1.png" in str(results[1].error)
