"""`segstudio bench assist`: clicks per object with the weight-free assisted tools (GrabCut
box, region brush, intelligent scissors) against the vertices a polygon needs, to 85% and
90% IoU (NoC@85, NoC@90), per tool and per class, with each click's latency and each
image's preparation time on this machine.

The objects are the connected regions (8-connected) of each chosen class in the label maps,
above a minimum size; the simulated person is in assist_sim.py. The defaults (12 CamVid val
images, 4 classes, the 3 largest objects of each class per image) take a few minutes on a
2-core CPU; --images 0 --per-image 0 takes every object of every image.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

TOOLS = ("box", "regions", "scissors", "polygon")
CLICK_TOOLS = ("box", "regions", "sam")    # fail after --max-clicks (RITM); contours do not
DEFAULT_CLASSES = "Building,SignSymbol,Car,Pedestrian"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="a labelled folder (images/ + labels/ + classes.json; default "
                        "../shared/datasets/camvid/val)")
    parser.add_argument("--images", type=int, default=12,
                        help="images taken, evenly spaced over the folder (0: all; default 12)")
    parser.add_argument("--classes", default=DEFAULT_CLASSES,
                        help=f"comma-separated class names, or 'all' (default {DEFAULT_CLASSES})")
    parser.add_argument("--min-size", type=int, default=300,
                        help="smallest object in pixels (default 300)")
    parser.add_argument("--per-image", type=int, default=3,
                        help="largest objects of each class per image (0: all; default 3)")
    parser.add_argument("--max-clicks", type=int, default=20,
                        help="clicks before a region tool counts as failed (RITM: 20)")
    parser.add_argument("--margin", type=int, default=48,
                        help="pixels of image around each object the tools see (default 48)")
    parser.add_argument("--sam", choices=("auto", "off"), default="auto",
                        help="auto: measure SAM where its ViT-B weights are present (the "
                        "weights manager's sam_vit_b, or --sam-weights); off: never")
    parser.add_argument("--sam-weights", type=Path, default=None,
                        help="a SAM ViT-B state dict to measure instead of sam_vit_b's file")
    parser.add_argument("--sam-timing", type=int, default=0, metavar="N",
                        help="without weights: time SAM ViT-B's encoder and decoder on N "
                        "images with random weights (the same compute; no NoC)")


def _data(args: argparse.Namespace) -> Path | None:
    if args.data is not None:
        return args.data
    from segstudio.bench.train import camvid_root

    root = camvid_root()
    return None if root is None else root / "val"


def objects(label, class_ids: list[int], min_size: int, per_image: int):
    """(class id, bool mask) of each connected region of the classes, largest first."""
    import cv2
    import numpy as np

    for c in class_ids:
        _, comp, stats, _ = cv2.connectedComponentsWithStats((label == c).astype(np.uint8), 8)
        order = [i for i in np.argsort(-stats[:, cv2.CC_STAT_AREA]) if i > 0
                 and stats[i, cv2.CC_STAT_AREA] >= min_size]
        for i in order[:per_image] if per_image > 0 else order:
            yield c, comp == i


def object_window(mask, margin: int, shape) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1): the object's box plus `margin` or 30% of its size, what the tools see
    (bench loop's action counts use the same)."""
    import numpy as np

    ys, xs = np.nonzero(mask)
    m = max(margin, int(0.3 * max(np.ptp(ys), np.ptp(xs))))
    return (max(0, ys.min() - m), max(0, xs.min() - m),
            min(shape[0], ys.max() + 1 + m), min(shape[1], xs.max() + 1 + m))


