"""SAM through segment_anything with a tiny model the test builds (no download): loading a
state dict, masks of the image's shape that the points change, encoding cancelled between
blocks, the embedding cache, and the session's encoder thread (current image first, stale
work stopped, neighbours encoded ahead)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from segstudio.assist.sam import EncodeCancelled, SamError, SamModel
from segstudio.assist.sam_cache import EmbeddingCache, image_key
from segstudio.assist.sam_session import ModelSpec, SamSession
from tests.assist.sam_tiny import TINY, save_tiny


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("sam") / "tiny_sam.pth")


@pytest.fixture(scope="module")
def model(tiny_path):
    return SamModel.load(tiny_path, TINY)


def _image(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_predict_gives_a_mask_of_the_image_shape_that_points_change(model):
    emb = model.encode(_image(48, 80))
    assert emb.original_size == (48, 80) and emb.input_size == (38, 64)
    one = model.predict(emb, [(10.0, 10.0)], [1])
    assert one.shape == (48, 80) and one.dtype == bool
    with_negative = model.predict(emb, [(10.0, 10.0), (60.0, 30.0)], [1, 0])
    other_positive = model.predict(emb, [(10.0, 10.0), (60.0, 30.0)], [1, 1])
    assert with_negative.shape == (48, 80)
    assert (with_negative != other_positive).any()
    assert not model.predict(emb).any()                     # no prompt: nothing
    boxed = model.predict(emb, box=(5.0, 5.0, 40.0, 30.0))
    assert boxed.shape == (48, 80)


def test_encode_is_cancelled_between_blocks(model):
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 1                               # after the first block

    with pytest.raises(EncodeCancelled):
        model.encode(_image(), cancel=cancel)
    assert len(calls) == 2


def test_a_file_that_is_not_sam_is_one_line(tmp_path, tiny_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(SamError, match="not a SAM weights file"):
        SamModel.load(bad, TINY)
    import dataclasses

    other = dataclasses.replace(TINY, encoder_dim=48)
    with pytest.raises(SamError, match="does not fit SAM") as err:
        SamModel.load(tiny_path, other)
    assert "\n" not in str(err.value)


def test_the_cache_is_bounded_lru_and_keeps_the_wanted(tmp_path):
    cache = EmbeddingCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1                              # a is now the most recent
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"]
    cache.put("d", 4, keep=("a", "c", "d"))                 # all wanted: over capacity
    assert set(cache.keys()) == {"a", "c", "d"}
    assert cache.get("zzz") is None and cache.hits == 1 and cache.misses == 1
    f = tmp_path / "x.png"
    f.write_bytes(b"1")
    k1 = image_key(f)
    time.sleep(0.01)
    f.write_bytes(b"22")
    assert image_key(f) != k1                               # a replaced file is new


def test_session_encodes_the_current_image_then_neighbours_and_hits_the_cache(model, tmp_path):
    from PIL import Image

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(_image(seed=i)).save(paths[-1])
    keys = [image_key(p) for p in paths]
    session = SamSession(model=model, capacity=3)
    try:
        session.open_image(keys[0], _image(seed=0), neighbours=[(keys[1], paths[1])])
        assert session.wait(30)
        session.add_point((20.0, 20.0), True)
        mask = session.mask(hover=(40.0, 30.0))
        assert mask is not None and mask.shape == (48, 64)
        deadline = time.monotonic() + 30
        while not session.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert keys[1] in session.cache and session.encodes == 2
        session.open_image(keys[1], _image(seed=1))         # encoded ahead: ready at once
        assert session.ready and session.points == []
        session.open_image(keys[0], _image(seed=0))         # back: still cached
        assert session.ready and session.encodes == 2
        session.request(session.prompt(hover=(10.0, 10.0)))
        deadline = time.monotonic() + 30
        while session.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert session.result(session.prompt(hover=(10.0, 10.0))) is not None
        assert session.result(session.prompt(hover=(11.0, 10.0))) is None   # another prompt
    finally:
        session.close()


class SlowModel:
    """Encodes in 20 steps of 20 ms, checking cancel between them (like the ViT's blocks)."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.release = threading.Event()

    def encode(self, image, cancel=None):
        self.started.append(int(image[0, 0, 0]))
        for _ in range(20):
            if cancel is not None and cancel():
                raise EncodeCancelled()
            time.sleep(0.02)
        return {"image": int(image[0, 0, 0])}

    def predict(self, emb, points, labels, box=None):
        return np.ones((4, 4), bool)


def test_moving_on_stops_stale_encoding_and_never_waits():
    model = SlowModel()
    session = SamSession(model=model)
    try:
        a, b = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 7, np.uint8)
        session.open_image("a", a)
        deadline = time.monotonic() + 5
        while not model.started and time.monotonic() < deadline:
            time.sleep(0.005)
        t = time.perf_counter()
        session.open_image("b", b)                          # moves on while "a" encodes
        assert time.perf_counter() - t < 0.05               # never waits for the encoder
        assert session.encoding and not session.ready
        assert session.wait(10)
        assert session.cancelled == 1 and "a" not in session.cache
        assert session.embedding() == {"image": 7}
    finally:
        session.close()


def test_missing_weights_say_so_in_the_session(monkeypatch, tmp_path):
    from segstudio.engine import weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    entry = weights.WeightsEntry("sam_test_missing", "sam_test.pth", "test", (),
                                 "http://127.0.0.1:9/sam_test.pth", 10, kind="assist",
                                 digest="0" * 64)
    with weights.registered(entry):
        session = SamSession(ModelSpec("sam_test_missing", TINY))
        try:
            session.open_image("k", _image())
            assert not session.wait(5)
            assert "not here" in session.error and "weights fetch sam_test_missing" in session.error
        finally:
            session.close()


@pytest.mark.parametrize("piece", [10**9, 4096, 1])
@pytest.mark.parametrize("batch", [1, 3])
def test_piecewise_attention_is_segment_anythings_attention(monkeypatch, piece, batch):
    # The encoder's attention computed in slices of heads or query rows (sam_attention.py)
    # gives segment_anything's result, whatever the slicing; the state dict is unchanged.
    import torch
    from segment_anything.modeling.image_encoder import Attention

    from segstudio.assist import sam_attention

    torch.manual_seed(0)
    original = Attention(32, num_heads=4, use_rel_pos=True, input_size=(6, 7)).eval()
    with torch.no_grad():
        original.rel_pos_h.normal_()
        original.rel_pos_w.normal_()
    sliced = Attention(32, num_heads=4, use_rel_pos=True, input_size=(6, 7)).eval()
    sliced.load_state_dict(original.state_dict())
    sam_attention.install(torch.nn.Sequential(sliced))
    assert type(sliced) is sam_attention.PiecewiseAttention
    assert sliced.state_dict().keys() == original.state_dict().keys()
    monkeypatch.setattr(sam_attention, "PIECE_BYTES", piece)
    x = torch.randn(batch, 6, 7, 32)
    with torch.inference_mode():
        assert torch.allclose(sliced(x), original(x), atol=1e-5, rtol=1e-5)
