import argparse

from segstudio.bench import core as bench_core


def test_bench_core_runs_small_and_reports_ratios(capsys) -> None:
    parser = argparse.ArgumentParser()
    bench_core.add_arguments(parser)
    args = parser.parse_args(
        [
            "--width",
            "800",
            "--height",
            "600",
            "--segments",
            "20",
            "--strokes",
            "5",
            "--files",
            "200",
        ]
    )
    args.json = False
    out = bench_core.run(args)
    for name in ("brush_segment", "undo_memory", "listing"):
        assert out[name]["ratio"] > 0
    assert out["undo_memory"]["steps"] == 5
    assert out["undo_memory"]["ours_mb"] < out["undo_memory"]["naive_mb"]
    assert out["listing"]["files"] == 200
    table = capsys.readouterr().out
    assert "brush segment" in table and "ratio" in table