def run(args: argparse.Namespace) -> dict:
    from segstudio.assist.regions import RegionMap
    from segstudio.assist.scissors import Scissors
    from segstudio.bench import assist_sam
    from segstudio.bench import assist_sim as sim
    from segstudio.cli import UsageError
    from segstudio.core.project import Project

    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else \
        (lambda m: print(m, flush=True))
    folder = _data(args)
    if folder is None or not folder.is_dir():
        reason = ("../shared/datasets/camvid is absent; give --data FOLDER" if folder is None
                  else f"{folder} is not a folder")
        say(f"bench assist skipped: {reason}")
        return {"skipped": reason}
    project = Project.open(folder)
    classes = project.classes
    names = classes.names if args.classes == "all" else \
        [n.strip() for n in args.classes.split(",") if n.strip()]
    lower = {n.lower(): i for i, n in enumerate(classes.names)}
    unknown = [n for n in names if n.lower() not in lower]
    if unknown:
        raise UsageError(f"--classes: {', '.join(unknown)} not among {', '.join(classes.names)}")
    class_ids = [lower[n.lower()] for n in names]
    entries = [e for e in project.entries if project.has_label(e)]
    if args.images > 0 and len(entries) > args.images:
        step = len(entries) / args.images
        entries = [entries[int(i * step)] for i in range(args.images)]
    t_start = time.perf_counter()
    trials: list[tuple[int, dict[str, sim.Trial]]] = []
    prepare: dict[str, list[float]] = {"scissors": [], "regions": []}
    sam_model, sam_what = _sam(args, say)
    if sam_model is not None:
        prepare["sam_encoder"] = []
    for k, entry in enumerate(entries):
        image, label = project.read_image(entry), project.read_label(entry)
        prepare["scissors"].append(_seconds(lambda im=image: Scissors(im)))
        prepare["regions"].append(_seconds(
            lambda im=image: RegionMap(im).labels((0, 0, *im.shape[:2]))))
        valid_full = label != classes.ignore_index
        embedding = None
        if sam_model is not None:
            t0 = time.perf_counter()
            embedding = sam_model.encode(image)
            prepare["sam_encoder"].append(time.perf_counter() - t0)
        count = 0
        for c, mask in objects(label, class_ids, args.min_size, args.per_image):
            y0, x0, y1, x1 = object_window(mask, args.margin, label.shape)
            im, gt, valid = image[y0:y1, x0:x1], mask[y0:y1, x0:x1], valid_full[y0:y1, x0:x1]
            latencies: list[float] = []
            join = sim.ScissorsJoin(im, latencies)
            result = {
                "box": sim.box_trial(im, gt, valid, args.max_clicks),
                "regions": sim.regions_trial(RegionMap(im), gt, valid, args.max_clicks),
                "scissors": sim.contour_trial(gt, valid, join),
                "polygon": sim.contour_trial(gt, valid),
            }
            result["scissors"].latencies = latencies
            if embedding is not None:
                result["sam"] = assist_sam.sam_trial(sam_model, embedding, mask, valid_full,
                                                     args.max_clicks)
            trials.append((c, result))
            count += 1
        say(f"[{k + 1}/{len(entries)}] {entry.key}: {count} objects "
            f"({time.perf_counter() - t_start:.0f} s)")
    out = _figures(trials, classes.names, args.max_clicks, prepare)
    out["sam"] = sam_what
    if sam_model is None and args.sam_timing > 0 and args.sam == "auto":
        say(f"SAM timing: ViT-B with random weights on {min(args.sam_timing, len(entries))} "
            "images (timing only)")
        images = [project.read_image(e) for e in entries[: args.sam_timing]]
        out["sam_timing"] = {"weights": "random (ViT-B's shape: timing only, no NoC)",
                             **assist_sam.timing(assist_sam.random_vit_b(), images)}
    out.update(data=str(folder), images=len(entries), classes=names, min_size=args.min_size,
               per_image=args.per_image, max_clicks=args.max_clicks,
               seconds=round(time.perf_counter() - t_start, 1))
    if not args.json:
        print(summary(out))
    return out


def _sam(args: argparse.Namespace, say) -> tuple[object | None, str]:
    """The SAM model to measure (None: not measured) and what it is, in words."""
    if args.sam == "off":
        return None, "off (--sam off)"
    model = getattr(args, "sam_model", None)      # tests: a tiny model built in the test
    if model is not None:
        return model, "given"
    from segstudio.bench import assist_sam

    model, what = assist_sam.load(args.sam_weights, say)
    if model is None:
        say(f"SAM: {what}")
    return model, what


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _mean_noc(rows: list[dict], tool: str, target: float, cap: int) -> tuple[float, int]:
    values = [r[tool].noc(target, cap) if tool in CLICK_TOOLS else r[tool].vertices(target)
              for r in rows]
    return round(statistics.fmean(n for n, _ in values), 2), sum(not ok for _, ok in values)


