"""SAM in `segstudio bench assist`: the same simulated person (RITM's next click at the
centre of the largest error, positive on a miss, negative on a spill) clicking SAM's points
on the whole image, which is encoded once (the window encodes it when it opens).

Where the SAM ViT-B weights are absent, NoC is not measured (random weights segment
nothing); `--sam-timing` still times the encoder and the decoder with ViT-B's shape and
random weights, whose compute is the same as the published network's.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from segstudio.bench.assist_sim import TARGETS, Trial, iou, next_click


def sam_trial(model, embedding, gt: np.ndarray, valid: np.ndarray, max_clicks: int) -> Trial:
    """Clicks on one object (whole-image masks): the first at the object's centre."""
    trial = Trial()
    pred = np.zeros_like(gt)
    points: list[tuple[float, float]] = []
    labels: list[int] = []
    for clicks in range(1, max_clicks + 1):
        click = next_click(pred, gt, valid)
        if click is None:
            break
        x, y, positive, _ = click
        points.append((x, y))
        labels.append(1 if positive else 0)
        t0 = time.perf_counter()
        pred = model.predict(embedding, points, labels)
        trial.latencies.append(time.perf_counter() - t0)
        trial.ious.append((clicks, iou(pred, gt, valid)))
        if trial.ious[-1][1] >= TARGETS[-1]:
            break
    return trial


def load(weights: Path | None, say) -> tuple[object | None, str]:
    """The model to measure and what it is; (None, why) when there is none."""
    from segstudio.assist.sam_session import DEFAULT_SPEC, how_to_get, load_model
    from segstudio.engine.weights import status

    if weights is not None:
        from segstudio.assist.sam import SamModel

        return SamModel.load(weights, DEFAULT_SPEC.config), str(weights)
    if not status(DEFAULT_SPEC.weights).present:
        return None, f"not measured: no weights here ({how_to_get()})"
    say(f"SAM: verifying and loading {status(DEFAULT_SPEC.weights).path}")
    return load_model(DEFAULT_SPEC), DEFAULT_SPEC.weights


def random_vit_b():
    """ViT-B's shape with random weights: for timing only."""
    import torch

    from segstudio.assist.sam import VIT_B, SamModel, build

    torch.manual_seed(0)
    return SamModel(build(VIT_B))


def timing(model, images: list[np.ndarray], clicks: int = 10) -> dict:
    """Encoder seconds per image and decoder milliseconds per click (RITM-like point sets
    of 1..clicks points) on this machine."""
    from segstudio.bench.timing import summary_ms

    encode, click = [], []
    rng = np.random.default_rng(0)
    for image in images:
        t0 = time.perf_counter()
        emb = model.encode(image)
        encode.append(time.perf_counter() - t0)
        h, w = image.shape[:2]
        points: list[tuple[float, float]] = []
        for k in range(clicks):
            points.append((float(rng.uniform(0, w)), float(rng.uniform(0, h))))
            t0 = time.perf_counter()
            model.predict(emb, points, [1] + [int(rng.integers(0, 2)) for _ in range(k)])
            click.append(time.perf_counter() - t0)
    return {"encoder_s": {k.replace("_ms", "_s"): round(v / 1000, 2)
                          for k, v in summary_ms(encode).items()},
            "click_ms": {k: round(v, 1) for k, v in summary_ms(click).items()},
            "images": len(images), "clicks": len(click)}
