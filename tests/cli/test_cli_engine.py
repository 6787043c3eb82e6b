"""train / segment / eval: the exact contracts and the one-line errors (exit 2)."""

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main
from segstudio.core.classes import ClassSet
from segstudio.core.labels import read_label
from tests.cli_helpers import one_line_error, run_cli


def test_train_writes_best_and_last(capsys, cli_project, tmp_path):
    code, out, _ = run_cli(capsys, "train", cli_project, "--arch", "enet", "--epochs", "1",
                        "--size", "32x48", "--batch", "2", "--device", "cpu",
                        "--out", tmp_path / "run")
    assert code == 0
    for stem in ("best", "last"):
        assert (tmp_path / "run" / f"{stem}.safetensors").is_file()
        meta = json.loads((tmp_path / "run" / f"{stem}.json").read_text())
        assert meta["arch"] == "enet" and meta["settings"]["epochs"] == 1
    assert "best epoch 1/1" in out


def test_segment_writes_one_png_per_image(capsys, cli_project, enet_ckpt, tmp_path):
    code, _, _ = run_cli(capsys, "segment", cli_project, "--checkpoint", enet_ckpt,
                        "--out", tmp_path / "seg", "--device", "cpu")
    assert code == 0
    written = sorted(p.name for p in (tmp_path / "seg").iterdir())
    images = sorted(p.stem + ".png" for p in (cli_project / "images").iterdir())
    assert written == images and len(written) == 5
    classes = ClassSet.from_dict(json.loads(enet_ckpt.with_suffix(".json").read_text())["classes"])
    mask = read_label(tmp_path / "seg" / written[0], classes)
    assert mask.shape == (48, 64)
    with Image.open(tmp_path / "seg" / written[0]) as im:
        assert im.mode == "P"


def test_segment_single_file_and_unreadable_image(capsys, enet_ckpt, tmp_path):
    good = tmp_path / "in" / "good.png"
    good.parent.mkdir()
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(good)
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    code, _, err = run_cli(capsys, "segment", tmp_path / "in", "--checkpoint", enet_ckpt,
                        "--out", tmp_path / "out")
    assert code == 2 and "broken.jpg" in err
    assert (tmp_path / "out" / "good.png").is_file()
    code, _, _ = run_cli(capsys, "segment", good, "--checkpoint", enet_ckpt,
                      "--out", tmp_path / "single")
    assert code == 0 and (tmp_path / "single" / "good.png").is_file()


def test_eval_json_has_exact_keys(capsys, cli_project, enet_ckpt):
    code, out, _ = run_cli(capsys, "eval", cli_project, "--checkpoint", enet_ckpt, "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"miou", "iou", "pixel_accuracy"}
    assert set(result["iou"]) == {"sky", "ground", "disc", "box"}
    assert 0 <= result["pixel_accuracy"] <= 1
    code, out, _ = run_cli(capsys, "eval", cli_project, "--checkpoint", enet_ckpt)
    assert code == 0 and "mIoU" in out and "ground" in out


def _labelled_folder(root, value):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(root / "images" / "a.png")
    Image.fromarray(np.full((40, 40), value, np.uint8)).save(root / "labels" / "a.png")
    return root


def test_bad_input_gives_one_line_and_exit_2(capsys, cli_project, enet_ckpt, linknet_ckpt,
                                             tmp_path):
    out = tmp_path / "o"
    # A checkpoint of another architecture.
    code, _, err = run_cli(capsys, "train", cli_project, "--arch", "enet", "--epochs", "1",
                        "--init", linknet_ckpt, "--out", out)
    assert code == 2 and "linknet" in one_line_error(err)
    # A label with class indices the class set lacks (the project has 4 classes).
    bad = _labelled_folder(tmp_path / "bad", 9)
    (bad / "classes.json").write_text(json.dumps(json.loads(
        enet_ckpt.with_suffix(".json").read_text())["classes"]))
    code, _, err = run_cli(capsys, "eval", bad, "--checkpoint", enet_ckpt)
    assert code == 2 and "a.png" in one_line_error(err)
    code, _, err = run_cli(capsys, "train", bad, "--arch", "enet", "--epochs", "1", "--out", out)
    assert code == 2 and "9" in one_line_error(err)
    # An empty dataset.
    (tmp_path / "empty" / "images").mkdir(parents=True)
    code, _, err = run_cli(capsys, "train", tmp_path / "empty", "--arch", "enet", "--epochs", "1",
                        "--out", out)
    assert code == 2 and "empty dataset" in one_line_error(err)
    # A folder with no reviewed images.
    plain = tmp_path / "plain"
    plain.mkdir()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(plain / "x.png")
    code, _, err = run_cli(capsys, "train", plain, "--arch", "enet", "--epochs", "1", "--out", out)
    assert code == 2 and "no reviewed images" in one_line_error(err)


def test_more_bad_input(capsys, cli_project, enet_ckpt, tmp_path):
    code, _, err = run_cli(capsys, "train", cli_project, "--arch", "resnet9000", "--epochs", "1",
                        "--out", tmp_path)
    assert code == 2 and "unknown architecture" in one_line_error(err)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"junk")
    code, _, err = run_cli(capsys, "segment", cli_project, "--checkpoint", corrupt,
                        "--out", tmp_path / "s")
    assert code == 2 and "corrupt.safetensors" in one_line_error(err)
    # A checkpoint whose classes differ from the data's.
    camvid_like = _labelled_folder(tmp_path / "cv", 0)
    (camvid_like / "classes.json").write_text(json.dumps(
        {"classes": [{"index": 0, "name": "road", "color": [1, 2, 3]}], "ignore_index": 255}))
    code, _, err = run_cli(capsys, "eval", camvid_like, "--checkpoint", enet_ckpt)
    assert code == 2 and "classes differ" in one_line_error(err)
    code, _, err = run_cli(capsys, "segment", tmp_path / "nowhere", "--checkpoint", enet_ckpt,
                        "--out", tmp_path / "s")
    assert code == 2 and "nowhere" in one_line_error(err)
    with pytest.raises(SystemExit) as exc:
        main(["train", str(cli_project), "--arch", "enet", "--epochs", "1", "--size", "big",
              "--out", str(tmp_path)])
    assert exc.value.code == 2


def test_help_explains_every_option(capsys):
    for command in ("train", "segment", "eval"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "--checkpoint" in text or "--arch" in text
        assert "CKPT" in text or "NAME" in text
