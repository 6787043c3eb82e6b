import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from segstudio.core.classes import ClassSet
from segstudio.core.errors import ImageReadError
from segstudio.engine.checkpoint import CheckpointMeta
from segstudio.engine.predict import Predictor, predict_paths


def _meta(k: int = 3) -> CheckpointMeta:
    classes = ClassSet(names=[f"c{i}" for i in range(k)],
                       colors=[(40 * i + 10, 0, 0) for i in range(k)], ignore_index=255)
    return CheckpointMeta(arch="tiny", classes=classes, mean=(0.5, 0.5, 0.5),
                          std=(0.25, 0.25, 0.25))


def _local_net(k: int = 3) -> nn.Module:
    """Receptive field 7x7: far smaller than the tile overlap, so tiling must not matter."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, k, 3, padding=1))


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_outputs_and_confidence():
    p = Predictor(_local_net(), _meta(), "cpu")
    labels, conf = p.predict(_image(40, 50))
    assert labels.shape == (40, 50) and labels.dtype == np.uint8 and labels.max() < 3
    assert conf.shape == (40, 50) and conf.dtype == np.float32
    assert (conf >= 1 / 3 - 1e-6).all() and (conf <= 1).all()


def test_tiny_and_grey_images():
    p = Predictor(_local_net(), _meta(), "cpu")
    labels, _ = p.predict(_image(7, 5))
    assert labels.shape == (7, 5)
    labels, _ = p.predict(_image(20, 30)[:, :, 0])
    assert labels.shape == (20, 30)
    with pytest.raises(ValueError):
        p.predict(np.zeros((4, 4, 3), np.float32))


def test_tiled_equals_untiled_for_a_local_network():
    image = _image(150, 230, seed=3)
    whole = Predictor(_local_net(), _meta(), "cpu", tile=1024)
    tiled = Predictor(_local_net(), _meta(), "cpu", tile=64, overlap=16)
    l1, c1 = whole.predict(image)
    l2, c2 = tiled.predict(image)
    # Only pixels within the 3-pixel reach of a tile's zero padding differ, and only slightly.
    assert (l1 == l2).mean() > 0.995
    assert np.abs(c1 - c2).max() < 0.01


def test_tiled_close_to_untiled_on_enet():
    from segstudio.models import build_model

    torch.manual_seed(0)
    model = build_model("enet", 3).eval()
    image = _image(64, 160, seed=4)
    l1, _ = Predictor(model, _meta(), "cpu", tile=1024).predict(image)
    l2, _ = Predictor(model, _meta(), "cpu", tile=64, overlap=24).predict(image)
    assert (l1 == l2).mean() > 0.9


def test_batch_matches_single():
    p = Predictor(_local_net(), _meta(), "cpu")
    images = [_image(32, 40, seed=s) for s in range(3)]
    batch = p.predict_batch(images)
    for image, (labels, conf) in zip(images, batch, strict=True):
        l1, c1 = p.predict(image)
        assert np.array_equal(labels, l1) and np.allclose(conf, c1, atol=1e-5)


def _folder(tmp_path, n=4, bad_at=2):
    paths = []
    for i in range(n):
        path = tmp_path / f"img{i}.png"
        if i == bad_at:
            path.write_bytes(b"this is not a png")
        else:
            Image.fromarray(_image(24, 32, seed=i)).save(path)
        paths.append(path)
    return paths


def test_predict_paths_reports_errors_and_progress(tmp_path):
    paths = _folder(tmp_path)
    events, readers = [], set()

    def reader(path):
        from segstudio.core.imageio import read_image

        readers.add(threading.current_thread().name)
        return read_image(path)

    p = Predictor(_local_net(), _meta(), "cpu")
    results = list(predict_paths(p, paths, progress=events.append, reader=reader, batch=2))
    assert [r.path for r in results] == paths
    assert isinstance(results[2].error, ImageReadError) and results[2].labels is None
    assert all(r.error is None and r.labels.shape == (24, 32) for i, r in enumerate(results)
               if i != 2)
    assert [e.done for e in events] == [1, 2, 3, 4] and events[-1].total == 4
    assert events[-1].eta_s == 0
    # Decoding ran on the worker threads, not on the thread running the model.
    assert readers and all(name.startswith("decode") for name in readers)


def test_predict_paths_stops_on_cancel(tmp_path):
    paths = _folder(tmp_path, n=6, bad_at=-1)
    p = Predictor(_local_net(), _meta(), "cpu")
    seen = []
    results = predict_paths(p, paths, progress=seen.append, cancel=lambda: len(seen) >= 2)
    assert len(list(results)) == 2
