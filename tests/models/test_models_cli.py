"""`segstudio models` and `segstudio bench models` (kept tiny: ENet/LinkNet, one round)."""

from __future__ import annotations

import json

import pytest

from segstudio.cli import main
from segstudio.models import list_models, model_info


def test_models_command_lists_every_architecture(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list_models()
    assert model_info("enet").paper in lines[-1]


def test_bench_models_json(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("segmentation_models_pytorch")
    argv = ["bench", "models", "--json", "--models", "enet,linknet", "--repeat", "1"]
    assert main([*argv, "--min-time", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["models"]) == {"enet", "linknet"}
    enet = result["models"]["enet"]
    assert 350_000 <= enet["params"] <= 370_000
    assert 1.0 < enet["gflops"] < 5.0  # ENet at 360x480: about 2.5 GFLOPs (2 per MAC)
    assert enet["eager"]["median_ms"] > 0 and enet["fast"]["ratio"] > 0
    assert result["models"]["linknet"]["smp"]["baseline"] == "smp.Linknet(resnet18)"
    assert result["comparisons"] and all(c["ratio"] > 0 for c in result["comparisons"])


def test_bench_models_rejects_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "models", "--models", "enet,deeplab"]) == 2
    assert "deeplab" in capsys.readouterr().err


def test_bench_models_without_smp_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import segstudio.bench.models as bench

    monkeypatch.setattr(bench, "_import_smp", lambda: (None, "smp is not installed: skipped"))
    argv = ["bench", "models", "--models", "linknet", "--no-fast", "--repeat", "1"]
    assert main([*argv, "--min-time", "0"]) == 0
    captured = capsys.readouterr()
    assert "smp is not installed" in captured.err + captured.out
    assert "linknet" in captured.out and "ours/smp" in captured.out
