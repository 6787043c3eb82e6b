import numpy as np
import torch

from segstudio.engine.augment import normalize_batch, to_tv, train_transform


def _pair(h=60, w=80):
    # The mask is a function of the image (class = red channel // 64), so a joint transform
    # must keep that relation wherever both are defined.
    rng = np.random.default_rng(0)
    red = rng.integers(0, 4, (h // 10, w // 10)).repeat(10, 0).repeat(10, 1).astype(np.uint8)
    image = np.stack([red * 64 + 10, red * 0, red * 0], axis=2).astype(np.uint8)
    return image, red


def test_train_transform_keeps_image_and_mask_aligned():
    image, label = _pair()
    t = train_transform((48, 64), ignore_index=9, jitter=0.0)
    for seed in range(5):
        torch.manual_seed(seed)
        img, mask = t(*to_tv(image, label))
        assert img.shape == (3, 48, 64) and img.dtype == torch.uint8
        assert mask.shape == (48, 64) and mask.dtype == torch.uint8
        # Away from class borders (bilinear blends there), image colour gives back the class.
        m = mask.int()
        interior = (m != 9)[1:-1, 1:-1]
        for dy, dx in [(0, 1), (1, 0), (0, -1), (-1, 0)]:
            interior &= m[1 + dy:m.shape[0] - 1 + dy, 1 + dx:m.shape[1] - 1 + dx] == m[1:-1, 1:-1]
        inferred = ((img[0].float() - 10) / 64).round().clamp(0, 3)[1:-1, 1:-1]
        agree = (inferred[interior] == m[1:-1, 1:-1][interior]).float().mean()
        assert agree > 0.97
        # Padding only ever introduces void, never a new class.
        assert set(mask.unique().tolist()) <= {0, 1, 2, 3, 9}


def test_random_scale_is_relative_to_the_image():
    image, label = _pair(60, 80)
    img, mask = train_transform((30, 40), 9, scale=(0.5, 0.5), jitter=0.0)(*to_tv(image, label))
    # Half size (30 x 40) equals the crop, so nothing is padded.
    assert img.shape == (3, 30, 40) and not (mask == 9).any()


def test_normalize_batch():
    mean = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    std = torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1)
    x = normalize_batch(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8), mean, std)
    assert torch.allclose(x, torch.full_like(x, 2.0))


def test_scale_crop_pads_only_with_void_and_scales_content():
    image, label = _pair(60, 80)
    # Scale 0.25: the 60x80 image becomes 15x20 inside a 30x40 crop; the rest is void padding.
    img, mask = train_transform((30, 40), 9, scale=(0.25, 0.25), jitter=0.0)(*to_tv(image, label))
    assert img.shape == (3, 30, 40)
    assert (mask != 9).sum() == 15 * 20
    assert (img[:, mask == 9] == 0).all()
