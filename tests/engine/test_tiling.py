import itertools

import torch

from segstudio.engine.tiling import ramp, tile_starts, window


def test_tile_starts_cover_with_overlap():
    assert tile_starts(100, 128, 16) == [0]
    for length, tile, overlap in [(1000, 256, 32), (257, 256, 32), (8000, 1024, 128)]:
        starts = tile_starts(length, tile, overlap)
        assert starts[0] == 0 and starts[-1] + tile == length
        for a, b in itertools.pairwise(starts):
            assert 0 < b - a <= tile - overlap


def test_window_positive_and_flat_in_middle():
    r = ramp(64, 8)
    assert (r > 0).all() and r[32] == 1 and r[0] < 0.01 and r[0] < r[4] < r[8]
    assert torch.equal(r, r.flip(0))
    assert window(16, 32, 4).shape == (16, 32)
