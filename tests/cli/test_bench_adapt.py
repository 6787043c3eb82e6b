"""`segstudio bench adapt`: the app's fine-tune from a model that fits, measured on the held-out
rest of the folder next to the start, in the same run."""

from __future__ import annotations

import json

import pytest

from segstudio.cli import main
from tests.cli.conftest import _save
from tests.cli.test_bench_loop import CLASSES, _pool


@pytest.mark.slow
def test_bench_adapt_reports_each_k_with_the_start_beside(tmp_path, capsys) -> None:
    folder = tmp_path / "scene"
    _pool(folder, 8, 5)
    start = _save("enet", CLASSES, tmp_path / "start")
    assert main(["bench", "adapt", "--data", str(folder), "--k", "2,3", "--part", "0.5",
                 "--start", str(start), "--steps", "2", "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["held_out"] == 4 and result["reviewed_part"] == 4
    assert [r["k"] for r in result["results"]] == [2, 3]
    for r in result["results"]:
        for key in ("k", "miou_start", "miou_after", "first_epoch_change", "minutes"):
            assert key in r
        assert 0 <= r["miou_start"] <= 1 and 0 <= r["miou_after"] <= 1
        assert r["miou_start"] == result["results"][0]["miou_start"]   # measured once
        assert r["recipe"].startswith("adapting a model that knows your classes")
        assert r["first_epoch_change"] is not None and r["steps"] == 2


@pytest.mark.slow
def test_bench_adapt_with_edited_images_trains_on_their_touched_pixels(tmp_path, capsys) -> None:
    folder = tmp_path / "scene"
    _pool(folder, 8, 6)
    start = _save("enet", CLASSES, tmp_path / "start")
    assert main(["bench", "adapt", "--data", str(folder), "--k", "2", "--edited", "2",
                 "--start", str(start), "--steps", "2", "--device", "cpu", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["results"]
    # 2 reviewed (one validates, one trains) and the 2 edited images, which only ever train.
    assert row["edited"] == 2 and row["train_images"] == 3


def test_bench_adapt_refuses_a_k_larger_than_the_part(tmp_path, capsys) -> None:
    folder = tmp_path / "scene"
    _pool(folder, 4, 5)
    start = _save("enet", CLASSES, tmp_path / "start")
    assert main(["bench", "adapt", "--data", str(folder), "--k", "3", "--start", str(start),
                 "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "--k 3" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
