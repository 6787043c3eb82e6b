"""--scale on segment / eval / bench, tile progress on the segment bar, `bench tiles`."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tqdm import tqdm

from segstudio.core.labels import read_label
from tests.cli_helpers import one_line_error, run_cli


@pytest.fixture(scope="module")
def learnt_ckpt(cli_project, tmp_path_factory) -> Path:
    """An untrained ENet whose checkpoint says it learnt 48x64 images (the project's)."""
    import torch

    from segstudio.core.project import Project
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.engine.scale import TrainScale
    from segstudio.models import build_model, model_info

    torch.manual_seed(0)
    classes = Project.open(cli_project).classes
    info = model_info("enet")
    meta = CheckpointMeta("enet", classes, info.mean, info.std, train_size=(32, 48),
                          train_scale=TrainScale((48, 64)))
    return save_checkpoint(build_model("enet", classes.num_classes),
                           tmp_path_factory.mktemp("learnt") / "enet", meta)


def _big(tmp_path) -> Path:
    path = tmp_path / "big" / "photo.png"
    path.parent.mkdir()
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(np.kron(small, np.ones((10, 10, 1), np.uint8))).save(path)
    return path


def test_segment_scales_and_writes_native_size(capsys, learnt_ckpt, tmp_path):
    image = _big(tmp_path)
    outputs = {}
    for scale in ("auto", "0.1", "native"):
        out = tmp_path / f"out_{scale}"
        code, stdout, _ = run_cli(capsys, "segment", image, "--checkpoint", learnt_ckpt,
                               "--out", out, "--scale", scale, "--tile", "256")
        assert code == 0 and "wrote 1 label maps" in stdout
        outputs[scale] = read_label(out / "photo.png")
        assert outputs[scale].shape == (480, 640)
    # auto shrinks a 640x480 image 10x for a model that learnt 64x48 images.
    assert np.array_equal(outputs["auto"], outputs["0.1"])
    assert not np.array_equal(outputs["auto"], outputs["native"])


@pytest.mark.parametrize("command", ["segment", "eval"])
@pytest.mark.parametrize("bad", ["big", "0", "-2", "nan"])
def test_bad_scale_is_one_line_and_exit_2(capsys, cli_project, enet_ckpt, tmp_path, command,
                                          bad):
    argv = [command, cli_project, "--checkpoint", enet_ckpt, f"--scale={bad}"]
    if command == "segment":
        argv += ["--out", tmp_path / "o"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "--scale" in one_line_error(err)
    assert not (tmp_path / "o").exists()


def test_eval_takes_a_scale(capsys, cli_project, learnt_ckpt):
    results = {}
    for scale in ("native", "auto", "2"):
        code, out, _ = run_cli(capsys, "eval", cli_project, "--checkpoint", learnt_ckpt,
                            "--json", "--scale", scale)
        assert code == 0
        results[scale] = json.loads(out)
    # The project's images are the size the checkpoint learnt: auto is native.
    assert results["auto"] == results["native"]
    assert set(results["2"]) == {"miou", "iou", "pixel_accuracy"}


def test_segment_bar_shows_the_tiles_of_a_big_image():
    from segstudio.cli.common import progress_text, segment_progress
    from segstudio.engine.predict import PredictProgress

    stream = io.StringIO()
    with tqdm(total=3, file=stream, disable=False, mininterval=0) as bar:
        show = segment_progress(bar)
        show(PredictProgress(1, 3, Path("a/huge.jpg"), 60.0, 5, 20))
        assert bar.n == pytest.approx(1.25) and "huge.jpg: tile 5/20" in str(bar)
        show(PredictProgress(2, 3, Path("a/huge.jpg"), 10.0))
        assert bar.n == 2 and "tile" not in str(bar)
    # Small images (one tile) add nothing to the bar.
    assert progress_text(PredictProgress(0, 3, Path("x.png"), None, 1, 1)) == ""


def test_bench_tiles_json(capsys):
    code, out, _ = run_cli(capsys, "bench", "tiles", "--size", "300x400", "--tile", "128",
                        "--overlap", "16", "--json")
    assert code == 0
    r = json.loads(out)
    assert r["size"] == [300, 400] and r["tiles"] > 4 and r["scale"] == "native"
    assert r["tiled"]["pixels_per_s"] > 0 and r["bare_forward"]["pixels_per_s"] > 0
    assert r["ratio"] == pytest.approx(r["tiled"]["pixels_per_s"]
                                       / r["bare_forward"]["pixels_per_s"])
    # The bare forward's inputs have the tiles' fitted size (fit_tiles shrinks them below
    # --tile), the same pixels per forward as the tiled path.
    from segstudio.engine.tiled import tile_grid

    grid = tile_grid(300, 400, 128, 16, 8)
    assert r["bare_forward"]["input"] == [grid.height, grid.width]
    assert max(grid.height, grid.width) <= 128
    assert r["bare_forward"]["forwards"] == -(-300 * 400 // (grid.height * grid.width))
    assert r["peak_memory_mb"]["outputs"] == pytest.approx(300 * 400 * 5 / 2**20)


def test_bench_tiles_table_and_scale(capsys):
    code, out, _ = run_cli(capsys, "bench", "tiles", "--size", "720x960", "--tile", "256",
                        "--scale", "auto", "--end-to-end")
    assert code == 0
    assert "ratio" in out and "peak memory" in out and "end to end: auto" in out
    code, _, err = run_cli(capsys, "bench", "tiles", "--scale", "zero")
    assert code == 2 and "--scale" in one_line_error(err)


def test_bench_predict_takes_a_scale(capsys):
    code, out, _ = run_cli(capsys, "bench", "predict", "--images", "2", "--rounds", "1",
                        "--scale", "native", "--json")
    assert code == 0 and json.loads(out)["scale"] == "native"
