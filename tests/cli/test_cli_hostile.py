"""Issue 9 through the command line: hostile arguments, checkpoints and files each end in one
line naming the option or file, exit code 2, no traceback, nothing written or overwritten, in
bounded time."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save as st_save

from segstudio.cli import main
from tests.hostile import jpeg_claiming, one_line, small_png, zero_png

BOUND_S = 30.0   # a whole command on a busy 2-core machine; refusals take well under a second


def run(capsys, *argv) -> tuple[int, str, str]:
    t0 = time.perf_counter()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:   # argparse refusing an option value
        code = exc.code
    out, err = capsys.readouterr()
    assert time.perf_counter() - t0 < BOUND_S
    assert "Traceback" not in err
    return code, out, err


def refused(capsys, *argv) -> str:
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    return one_line(err)


# ----- arguments ------------------------------------------------------------------------------
TRAIN_BAD = [
    (["--lr", "nan"], "--lr"), (["--lr", "-1"], "--lr"), (["--lr", "inf"], "--lr"),
    (["--weight-decay", "nan"], "--weight-decay"), (["--weight-decay", "-1"], "--weight-decay"),
    (["--workers", "-5"], "--workers"), (["--seed", str(2**64)], "--seed"),
    (["--val-fraction", "1.5"], "--val-fraction"), (["--val-fraction", "nan"], "--val-fraction"),
    (["--batch", "0"], "--batch"), (["--size", "8x8"], "--size"),
    (["--size", "100000x100000"], "--size"), (["--patience", "-2"], "--patience"),
    (["--threads", "0"], "--threads"), (["--threads", "100000000"], "--threads"),
    (["--epochs", "0"], "--epochs"), (["--resume"], "--resume"),
]


@pytest.mark.parametrize(("args", "option"), TRAIN_BAD)
def test_train_bad_arguments(capsys, cli_project, tmp_path, args, option) -> None:
    out = tmp_path / "run"
    line = refused(capsys, "train", cli_project, "--arch", "enet", "--epochs", "1",
                   "--out", out, *args)
    assert option in line
    assert not out.exists()


def test_train_out_is_a_file_or_read_only(capsys, cli_project, tmp_path) -> None:
    base = ["train", cli_project, "--arch", "enet", "--epochs", "1", "--out"]
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert "--out" in refused(capsys, *base, target) and target.read_text() == "keep me"
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert "read-only" in refused(capsys, *base, ro / "run")
        assert os.listdir(ro) == []
    finally:
        ro.chmod(0o755)


def test_train_init_not_a_checkpoint(capsys, cli_project, tmp_path) -> None:
    base = ["train", cli_project, "--arch", "enet", "--epochs", "1", "--out", tmp_path / "o"]
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    assert "junk.safetensors" in refused(capsys, *base, "--init", junk)
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    assert "--init" in refused(capsys, *base, "--init", notes)
    assert "--init" in refused(capsys, *base, "--init", tmp_path / "missing")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["segment", "eval"])
@pytest.mark.parametrize(("args", "option"), [
    (["--tile", "0"], "--tile"), (["--tile", "10000000"], "--tile"), (["--tile", "x"], "--tile"),
    (["--threads", "0"], "--threads"), (["--threads", "-3"], "--threads"),
    (["--checkpoint", "/nonexistent/model"], "--checkpoint"),
])
def test_segment_and_eval_bad_arguments(capsys, cli_project, enet_ckpt, tmp_path, command,
                                        args, option) -> None:
    argv = [command, cli_project, *args]
    if command == "segment":
        argv += ["--out", tmp_path / "seg"]
    if "--checkpoint" not in args:
        argv += ["--checkpoint", enet_ckpt]
    assert option in refused(capsys, *argv)
    assert not (tmp_path / "seg").exists()


def test_segment_batch_out_and_checkpoint_folder(capsys, cli_project, enet_ckpt, tmp_path) -> None:
    base = ["segment", cli_project, "--checkpoint", enet_ckpt]
    assert "--batch" in refused(capsys, *base, "--out", tmp_path / "s", "--batch", "0")
    target = tmp_path / "file"
    target.write_text("keep")
    assert "--out" in refused(capsys, *base, "--out", target)
    assert target.read_text() == "keep"
    assert "--checkpoint" in refused(capsys, "segment", cli_project, "--checkpoint", tmp_path,
                                     "--out", tmp_path / "s")
    assert not (tmp_path / "s").exists()


# ----- checkpoints ----------------------------------------------------------------------------
def _hostile_checkpoints(enet_ckpt: Path, folder: Path) -> dict[str, Path]:
    from segstudio.engine.checkpoint import read_checkpoint

    tensors, meta = read_checkpoint(enet_ckpt)
    good = meta.to_dict()
    nan = {k: v.clone() for k, v in tensors.items()}
    first = next(k for k in nan if k.endswith("weight"))
    nan[first].view(-1)[0] = math.nan
    int8 = dict(tensors, **{first: tensors[first].to(torch.int8)})
    cases = {
        "sidecar-list": (tensors, None, "[]"),
        "sidecar-null": (tensors, None, "null"),
        "sidecar-str": (tensors, None, '"enet"'),
        "embedded-list": (tensors, "[1,2]", None),
        "embedded-num": (tensors, "5", None),
        "embedded-badjson": (tensors, "{oops", None),
        "mean2": (tensors, json.dumps(dict(good, mean=[0.5, 0.5])), None),
        "std0": (tensors, json.dumps(dict(good, std=[0.2, 0, 0.2])), None),
        "nan": (nan, json.dumps(good), None),
        "int8": (int8, json.dumps(good), None),
    }
    paths = {}
    for name, (t, embedded, sidecar) in cases.items():
        weights = folder / f"{name}.safetensors"
        weights.write_bytes(st_save(t, metadata=None if embedded is None
                                    else {"segstudio": embedded}))
        if sidecar is not None:
            (folder / f"{name}.json").write_text(sidecar)
        paths[name] = weights
    return paths


CKPT_CASES = ["sidecar-list", "sidecar-null", "sidecar-str", "embedded-list", "embedded-num",
              "embedded-badjson", "mean2", "std0", "nan", "int8"]


@pytest.fixture(scope="module")
def hostile_ckpts(enet_ckpt, tmp_path_factory) -> dict[str, Path]:
    return _hostile_checkpoints(enet_ckpt, tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("case", CKPT_CASES)
def test_hostile_checkpoint_in_every_command(capsys, cli_project, hostile_ckpts, tmp_path,
                                             case) -> None:
    path = hostile_ckpts[case]
    out = tmp_path / "seg"
    for argv in (["segment", cli_project, "--checkpoint", path, "--out", out],
                 ["eval", cli_project, "--checkpoint", path],
                 ["train", cli_project, "--arch", "enet", "--epochs", "1", "--init", path,
                  "--out", tmp_path / "run"]):
        line = refused(capsys, *argv)
        assert case in line, line     # names the .safetensors or its .json
    assert not out.exists() and not (tmp_path / "run").exists()


# ----- files ----------------------------------------------------------------------------------
def test_segment_refuses_bombs_and_truncated_headers(capsys, enet_ckpt, tmp_path) -> None:
    images = tmp_path / "in"
    images.mkdir()
    small_png(images / "good.png")
    (images / "bomb.png").write_bytes(zero_png(20000, 20000, bad_text_crc=True))
    (images / "huge.jpg").write_bytes(jpeg_claiming(12000, 12000))
    (images / "noidat.png").write_bytes(zero_png(9000, 9000, idat=b""))
    code, _, err = run(capsys, "segment", images, "--checkpoint", enet_ckpt,
                       "--out", tmp_path / "out", "--device", "cpu")
    assert code == 2
    lines = err.strip().splitlines()
    for name in ("bomb.png", "huge.jpg", "noidat.png"):
        assert sum(name in line for line in lines) == 1, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png"]


def test_segment_summarises_many_unreadable_files(capsys, enet_ckpt, tmp_path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    images = tmp_path / "in"
    images.mkdir()
    small_png(images / "good.png")
    for i in range(60):
        (images / f"broken{i:03d}.png").write_bytes(b"not a png")
    code, out, err = run(capsys, "segment", images, "--checkpoint", enet_ckpt,
                         "--out", tmp_path / "out", "--device", "cpu")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) <= 8, err
    summary = lines[-1]
    assert "55 more unreadable images" in summary and "60 in all" in summary
    listed = Path(summary.rsplit(" ", 1)[-1])
    assert listed.parent == tmp_path and len(listed.read_text().splitlines()) == 60
    assert "60 unreadable images skipped" in out


def test_segment_does_not_follow_links_out_of_the_folder(capsys, enet_ckpt, tmp_path) -> None:
    outside = tmp_path / "system"
    outside.mkdir()
    for i in range(5):
        small_png(outside / f"sys{i}.png", (40, 40))
    images = tmp_path / "proj" / "images"
    images.mkdir(parents=True)
    small_png(images / "mine.png")
    (images / "usr").symlink_to(outside, target_is_directory=True)
    code, _, err = run(capsys, "segment", tmp_path / "proj", "--checkpoint", enet_ckpt,
                       "--out", tmp_path / "out", "--device", "cpu")
    assert code == 0
    line = one_line(err)
    assert str(images / "usr") in line and "not followed" in line
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["mine.png"]


def test_eval_refuses_an_oversized_label(capsys, enet_ckpt, cli_project, tmp_path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(cli_project, data)
    label = next(p for p in sorted((data / "labels").iterdir()) if p.suffix == ".png")
    label.write_bytes(zero_png(9000, 9000))
    before = label.read_bytes()
    line = refused(capsys, "eval", data, "--checkpoint", enet_ckpt, "--device", "cpu")
    assert label.name in line and "9000x9000" in line and "64x48" in line
    assert label.read_bytes() == before


def test_gif_images_are_segmented(capsys, enet_ckpt, tmp_path) -> None:
    images = tmp_path / "in"
    images.mkdir()
    frames = [Image.fromarray(np.full((40, 48, 3), v, np.uint8)) for v in (30, 220)]
    frames[0].save(images / "anim.gif", save_all=True, append_images=frames[1:])
    code, _, _ = run(capsys, "segment", images, "--checkpoint", enet_ckpt,
                     "--out", tmp_path / "out", "--device", "cpu")
    assert code == 0 and (tmp_path / "out" / "anim.png").is_file()
