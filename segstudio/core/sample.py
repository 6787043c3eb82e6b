"""A synthetic sample project, so a user with no data can try the whole loop.

Scenes are drawn by code (no third-party images): a sky gradient over textured ground, with
a few discs and boxes. Colours, sizes and the horizon vary per scene but each class keeps a
distinct look, so a small network fine-tuned for a minute on a CPU learns it visibly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_CLASSES = ("sky", "ground", "disc", "box")
SAMPLE_COLORS = ((70, 130, 230), (120, 90, 40), (230, 50, 50), (240, 200, 40))
IGNORE_INDEX = 255
# Fine-tune settings stored in the sample's project file: small crops, a high learning rate
# and few epochs, so ENet from scratch reaches a visible result in about a minute on a CPU.
SAMPLE_FINETUNE = {"steps": 100, "height": 144, "width": 192, "batch": 4, "lr": 1e-3}


def _noise(rng: np.random.Generator, h: int, w: int, scale: int) -> np.ndarray:
    """Smooth value noise in [-1, 1]: coarse random grid upsampled bilinearly."""
    gh, gw = max(2, h // scale + 2), max(2, w // scale + 2)
    grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    ys = np.linspace(0, gh - 1.001, h, dtype=np.float32)
    xs = np.linspace(0, gw - 1.001, w, dtype=np.float32)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    a = grid[y0][:, x0]
    b = grid[y0][:, x0 + 1]
    c = grid[y0 + 1][:, x0]
    d = grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def render_scene(
    rng: np.random.Generator, size: tuple[int, int] = (192, 256)
) -> tuple[np.ndarray, np.ndarray]:
    """One scene: (H, W, 3) uint8 RGB and its (H, W) uint8 label (indices of SAMPLE_CLASSES)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    label = np.zeros((h, w), np.uint8)

    horizon = int(h * rng.uniform(0.35, 0.6))
    sky_top = np.array([40, 90, 200], np.float32) + rng.uniform(-20, 20, 3)
    sky_low = np.array([150, 190, 240], np.float32) + rng.uniform(-20, 10, 3)
    t = np.clip(yy / max(horizon, 1), 0, 1)[..., None]
    img[:] = sky_top * (1 - t) + sky_low * t + 12 * _noise(rng, h, w, 48)[..., None]

    ground = yy >= horizon + 6 * _noise(rng, h, w, 64)
    base = np.array([110, 85, 45], np.float32) + rng.uniform(-20, 20, 3)
    texture = 30 * _noise(rng, h, w, 6) + 15 * _noise(rng, h, w, 24)
    green = np.array([-20, 25, -10], np.float32) * (_noise(rng, h, w, 32)[..., None] > 0.2)
    img[ground] = (base + texture[..., None] + green)[ground]
    label[ground] = 1

    for _ in range(int(rng.integers(1, 4))):
        r = rng.uniform(0.06, 0.16) * min(h, w)
        cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
        d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / r**2
        inside = d2 <= 1
        color = np.array([220, 50, 40], np.float32) + rng.uniform(-30, 30, 3)
        # Lit from the upper left, so discs look round rather than flat.
        light = ((yy - cy + 0.4 * r) ** 2 + (xx - cx + 0.4 * r) ** 2) / r**2
        shade = 1.1 - 0.5 * np.clip(light, 0, 1)
        img[inside] = (color * shade[..., None])[inside]
        label[inside] = 2

    for _ in range(int(rng.integers(1, 3))):
        bh, bw = rng.uniform(0.12, 0.3) * h, rng.uniform(0.1, 0.3) * w
        y0, x0 = rng.uniform(0, h - bh), rng.uniform(0, w - bw)
        inside = (yy >= y0) & (yy < y0 + bh) & (xx >= x0) & (xx < x0 + bw)
        color = np.array([235, 195, 40], np.float32) + rng.uniform(-25, 20, 3)
        stripes = 25 * (((xx - x0) // 6) % 2)[..., None]
        img[inside] = (color - stripes)[inside]
        label[inside] = 3

    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), label


def make_sample_project(
    folder: str | Path,
    *,
    count: int = 16,
    reviewed: int = 12,
    size: tuple[int, int] = (144, 192),
    seed: int = 0,
) -> Path:
    """Write `count` scenes into folder/images, the labels of the first `reviewed` of them
    (state reviewed) into folder/labels, and the class set into the project file.

    The other scenes are left unlabeled for the user to segment with the fine-tuned model.
    The project file also carries fine-tune settings that suit these small scenes.
    Returns the folder. Existing files of an earlier sample are overwritten.
    """
    from PIL import Image

    from segstudio.core.classes import ClassSet
    from segstudio.core.project import ImageState, Project

    root = Path(folder)
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    masks = {}
    for i in range(count):
        rgb, label = render_scene(rng, size)
        name = f"scene_{i + 1:02d}.png"
        Image.fromarray(rgb).save(images / name)
        masks[name] = label

    project = Project.open(root)
    project.classes = ClassSet(
        names=list(SAMPLE_CLASSES),
        colors=[tuple(c) for c in SAMPLE_COLORS],
        ignore_index=IGNORE_INDEX,
        name="sample scenes",
    )
    for entry in project.entries[:reviewed]:
        project.save_label(
            entry, masks[entry.path.name], state=ImageState.REVIEWED, overwrite_reviewed=True
        )
    project.settings["finetune"] = dict(SAMPLE_FINETUNE, height=size[0], width=size[1])
    project.save()
    return root
