"""`segstudio bench prompt`: the loop's own prediction as a prompt (issue 20, item 3).

The shipped ENet predicts each CamVid val image; for each ground-truth object (the connected
regions of the chosen classes, as `bench assist` takes them) that the prediction gets partly
wrong, a simulated person makes one click at the centre of the object's largest missed part
(RITM's next click) with the object's class. Three answers to that click are compared:

- **fill** (`F`): the whole 4-connected region of the predicted label under the click;
- **object fill** (`Shift+F`, weight-free): the pixels of similar colour connected to the
  click inside that region;
- **SAM object fill** where SAM's weights are present: SAM's mask for the click inside it.

The figures are the object's IoU inside its neighbourhood (the object plus 48 px or 30%)
before and after the click, and the pixels of the whole image that were right before and
wrong after (what the click broke). Void pixels count for neither.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from segstudio.bench.assist import DEFAULT_CLASSES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pathlib import Path

    parser.add_argument("--data", type=Path, default=None,
                        help="a labelled folder (default ../shared/datasets/camvid/val)")
    parser.add_argument("--images", type=int, default=12,
                        help="images taken, evenly spaced over the folder (0: all; default 12)")
    parser.add_argument("--classes", default=DEFAULT_CLASSES,
                        help=f"comma-separated class names (default {DEFAULT_CLASSES})")
    parser.add_argument("--min-size", type=int, default=300, help="smallest object (px)")
    parser.add_argument("--per-image", type=int, default=3,
                        help="largest objects of each class per image (0: all; default 3)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="the model whose prediction is the prompt (default: shipped ENet)")
    parser.add_argument("--sam", choices=("auto", "off"), default="auto",
                        help="auto: SAM too where its weights are present")


def run(args: argparse.Namespace) -> dict:
    import numpy as np

    from segstudio.assist.object_fill import component, object_fill
    from segstudio.bench import assist as bench_assist
    from segstudio.bench import assist_sam
    from segstudio.bench.assist_sim import iou, next_click
    from segstudio.cli import UsageError
    from segstudio.core.project import Project
    from segstudio.engine.checkpoint import default_checkpoint
    from segstudio.engine.predict import Predictor

    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else \
        (lambda m: print(m, flush=True))
    folder = args.data
    if folder is None:
        from segstudio.bench.train import camvid_root

        root = camvid_root()
        folder = None if root is None else root / "val"
    if folder is None or not folder.is_dir():
        reason = ("../shared/datasets/camvid is absent; give --data FOLDER" if folder is None
                  else f"{folder} is not a folder")
        say(f"bench prompt skipped: {reason}")
        return {"skipped": reason}
    project = Project.open(folder)
    classes = project.classes
    predictor = Predictor.from_checkpoint(args.checkpoint or default_checkpoint())
    if list(predictor.meta.classes.names) != list(classes.names):
        raise UsageError("the model's classes differ from the folder's: give --checkpoint")
    lower = {n.lower(): i for i, n in enumerate(classes.names)}
    names = [n.strip() for n in args.classes.split(",") if n.strip()]
    unknown = [n for n in names if n.lower() not in lower]
    if unknown:
        raise UsageError(f"--classes: {', '.join(unknown)} not among {', '.join(classes.names)}")
    ids = [lower[n.lower()] for n in names]
    sam_model, sam_what = (None, "off (--sam off)") if args.sam == "off" else \
        assist_sam.load(None, say)
    if sam_model is None and args.sam != "off":
        say(f"SAM: {sam_what}")
    entries = [e for e in project.entries if project.has_label(e)]
    if args.images > 0 and len(entries) > args.images:
        step = len(entries) / args.images
        entries = [entries[int(i * step)] for i in range(args.images)]
    tools = ["fill", "object_fill"] + (["sam_object_fill"] if sam_model is not None else [])
    rows: list[dict] = []
    t_start = time.perf_counter()
    for k, entry in enumerate(entries):
        image, label = project.read_image(entry), project.read_label(entry)
        pred, _ = predictor.predict(image)
        emb = sam_model.encode(image) if sam_model is not None else None
        valid_full = label != classes.ignore_index
        for c, obj in bench_assist.objects(label, ids, args.min_size, args.per_image):
            click = next_click(pred == c, obj, valid_full)
            if click is None or not click[2]:
                continue                     # nothing missed (or only spilled): no fill click
            x, y = int(click[0]), int(click[1])
            y0, x0, y1, x1 = bench_assist.object_window(obj, 48, label.shape)
            crop = (slice(y0, y1), slice(x0, x1))
            gt, valid = obj[crop], valid_full[crop]
            truth = np.where(obj, c, label)                # what each pixel should be
            row = {"class": classes.names[c], "before": iou((pred == c)[crop], gt, valid)}
            hit = component(pred, x, y)
            masks = {"fill": hit}
            got = object_fill(image, pred, x, y)
            masks["object_fill"] = None if got is None else got[:2]
            if emb is not None:
                sam = sam_model.predict(emb, [(click[0], click[1])], [1])
                got = object_fill(image, pred, x, y, sam_mask=sam)
                masks["sam_object_fill"] = None if got is None else got[:2]
            for tool, m in masks.items():
                after = pred.copy()
                if m is not None:
                    (by0, bx0, by1, bx1), sel = m
                    after[by0:by1, bx0:bx1][sel] = c
                value = iou((after == c)[crop], gt, valid)
                # Broken pixels over the whole image: fill's region reaches far past the object.
                broken = int(((pred == truth) & (after != truth) & valid_full).sum())
                row[tool] = {"iou": value, "broken": broken}
            rows.append(row)
        say(f"[{k + 1}/{len(entries)}] {entry.key}: {len(rows)} clicks so far "
            f"({time.perf_counter() - t_start:.0f} s)")
    out = {"objects": len(rows), "sam": sam_what, "images": len(entries), "classes": names,
           "data": str(folder), "seconds": round(time.perf_counter() - t_start, 1)}
    if rows:
        out["iou_before"] = round(statistics.fmean(r["before"] for r in rows), 3)
        out["iou_after"] = {t: round(statistics.fmean(r[t]["iou"] for r in rows), 3)
                            for t in tools}
        out["broken_px"] = {t: round(statistics.fmean(r[t]["broken"] for r in rows), 1)
                            for t in tools}
        out["better"] = {t: int(sum(r[t]["iou"] > r["before"] for r in rows)) for t in tools}
        out["per_class"] = {n: {
            "objects": sum(r["class"] == n for r in rows),
            "before": round(statistics.fmean(r["before"] for r in rows if r["class"] == n), 3),
            **{
            t: round(statistics.fmean(r[t]["iou"] for r in rows if r["class"] == n), 3)
            for t in tools}} for n in sorted({r["class"] for r in rows})}
    if not args.json:
        print(summary(out))
    return out


def summary(r: dict) -> str:
    if "skipped" in r:
        return f"skipped: {r['skipped']}"
    lines = [f"one click on {r['objects']} objects the prediction partly missed "
             f"({', '.join(r['classes'])}, {r['images']} images of {r['data']})"]
    if not r["objects"]:
        return lines[0]
    lines.append(f"object IoU before the click: {r['iou_before']:.3f}")
    for t, v in r["iou_after"].items():
        lines.append(f"  {t:<16} after: {v:.3f}  better on {r['better'][t]}/{r['objects']}, "
                     f"{r['broken_px'][t]:.0f} px broken per click")
    for n, row in r["per_class"].items():
        lines.append(f"  {n:<12} {row['objects']:>3} objects: IoU {row['before']:.3f} -> " +
                     ", ".join(f"{t} {row[t]:.3f}" for t in r["iou_after"]))
    lines.append(f"SAM: {r['sam']}")
    return "\n".join(lines)
