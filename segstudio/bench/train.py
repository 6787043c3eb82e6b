"""Benchmark suite 'train': images/s of one training epoch through `engine.train` against a
plain hand-written PyTorch loop (PIL decode per sample, the same augmentation, same model,
optimiser and batch) over the same images, alternating in the same run. Target ratio >= 1.0."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", type=int, default=32,
                        help="training images (default 32, from CamVid train or generated)")
    parser.add_argument("--size", default="180x240", help="crop size HxW (default 180x240)")
    parser.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds of one epoch each; each side's best "
                        "round is kept (the least disturbed by other processes)")
    parser.add_argument("--arch", default="enet", help="architecture (default enet)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for both sides (default 1: on a shared machine "
                        "two OpenMP threads turn every other process's burst into a stall)")


def camvid_root() -> Path | None:
    """../shared/datasets/camvid beside the checkout (or $SEGSTUDIO_CAMVID), if present."""
    from segstudio.paths import RESOURCES

    root = Path(os.environ.get("SEGSTUDIO_CAMVID",
                               RESOURCES.parent.parent / "shared" / "datasets" / "camvid"))
    return root if (root / "classes.json").is_file() else None


def _dataset(count: int, folder: Path) -> str:
    """folder/images + folder/labels (+ classes.json): links into CamVid, or generated."""
    (folder / "images").mkdir()
    (folder / "labels").mkdir()
    root = camvid_root()
    if root is not None:
        images = sorted((root / "train" / "images").glob("*.jpg"))[:count]
        for image in images:
            (folder / "images" / image.name).symlink_to(image)
            label = root / "train" / "labels" / (image.stem + ".png")
            (folder / "labels" / label.name).symlink_to(label)
        (folder / "classes.json").symlink_to(root / "classes.json")
        return f"CamVid train ({len(images)} x 480x360)"
    import numpy as np
    from PIL import Image

    from segstudio.core.sample import SAMPLE_CLASSES, SAMPLE_COLORS, render_scene

    rng = np.random.default_rng(0)
    for i in range(count):
        image, label = render_scene(rng, (360, 480))
        Image.fromarray(image).save(folder / "images" / f"s{i:03d}.jpg", quality=95)
        Image.fromarray(label).save(folder / "labels" / f"s{i:03d}.png")
    from segstudio.core.classes import ClassSet

    ClassSet(list(SAMPLE_CLASSES), [tuple(c) for c in SAMPLE_COLORS], 255).save(
        folder / "classes.json")
    return f"generated scenes ({count} x 480x360)"


def _plain_loop(folder: Path, args: argparse.Namespace, size: tuple[int, int], device) -> float:
    """The loop a tutorial would write; returns images/s of one epoch (model build excluded)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    from segstudio.core.classes import ClassSet
    from segstudio.engine.augment import to_tv, train_transform
    from segstudio.models import build_model, model_info

    classes = ClassSet.load(folder / "classes.json")
    info = model_info(args.arch)
    mean = torch.tensor(info.mean).view(3, 1, 1)
    std = torch.tensor(info.std).view(3, 1, 1)
    transform = train_transform(size, classes.ignore_index)
    names = sorted(p.name for p in (folder / "images").iterdir())

    class Plain(Dataset):
        def __len__(self) -> int:
            return len(names)

        def __getitem__(self, i: int):
            image = np.array(Image.open(folder / "images" / names[i]).convert("RGB"))
            label = np.array(Image.open(folder / "labels" / (Path(names[i]).stem + ".png")))
            img, mask = transform(*to_tv(image, label))
            x = (img.as_subclass(torch.Tensor).float() / 255 - mean) / std
            return x, mask.as_subclass(torch.Tensor).long()

    torch.manual_seed(0)
    model = build_model(args.arch, classes.num_classes).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, weight_decay=2e-4)
    loader = DataLoader(Plain(), batch_size=args.batch, shuffle=True)
    t0 = time.perf_counter()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y, ignore_index=classes.ignore_index)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(names) / (time.perf_counter() - t0)


def _ours(folder: Path, args: argparse.Namespace, size: tuple[int, int], device,
          out: Path) -> tuple[float, float]:
    """images/s of the training phase of one epoch, and the set-up seconds before it."""
    from segstudio.engine.train import TrainConfig, train

    config = TrainConfig(arch=args.arch, data=folder, out_dir=out, epochs=1, size=size,
                         batch=args.batch, val_fraction=0.0, device=str(device),
                         schedule="constant")
    t0 = time.perf_counter()
    result = train(config)
    total = time.perf_counter() - t0
    epoch = result.epoch_seconds[0]
    return result.train_images / epoch, total - epoch


def run(args: argparse.Namespace) -> dict:
    from segstudio.cli.options import parse_size, set_threads
    from segstudio.engine.device import device_name, select_device

    set_threads(args.threads)
    size = parse_size(args.size)
    device = select_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        folder.mkdir()
        source = _dataset(args.images, folder)
        ours, plain, setup = [], [], []
        for r in range(max(1, args.rounds)):
            rate, setup_s = _ours(folder, args, size, device, Path(tmp) / f"out{r}")
            ours.append(rate)
            setup.append(setup_s)
            plain.append(_plain_loop(folder, args, size, device))
    result = {
        "device": device_name(device),
        "arch": args.arch,
        "images": source,
        "size": list(size),
        "batch": args.batch,
        "segstudio_train": {"images_per_s": max(ours),
                            "setup_s": statistics.median(setup)},
        "plain_loop": {"images_per_s": max(plain)},
        "ratio": max(ours) / max(plain),
        "target_ratio": 1.0,
    }
    if not args.json:
        print(f"train benchmark on {result['device']}: {args.arch}, {source}, crops "
              f"{size[0]}x{size[1]}, batch {args.batch}")
        ours_d = result["segstudio_train"]
        print(f"  {'segstudio train (one epoch)':<30}{ours_d['images_per_s']:8.2f} img/s"
              f"  (+{ours_d['setup_s']:.1f} s set-up: decode, cache, checks)")
        print(f"  {'plain PyTorch loop':<30}{result['plain_loop']['images_per_s']:8.2f} img/s")
        print(f"  ratio {result['ratio']:.3f} (target >= 1.0; best of {args.rounds} rounds each)")
    return result
