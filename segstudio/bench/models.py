"""Benchmark suite 'models': forward latency, parameters and GFLOPs of every architecture.

Batch 1, 360x480 (a CamVid frame), eval mode, `torch.inference_mode()`, float32, this
machine's CPU threads. Per model: plain eager PyTorch and the fast inference path
(`segstudio.models.optimize_for_inference`: batch norm folded, channels-last), measured
interleaved so that load from other processes hits both alike. Where segmentation_models_pytorch
has the same network (Unet resnet34, Linknet resnet18) it is timed in the same loop and reported
as a ratio ours/smp; smp is the optional `bench` extra, skipped with a message when missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

HEIGHT, WIDTH = 360, 480

# Our model -> (description, smp factory name, encoder). smp's Linknet only takes sides that are
# multiples of 32, so it gets the frame zero-padded to 384x480, as its users must do.
SMP_BASELINES = {
    "unet_resnet34": ("smp.Unet(resnet34)", "Unet", "resnet34"),
    "linknet": ("smp.Linknet(resnet18)", "Linknet", "resnet18"),
}

# Latency targets of the issue (ms per 360x480 image, best path): ratio = measured / target.
TARGET_MS = {"enet": 50.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        default=None,
        help="comma-separated model names (default: all, see `segstudio models`)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed rounds at least, after one warm-up (default 3; FCN takes seconds on CPU)",
    )
    parser.add_argument(
        "--min-time",
        type=float,
        default=3.0,
        help="keep adding rounds (up to 50) until a model has had this many seconds (default 3)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice, one per core)",
    )
    parser.add_argument(
        "--no-fast", action="store_true", help="skip the fast inference path (eager only)"
    )


def run(args: argparse.Namespace) -> dict:
    import torch

    from segstudio.cli import UsageError
    from segstudio.models import list_models, model_info

    names = list_models() if not args.models else [n.strip() for n in args.models.split(",")]
    unknown = [n for n in names if n not in list_models()]
    if unknown:
        raise UsageError(f"unknown model(s) {', '.join(unknown)}; choose from {list_models()}")
    if args.repeat < 1 or args.min_time < 0:
        raise UsageError("--repeat must be at least 1 and --min-time not negative")
    smp, smp_message = _import_smp()
    quiet = bool(getattr(args, "json", False))
    if smp_message and not quiet:
        print(smp_message, file=sys.stderr)

    if args.threads is not None:
        if args.threads < 1:
            raise UsageError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(1, 3, HEIGHT, WIDTH)
    result: dict = {
        "suite": "models",
        "input": [1, 3, HEIGHT, WIDTH],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "repeat": args.repeat,
        "min_time_s": args.min_time,
        "models": {},
        "comparisons": [],
    }
    if smp_message:
        result["smp_skipped"] = smp_message
    for name in names:
        if not quiet:
            print(f"  {name} ...", file=sys.stderr, flush=True)
        entry, comparisons = _bench_model(name, x, args, smp)
        entry["title"] = model_info(name).title
        result["models"][name] = entry
        result["comparisons"].extend(comparisons)
    if not quiet:
        _print_table(result)
    return result


def _bench_model(name: str, x, args: argparse.Namespace, smp) -> tuple[dict, list[dict]]:
    from segstudio.models import build_model, optimize_for_inference

    model = build_model(name, 11).eval()
    variants: dict[str, tuple[object, object]] = {"eager": (model, x)}  # name -> (net, input)
    if not args.no_fast:
        variants["fast"] = (optimize_for_inference(model), x)
    baseline = None
    if smp is not None and name in SMP_BASELINES:
        label, factory, encoder = SMP_BASELINES[name]
        ref = getattr(smp, factory)(encoder_name=encoder, encoder_weights=None, classes=11).eval()
        ref_x = _pad_to(x, 32) if factory == "Linknet" else x
        variants["smp"] = (ref, ref_x)
        baseline = (label, ref, ref_x)

    fns = {k: _call(m, inp) for k, (m, inp) in variants.items()}
    gflops = _gflops(model, x)  # doubles as the eager warm-up
    for k in fns:
        if k != "eager":
            fns[k]()  # warm-up: first calls allocate and pick kernels
    times = _interleaved(fns, args.repeat, args.min_time)
    entry: dict = {
        "params": sum(p.numel() for p in model.parameters()),
        "gflops": gflops,
        "rounds": len(times["eager"]),
        "eager": _summary(times["eager"]),
    }
    comparisons = []
    if "fast" in times:
        entry["fast"] = _summary(times["fast"])
        entry["fast"]["ratio"] = _ratio(times["fast"], times["eager"])
        comparisons.append(
            {
                "name": f"{name}: fast path vs eager",
                "ours_ms": entry["fast"]["median_ms"],
                "baseline_ms": entry["eager"]["median_ms"],
                "ratio": entry["fast"]["ratio"],
            }
        )
    if name in TARGET_MS:
        best = min(entry["eager"]["median_ms"], entry.get("fast", {}).get("median_ms", 1e12))
        comparisons.append(
            {
                "name": f"{name}: best path vs the {TARGET_MS[name]:.0f} ms target",
                "ours_ms": best,
                "baseline_ms": TARGET_MS[name],
                "ratio": round(best / TARGET_MS[name], 3),
            }
        )
    if baseline is not None:
        label, ref, ref_x = baseline
        entry["smp"] = _summary(times["smp"])
        entry["smp"].update(
            {
                "baseline": label,
                "params": sum(p.numel() for p in ref.parameters()),
                "gflops": _gflops(ref, ref_x),
                "input": list(ref_x.shape),
                "ratio": _ratio(times["eager"], times["smp"]),
            }
        )
        comparisons.append(
            {
                "name": f"{name} vs {label} (eager, both)",
                "ours_ms": entry["eager"]["median_ms"],
                "baseline_ms": entry["smp"]["median_ms"],
                "ratio": entry["smp"]["ratio"],
            }
        )
        if "fast" in times:
            comparisons.append(
                {
                    "name": f"{name} fast path vs {label} (eager)",
                    "ours_ms": entry["fast"]["median_ms"],
                    "baseline_ms": entry["smp"]["median_ms"],
                    "ratio": _ratio(times["fast"], times["smp"]),
                }
            )
    return entry, comparisons


def _call(model, inp) -> Callable[[], object]:
    import torch

    def fn() -> object:
        with torch.inference_mode():
            return model(inp)

    return fn


def _interleaved(
    fns: dict[str, Callable[[], object]], repeat: int, min_time: float
) -> dict[str, list[float]]:
    """Rounds timing every variant once, in rotating order: at least `repeat` rounds, more
    (up to 50) while the model has had less than `min_time` seconds.

    Interleaving puts a burst of load from other processes on all variants alike, and the
    paired rounds give the ratios (see `_ratio`).
    """
    keys = list(fns)
    out: dict[str, list[float]] = {k: [] for k in keys}
    start = time.perf_counter()
    i = 0
    while i < repeat or (time.perf_counter() - start < min_time and i < 50):
        shift = i % len(keys)
        for k in keys[shift:] + keys[:shift]:
            t0 = time.perf_counter()
            fns[k]()
            out[k].append(time.perf_counter() - t0)
        i += 1
    return out


def _summary(samples: list[float]) -> dict:
    from segstudio.bench.timing import summary_ms

    return {k: round(v, 2) for k, v in summary_ms(samples).items()}


def _ratio(ours: list[float], baseline: list[float]) -> float:
    """Median over rounds of ours/baseline timed back to back: robust to load that changes
    between rounds, which a ratio of two medians is not."""
    import statistics

    return round(statistics.median(a / b for a, b in zip(ours, baseline, strict=True)), 3)


def _gflops(model, x) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x)
    return round(counter.get_total_flops() / 1e9, 2)


def _pad_to(x, multiple: int):
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple))


def _import_smp():
    try:
        import segmentation_models_pytorch as smp
    except ImportError:
        return None, (
            "segmentation_models_pytorch is not installed: smp comparisons skipped "
            "(pip install -e '.[bench]')"
        )
    return smp, ""


def _print_table(result: dict) -> None:
    print(
        f"\nsegstudio bench models: batch 1, {HEIGHT}x{WIDTH}, eval + inference_mode, "
        f"{result['threads']} CPU threads, torch {result['torch']}; median ms, ratios are "
        "medians of back-to-back pairs"
    )
    header = (
        f"{'model':<14} {'params':>9} {'GFLOPs':>7} {'eager ms':>9} {'fast ms':>8} "
        f"{'fast/eager':>10} {'smp ms':>8} {'ours/smp':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, e in result["models"].items():
        fast = e.get("fast")
        smp = e.get("smp")
        print(
            f"{name:<14} {e['params'] / 1e6:>8.2f}M {e['gflops']:>7.1f} "
            f"{e['eager']['median_ms']:>9.1f} "
            f"{fast['median_ms'] if fast else float('nan'):>8.1f} "
            f"{fast['ratio'] if fast else float('nan'):>10.2f} "
            f"{smp['median_ms'] if smp else float('nan'):>8.1f} "
            f"{smp['ratio'] if smp else float('nan'):>8.2f}"
        )
    if result.get("smp_skipped"):
        print(result["smp_skipped"])
    for c in result["comparisons"]:
        print(
            f"  {c['name']}: {c['ours_ms']:.1f} ms vs {c['baseline_ms']:.1f} ms, ratio {c['ratio']}"
        )
