"""Benchmark suite 'core': the annotation core on large inputs, each next to the naive way
measured in the same run (the machine is shared, so ratios are what compare).

  brush_segment  one round-brush segment (radius 20, 40 px) on an 8000x6000 mask through
                 MaskDocument, against a full-mask snapshot for undo + drawing the same capsule
  undo_memory    history bytes after 100 strokes, against one full mask copy per step
                 (computed, not allocated); tracemalloc's count of what the steps really hold
  listing        Project.open + entries + counts on a 20,000-file folder, against a sorted
                 glob that opens each file with Pillow for its size
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--width", type=int, default=8000, help="mask width (default 8000)")
    parser.add_argument("--height", type=int, default=6000, help="mask height (default 6000)")
    parser.add_argument("--radius", type=float, default=20.0, help="brush radius in pixels")
    parser.add_argument("--length", type=float, default=40.0, help="segment length in pixels")
    parser.add_argument("--segments", type=int, default=300, help="timed brush segments")
    parser.add_argument("--strokes", type=int, default=100, help="strokes for undo memory")
    parser.add_argument("--files", type=int, default=20000, help="files in the listed folder")


def _brush(args: argparse.Namespace) -> dict:
    import cv2
    import numpy as np

    from segstudio.bench.timing import summary_ms
    from segstudio.core.editing import MaskDocument

    h, w, r, length = args.height, args.width, args.radius, args.length
    doc = MaskDocument(np.zeros((h, w), np.uint8), 255, history_bytes=2**40)
    per_row = max(1, int((w - 4 * r) // length))
    samples = []
    doc.begin_stroke()
    for i in range(args.segments + 5):
        # Each segment continues the stroke onto fresh pixels, as a drag does.
        x = 2 * r + (i % per_row) * length
        y = 2 * r + (i // per_row) * 3 * r
        t0 = time.perf_counter()
        doc.brush((x, y), (x + length, y), r, 1)
        if i >= 5:
            samples.append(time.perf_counter() - t0)
    doc.end_stroke()
    ours = summary_ms(samples)

    # The naive editor: snapshot the whole mask for undo, then draw the capsule.
    mask = np.zeros((h, w), np.uint8)
    snapshots = []
    naive_samples = []
    ri = round(r)
    for i in range(max(3, min(15, args.segments // 20))):
        x = round(2 * r + i * length)
        y = round(2 * r)
        t0 = time.perf_counter()
        snapshots = [mask.copy()]  # keep one alive so the copy is not optimised away
        cv2.line(mask, (x, y), (x + round(length), y), 1, 2 * ri + 1, cv2.LINE_8)
        cv2.circle(mask, (x, y), ri, 1, -1)
        cv2.circle(mask, (x + round(length), y), ri, 1, -1)
        naive_samples.append(time.perf_counter() - t0)
    del snapshots
    naive = summary_ms(naive_samples)
    return {
        "mask": [h, w],
        "radius": r,
        "length": length,
        "ours": ours,
        "naive": naive,
        "ratio": ours["median_ms"] / naive["median_ms"],
        "target_ms": 1.0,
    }


def _undo_memory(args: argparse.Namespace) -> dict:
    import tracemalloc

    import numpy as np

    from segstudio.core.editing import MaskDocument

    h, w, r = args.height, args.width, args.radius
    rng = np.random.default_rng(0)
    doc = MaskDocument(np.zeros((h, w), np.uint8), 255, history_bytes=2**40)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for s in range(args.strokes):
        # A 400 px drag in 10 segments at a random place and angle, painting class 1..3.
        x, y = rng.uniform(r, w - r), rng.uniform(r, h - r)
        angle = rng.uniform(0, 2 * np.pi)
        dx, dy = np.cos(angle) * args.length, np.sin(angle) * args.length
        doc.begin_stroke()
        for _ in range(10):
            nx = float(np.clip(x + dx, 0, w - 1))
            ny = float(np.clip(y + dy, 0, h - 1))
            doc.brush((x, y), (nx, ny), r, 1 + s % 3)
            x, y = nx, ny
        doc.end_stroke()
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    steps = len(doc.history)
    ours_mb = doc.history_nbytes / 1e6
    naive_mb = steps * h * w / 1e6
    return {
        "strokes": args.strokes,
        "steps": steps,
        "ours_mb": ours_mb,
        "traced_mb": (traced - base) / 1e6,
        "naive_mb": naive_mb,
        "ratio": ours_mb / naive_mb,
        "target_mb": 50.0,
    }


def _listing(args: argparse.Namespace) -> dict:
    import numpy as np
    from PIL import Image

    from segstudio.bench.timing import summary_ms
    from segstudio.core.listing import natural_key
    from segstudio.core.project import Project

    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, "PNG")
    tiny = buf.getvalue()
    folder = Path(tempfile.mkdtemp(prefix="segstudio-bench-"))
    try:
        # Unpadded numbers so natural sorting has real work to do.
        for i in range(args.files):
            (folder / f"img{i}.png").write_bytes(tiny)

        def ours() -> int:
            project = Project.open(folder)
            project.counts()
            return len(project.entries)

        def naive() -> int:
            paths = sorted(
                (p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".png"),
                key=lambda p: natural_key(p.name),
            )
            for p in paths:
                with Image.open(p) as img:
                    img.size  # noqa: B018 - the header read is the point
            return len(paths)

        ours_s, naive_s = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            n = ours()
            ours_s.append(time.perf_counter() - t0)
        assert n == args.files
        for _ in range(2):
            t0 = time.perf_counter()
            naive()
            naive_s.append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    o, nv = summary_ms(ours_s), summary_ms(naive_s)
    return {
        "files": args.files,
        "ours": o,
        "naive": nv,
        "ratio": o["median_ms"] / nv["median_ms"],
        "target_ms": 1000.0,
    }


def run(args: argparse.Namespace) -> dict:
    result = {
        "brush_segment": _brush(args),
        "undo_memory": _undo_memory(args),
        "listing": _listing(args),
    }
    if not getattr(args, "json", False):
        _print_table(result)
    return result


def _print_table(r: dict) -> None:
    b, u, ls = r["brush_segment"], r["undo_memory"], r["listing"]
    h, w = b["mask"]
    rows = [
        (
            f"brush segment r={b['radius']:g} len={b['length']:g} on {w}x{h} (median / p95 ms)",
            f"{b['ours']['median_ms']:.3f} / {b['ours']['p95_ms']:.3f}",
            f"{b['naive']['median_ms']:.2f} / {b['naive']['p95_ms']:.2f}",
            b["ratio"],
            f"< {b['target_ms']:g} ms",
        ),
        (
            f"undo memory after {u['strokes']} strokes (MB; traced {u['traced_mb']:.1f})",
            f"{u['ours_mb']:.2f}",
            f"{u['naive_mb']:.0f}",
            u["ratio"],
            f"< {u['target_mb']:g} MB",
        ),
        (
            f"list {ls['files']} files (median ms)",
            f"{ls['ours']['median_ms']:.0f}",
            f"{ls['naive']['median_ms']:.0f}",
            ls["ratio"],
            f"< {ls['target_ms']:g} ms",
        ),
    ]
    head = ("measure", "segstudio", "naive", "ratio", "target")
    widths = [
        max(len(str(x)) for x in col)
        for col in zip(head, *[(a, o, n, f"{q:.5f}", t) for a, o, n, q, t in rows], strict=True)
    ]
    line = "  ".join(f"{{:<{wd}}}" for wd in widths)
    print(line.format(*head))
    for a, o, n, q, t in rows:
        print(line.format(a, o, n, f"{q:.5f}", t))
