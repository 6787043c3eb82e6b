"""The ablation behind engine.workflow.recipe's fitting-head settings (docs/learning.md).

Each variant fine-tunes the shipped ENet through engine.train with the given TrainConfig
fields on K frames of the first half of CamVid val (evenly spaced) and measures the best
checkpoint on the other half, next to the shipped model. Usage (JSON lines on stdout):

    python docs/experiments/adapt_ablation.py '[{"tag": "default"},
        {"tag": "adapt", "pretrained_lr": 0.3, "warmup": 20, "freeze_bn": true,
         "weighting": "enet", "steps": 400}]'

Keys: tag, k (default 10), and any TrainConfig field (defaults: the former app defaults,
200 steps of 4 crops of 240x320 at lr 1e-3, no class weighting, every layer alike).
"""
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from segstudio.bench.train import camvid_root
from segstudio.engine.checkpoint import default_checkpoint
from segstudio.engine.evaluate import evaluate
from segstudio.engine.predict import Predictor
from segstudio.engine.train import TrainConfig, train

VAL = camvid_root() / "val"
W = Path(tempfile.mkdtemp(prefix="segstudio-ablation-"))
names = sorted(p.stem for p in (VAL / "images").glob("*.jpg"))
part, rest = names[:50], names[50:]

def folder(dest, keys):
    if dest.exists():
        return dest
    (dest / "images").mkdir(parents=True)
    (dest / "labels").mkdir()
    for k in keys:
        (dest / "images" / f"{k}.jpg").symlink_to(VAL / "images" / f"{k}.jpg")
        (dest / "labels" / f"{k}.png").symlink_to(VAL / "labels" / f"{k}.png")
    shutil.copy(VAL.parent / "classes.json", dest / "classes.json")
    return dest

def spaced(items, n):
    return [items[round(i * (len(items) - 1) / max(n - 1, 1))] for i in range(n)]

held = folder(W / "held", rest)
shipped = default_checkpoint()
_ref = {}
def score(ckpt):
    key = str(ckpt)
    if key not in _ref:
        _ref[key] = evaluate(Predictor.from_checkpoint(ckpt, "cpu"), held)["miou"]
    return _ref[key]

def run(tag, k, **kw):
    proj = folder(W / f"p{k}", spaced(part, k))
    out = W / "runs" / f"{tag}-k{k}"
    shutil.rmtree(out, ignore_errors=True)
    base = dict(arch="enet", data=proj, out_dir=out, steps=200, size=(240, 320), batch=4, lr=1e-3,
                weighting="none", val_fraction=0.2, init=shipped, compare_to=shipped, epochs=1)
    base.update(kw)
    curve = []
    def prog(e):
        if e.kind == "epoch" and e.metrics and e.metrics.get("miou") is not None:
            curve.append(round(100 * e.metrics["miou"], 1))
    t0 = time.time()
    r = train(TrainConfig(**base), progress=prog)
    mins = (time.time() - t0) / 60
    after = score(r.best) if r.best else None
    row = dict(tag=tag, k=k, start=round(100 * score(shipped), 1),
               after=None if after is None else round(100 * after, 1),
               last=round(100 * score(r.last), 1) if r.last else None,
               curve=curve, minutes=round(mins, 2), best_epoch=r.best_epoch,
               kw={k2: v for k2, v in kw.items()})
    print(json.dumps(row), flush=True)
    return row

if __name__ == "__main__":
    torch.set_num_threads(2)
    variants = json.loads(sys.argv[1])
    for v in variants:
        tag, k = v.pop("tag"), v.pop("k", 10)
        for key in ("size", "scale_range"):
            if key in v:
                v[key] = tuple(v[key])
        run(tag, k, **v)
