"""Tiled prediction and the row-streaming reductions against straightforward references."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.classes import ClassSet
from segstudio.engine.checkpoint import CheckpointMeta
from segstudio.engine.logit_rows import LabelRows, UpsampledRows
from segstudio.engine.predict import Predictor
from segstudio.engine.tiled import tile_grid
from segstudio.engine.tiling import fit_tiles, ramp


def _meta(k: int = 3) -> CheckpointMeta:
    classes = ClassSet(names=[f"c{i}" for i in range(k)],
                       colors=[(40 * i + 10, 0, 0) for i in range(k)], ignore_index=255)
    return CheckpointMeta(arch="tiny", classes=classes, mean=(0.5, 0.5, 0.5),
                          std=(0.25, 0.25, 0.25))


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("length,tile,overlap,multiple",
                         [(8000, 1024, 128, 8), (6000, 1024, 128, 8), (1025, 1024, 128, 8),
                          (100, 64, 16, 8), (333, 64, 60, 1), (64, 64, 16, 8), (10, 64, 16, 8)])
def test_fit_tiles_cover_with_overlap_and_no_more(length, tile, overlap, multiple):
    starts, size = fit_tiles(length, tile, overlap, multiple)
    assert size <= min(tile, length) and starts[0] == 0 and starts[-1] + size == length
    for a, b in itertools.pairwise(starts):
        assert a < b and a + size - b >= overlap      # neighbours overlap enough
    if len(starts) > 1:
        # One tile fewer could not cover the length with that overlap at the tile size.
        n = len(starts) - 1
        assert n * tile - (n - 1) * overlap < length


def test_fit_tiles_compute_less_than_pushing_the_last_tile_back():
    starts, size = fit_tiles(8000, 1024, 128, 8)
    assert len(starts) * size / 8000 < 1.14 and size % 8 == 0


def _blended_reference(model, predictor, image):
    """What tiled prediction means, written plainly: every tile's logits times its window,
    summed over the whole image, divided by the summed windows, then softmax."""
    h, w = image.shape[:2]
    grid = tile_grid(h, w, predictor.tile, predictor.overlap, predictor.multiple)
    win = ramp(grid.height, predictor.overlap)[:, None] * ramp(grid.width, predictor.overlap)
    acc = torch.zeros(predictor.num_classes, h, w, dtype=torch.float64)
    wsum = torch.zeros(h, w, dtype=torch.float64)
    with torch.no_grad():
        for y in grid.ys:
            for x in grid.xs:
                crop = image[y:y + grid.height, x:x + grid.width]
                logits = predictor.logits(predictor.to_input(crop))[0].double()
                acc[:, y:y + grid.height, x:x + grid.width] += logits * win
                wsum[y:y + grid.height, x:x + grid.width] += win
    conf, labels = (acc / wsum).softmax(0).max(0)
    return labels.numpy().astype(np.uint8), conf.float().numpy(), grid


def test_tiled_path_equals_the_plain_blend_on_enet():
    from segstudio.models import build_model

    torch.manual_seed(0)
    model = build_model("enet", 5).eval()
    p = Predictor(model, _meta(5), "cpu", tile=128, overlap=32, scale="native")
    image = _image(300, 410, seed=1)
    ref_labels, ref_conf, grid = _blended_reference(model, p, image)
    assert grid.count > 6
    labels, conf = p.predict(image)
    assert np.abs(conf - ref_conf).max() < 1e-4
    # Labels agree wherever the top two classes are not a float-rounding tie.
    assert (labels == ref_labels).mean() > 0.9995


def test_tiled_equals_whole_image_for_a_per_pixel_network():
    """With no spatial context, tiling must not change anything beyond float rounding."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 1), nn.ReLU(), nn.Conv2d(16, 4, 1))
    image = _image(333, 517, seed=2)
    whole = Predictor(net, _meta(4), "cpu", tile=1024, scale="native").predict(image)
    tiled_p = Predictor(net, _meta(4), "cpu", tile=96, overlap=24, scale="native")
    assert tiled_p.plan(333, 517).tiles > 10
    tiled = tiled_p.predict(image)
    assert np.abs(whole[1] - tiled[1]).max() < 1e-5
    assert (whole[0] == tiled[0]).mean() > 0.9999


@pytest.mark.parametrize("src,out", [((7, 9), (50, 61)), ((40, 30), (13, 17)),
                                     ((1, 5), (9, 9)), ((23, 31), (23, 31))])
def test_upsampled_rows_equal_interpolating_the_whole_map(src, out):
    torch.manual_seed(0)
    logits = torch.randn(4, *src) * 3
    ref = F.interpolate(logits[None], size=out, mode="bilinear", align_corners=False)[0]
    ref_conf, ref_labels = ref.softmax(0).max(0)
    sink = LabelRows(*out)
    up = UpsampledRows(src, out, sink)
    # Source rows arrive in uneven bands, as tile rows finish.
    y, sizes = 0, itertools.cycle([3, 1, 5, 2])
    while y < src[0]:
        n = min(next(sizes), src[0] - y)
        up.put(y, logits[:, y:y + n].clone())
        y += n
    assert np.abs(sink.confidence - ref_conf.numpy()).max() < 1e-5
    assert (sink.labels == ref_labels.numpy()).mean() > 0.999


def test_label_rows_match_softmax_and_argmax():
    torch.manual_seed(1)
    logits = torch.randn(6, 70, 33) * 4
    conf, labels = logits.softmax(0).max(0)
    sink = LabelRows(70, 33)
    sink.put(0, logits.clone())
    assert np.array_equal(sink.labels, labels.numpy().astype(np.uint8))
    assert np.allclose(sink.confidence, conf.numpy(), atol=1e-6)
