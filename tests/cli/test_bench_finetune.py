"""`segstudio bench finetune`: a small project of reversed classes, fine-tuned with the app's
settings, measured on held-out images of the same (reversed) classes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.bench.finetune import _reverse
from segstudio.cli import main
from segstudio.core.labels import read_label
from segstudio.core.project import Project


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from tests.cli.test_bench_loop import _pool

    root = tmp_path_factory.mktemp("ft")
    return root / "pool", _pool(root / "pool", 5, 3), root / "val", _pool(root / "val", 2, 4)


def test_reverse_keeps_void_and_flips_the_classes(folders, tmp_path) -> None:
    pool, truth, _, _ = folders
    original, rev = _reverse(pool, tmp_path / "r", 3)
    assert rev.names == list(reversed(original.names))
    p = Project.open(tmp_path / "r")
    assert len(p.entries) == 3 and p.classes.names == rev.names
    for e in p.entries:
        got = read_label(p.label_path(e), rev)
        want = truth[e.key]
        k = original.num_classes
        np.testing.assert_array_equal(got, np.where(want == 255, 255, k - 1 - want))


@pytest.mark.slow
def test_bench_finetune_reports_each_size(folders, capsys) -> None:
    pool, _, val, _ = folders
    assert main(["bench", "finetune", "--pool", str(pool), "--val", str(val), "--images", "3,4",
                 "--steps", "2", "--size", "32x48", "--batch", "2", "--device", "cpu",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["images"] for r in result["runs"]] == [3, 4]
    for r in result["runs"]:
        assert 0 <= r["val_miou"] <= 1 and r["val_images"] == 2 and r["status"] == "finished"
        assert r["settings"]["steps"] == 2 and (r["settings"]["height"], r["settings"]["width"]) \
            == (32, 48)
    # The shipped CamVid model cannot be measured on these classes: no ratio then.
    assert result["shipped_val_miou"] is None and "ratio" not in result
