"""`segstudio bench ui`: the stroke part on a small image (the stall part runs the real
workers and is marked slow)."""

from __future__ import annotations

import argparse

import pytest

from segstudio.bench import ui as bench_ui


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_ui.add_arguments(parser)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(["--json", *argv])


def test_stroke_repaints_every_segment_and_beats_full_refresh(qtbot):
    result = bench_ui.run(
        _args("--size", "1500x2000", "--segments", "40", "--full-repeats", "3", "--skip-stall")
    )
    stroke = result["stroke"]
    assert "stall" not in result
    assert stroke["size"] == [1500, 2000]
    assert stroke["segments_on_screen"][0] == 40  # fit view: every segment is visible
    assert stroke["unpainted_segments"] == 0  # each one was painted before it was timed
    assert stroke["full_paints"] >= 2
    assert stroke["ratio"] == pytest.approx(
        max(stroke["ours_fit"]["p95_ms"], stroke["ours_zoomed"]["p95_ms"])
        / stroke["full_setimage"]["median_ms"]
    )
    assert stroke["ours_fit"]["median_ms"] < stroke["full_setimage"]["median_ms"]


@pytest.mark.slow
def test_stall_part_runs_segmentation_and_fine_tuning(qtbot):
    result = bench_ui.bench_stall(_args("--stall-seconds", "120"))
    assert result["segmented_and_trained"]
    assert result["ticks"] > 10
    assert result["busy_max_stall_ms"] >= result["busy_p99_stall_ms"] >= 0
    assert result["ratio"] == pytest.approx(
        result["busy_max_stall_ms"] / max(result["idle_max_stall_ms"], 1e-3)
    )


def test_sam_part_watches_the_window_while_a_tiny_sam_encodes(qtbot, tmp_path):
    from segstudio.assist.sam import SamModel
    from segstudio.bench import ui_sam
    from tests.assist.sam_tiny import TINY, save_tiny

    args = _args("--sam", "--sam-hover-seconds", "0.5", "--sam-size", "48x64")
    args.sam_model = SamModel.load(save_tiny(tmp_path / "tiny.pth"), TINY)
    result = ui_sam.bench_sam(args)
    assert result["encoded"] and result["model"] == "given"
    assert result["encoding"]["ticks"] >= 0 and result["hover"]["ticks"] > 10
    assert result["decoder_ms"]["median_ms"] > 0
    assert "longest GUI stall idle" in ui_sam.summary(result)
    assert result["idle"]["ticks"] > 100                 # 3 s of baseline