def _figures(trials, names: list[str], cap: int, prepare: dict[str, list[float]]) -> dict:
    from segstudio.bench.timing import summary_ms

    rows = [r for _, r in trials]
    tools = TOOLS + (("sam",) if rows and "sam" in rows[0] else ())
    out: dict = {"objects": len(rows), "noc85": {}, "noc90": {}, "failed85": {},
                 "failed90": {}, "per_class": {}, "latency_ms": {}, "prepare_ms": {}}
    if not rows:
        return out
    for tool in tools:
        for target, key in ((0.85, "85"), (0.90, "90")):
            out[f"noc{key}"][tool], out[f"failed{key}"][tool] = _mean_noc(rows, tool, target, cap)
        lat = [s for r in rows for s in r[tool].latencies]
        if lat:
            out["latency_ms"][tool] = {k: round(v, 2) for k, v in summary_ms(lat).items()}
    for name, seconds in prepare.items():
        if seconds:
            out["prepare_ms"][name] = {k: round(v, 2) for k, v in summary_ms(seconds).items()}
    for c in sorted({c for c, _ in trials}):
        mine = [r for cc, r in trials if cc == c]
        out["per_class"][names[c]] = {"objects": len(mine), **{
            tool: {"noc85": _mean_noc(mine, tool, 0.85, cap)[0],
                   "noc90": _mean_noc(mine, tool, 0.90, cap)[0]} for tool in tools}}
    best = min(("box", "regions", "scissors"), key=lambda t: out["noc85"][t])
    if "sam" in tools:
        out["ratio85_sam"] = round(out["noc85"]["sam"] / out["noc85"]["polygon"], 3)
    out["best_tool85"] = best
    out["ratio85"] = round(out["noc85"][best] / out["noc85"]["polygon"], 3)
    return out


def summary(r: dict) -> str:
    if "skipped" in r:
        return f"skipped: {r['skipped']}"
    lines = [f"{r['objects']} objects of {', '.join(r['classes'])} in {r['images']} images "
             f"of {r['data']} (>= {r['min_size']} px); region tools fail after "
             f"{r['max_clicks']} clicks"]
    sam_line = _sam_line(r)
    if not r["objects"]:
        return "\n".join([lines[0], *sam_line])
    tools = [t for t in (*TOOLS, "sam") if t in r["noc85"]]
    lines.append(f"{'tool':<10}{'NoC@85':>8}{'NoC@90':>8}{'fail85':>8}{'fail90':>8}"
                 f"{'click ms (median/p95)':>24}")
    for tool in tools:
        lat = r["latency_ms"].get(tool)
        lat_text = f"{lat['median_ms']:.1f} / {lat['p95_ms']:.1f}" if lat else "-"
        lines.append(f"{tool:<10}{r['noc85'][tool]:>8.2f}{r['noc90'][tool]:>8.2f}"
                     f"{r['failed85'][tool]:>8}{r['failed90'][tool]:>8}{lat_text:>24}")
    lines.append(f"per class, NoC@85 ({' / '.join(tools)}):")
    for name, row in r["per_class"].items():
        lines.append(f"  {name:<12} {row['objects']:>3} objects  " + " / ".join(
            f"{row[t]['noc85']:.1f}" for t in tools))
    for name, p in r["prepare_ms"].items():
        lines.append(f"preparation per image, {name}: {p['median_ms']:.1f} ms median")
    lines.append(f"best weight-free tool at 85%: {r['best_tool85']}, {r['ratio85']:.2f} of the "
                 f"polygon's vertices ({r['seconds']} s)")
    return "\n".join(lines + sam_line)


def _sam_line(r: dict) -> list[str]:
    out = []
    if "ratio85_sam" in r:
        out.append(f"SAM ({r['sam']}) at 85%: {r['ratio85_sam']:.2f} of the polygon's vertices")
    elif r.get("sam"):
        out.append(f"SAM: {r['sam']}")
    t = r.get("sam_timing")
    if t:
        out.append(f"SAM timing, {t['weights']}: encoder {t['encoder_s']['median_s']:.1f} s "
                   f"per image (median of {t['images']}), decoder "
                   f"{t['click_ms']['median_ms']:.0f} ms per click (median of {t['clicks']}; "
                   f"p95 {t['click_ms']['p95_ms']:.0f})")
    return out
