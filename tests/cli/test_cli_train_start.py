"""`segstudio train` prints the starting weights' figures (epoch 0, no loss yet) instead of
crashing on them."""

from __future__ import annotations

from segstudio.cli import main


def test_train_from_a_fitting_checkpoint_reports_epoch_zero(cli_project, enet_ckpt, tmp_path,
                                                            capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", str(cli_project), "--out", str(out), "--arch", "enet", "--init",
                 str(enet_ckpt), "--steps", "2", "--size", "32x48", "--batch", "2",
                 "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    line = next(x for x in lines if x.startswith("epoch 0/"))
    assert "(starting weights): val mIoU" in line and "loss" not in line
    assert (out / "best.safetensors").is_file()
