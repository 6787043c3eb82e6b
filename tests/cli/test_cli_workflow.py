"""The command line under the loop's rules: segment in place by state, --out that never writes
over inputs or existing files, train PROJECT as the Fine-tune button, runs."""

from __future__ import annotations

import json
import shutil

import numpy as np
from PIL import Image

from segstudio.core.project import ImageState, Project
from tests.cli_helpers import one_line_error, run_cli


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_out_never_writes_over_input_images(capsys, enet_ckpt, tmp_path):
    pngs = tmp_path / "pngs"
    pngs.mkdir()
    for i in range(3):
        Image.fromarray(np.full((40, 50, 3), 60 * i, np.uint8)).save(pngs / f"{i}.png")
    before = _snapshot(pngs)
    code, _, err = run_cli(capsys, "segment", pngs, "--out", pngs, "--checkpoint", enet_ckpt)
    assert code == 2 and "over an input image" in one_line_error(err)
    code, _, err = run_cli(capsys, "segment", pngs, "--out", pngs, "--checkpoint", enet_ckpt,
                        "--overwrite")
    assert code == 2 and "over an input image" in one_line_error(err)
    assert _snapshot(pngs) == before
    # JPEG photos: no name clash, but label maps among them would be taken for images later.
    jpgs = tmp_path / "jpgs"
    (jpgs / "sub").mkdir(parents=True)
    Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(jpgs / "a.jpg")
    Image.fromarray(np.full((40, 50, 3), 30, np.uint8)).save(jpgs / "sub" / "b.jpg")
    before = _snapshot(jpgs)
    for out in (jpgs, jpgs / "sub", tmp_path / "jpgs" / "."):
        code, _, err = run_cli(capsys, "segment", jpgs, "--out", out, "--checkpoint",
                               enet_ckpt, "--overwrite")
        assert code == 2 and "among the input images" in one_line_error(err), out
    assert _snapshot(jpgs) == before
    code, _, _ = run_cli(capsys, "segment", jpgs, "--out", tmp_path / "maps", "--checkpoint",
                         enet_ckpt)
    assert code == 0 and sorted(p.relative_to(tmp_path / "maps").as_posix()
                                for p in (tmp_path / "maps").rglob("*.png")) == ["a.png",
                                                                                "sub/b.png"]


def test_out_refuses_existing_files_and_project_labels(capsys, cli_project, enet_ckpt,
                                                       tmp_path):
    project = shutil.copytree(cli_project, tmp_path / "proj")
    labels_before = _snapshot(project / "labels")
    code, _, err = run_cli(capsys, "segment", project / "images", "--out", project / "labels",
                        "--checkpoint", enet_ckpt, "--overwrite")
    assert code == 2 and "labels folder of the project" in one_line_error(err)
    assert _snapshot(project / "labels") == labels_before
    out = tmp_path / "out"
    out.mkdir()
    (out / "scene_03.png").write_bytes(b"someone's file")
    code, _, err = run_cli(capsys, "segment", project / "images", "--out", out,
                        "--checkpoint", enet_ckpt)
    line = one_line_error(err)
    assert code == 2 and "scene_03.png exists" in line and "--overwrite" in line
    assert sorted(p.name for p in out.iterdir()) == ["scene_03.png"]   # nothing written
    code, _, _ = run_cli(capsys, "segment", project / "images", "--out", out,
                      "--checkpoint", enet_ckpt, "--overwrite")
    assert code == 0 and len(list(out.iterdir())) == 5
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli(capsys, "segment", project / "images", "--out", tmp_path / "afile",
                        "--checkpoint", enet_ckpt)
    assert code == 2 and "is a file" in one_line_error(err)


def test_segment_project_in_place_by_state(capsys, cli_project, enet_ckpt, tmp_path):
    root = shutil.copytree(cli_project, tmp_path / "proj")
    p = Project.open(root)
    reviewed = p.entries[0]
    human = p.read_label(reviewed).copy()
    edited = p.entries[1]
    mask = p.read_label(edited).copy()
    touched = np.zeros(mask.shape, bool)
    touched[:8, :8] = True
    mask[:8, :8] = 3
    p.save_label(edited, mask, state=ImageState.PREDICTED, overwrite_reviewed=True)
    p.save_label(edited, mask, state=ImageState.EDITED, touched=touched)
    code, out, _ = run_cli(capsys, "segment", root, "--checkpoint", enet_ckpt)
    assert code == 0, out
    assert "1 unlabeled image(s) get the new prediction" in out
    assert "1 edited image(s) keep every pixel you painted" in out
    assert "3 reviewed image(s) are left as they are" in out
    assert "1 new prediction, 1 re-predicted around your edits" in out
    fresh = Project.open(root)
    np.testing.assert_array_equal(fresh.read_label(reviewed), human)
    assert (fresh.read_label(edited)[:8, :8] == 3).all()
    assert fresh.state(edited) is ImageState.EDITED
    assert fresh.counts()[ImageState.PREDICTED] == 1
    # Naming a reviewed image replaces it, and says so.
    code, out, _ = run_cli(capsys, "segment", root, "--checkpoint", enet_ckpt,
                        "--replace-reviewed", reviewed.key)
    assert code == 0 and "1 reviewed, replaced as asked" in out
    assert Project.open(root).state(reviewed) is ImageState.PREDICTED
    code, _, err = run_cli(capsys, "segment", root, "--replace-reviewed", "nope.png",
                        "--checkpoint", enet_ckpt)
    assert code == 2 and "nope.png" in one_line_error(err)
    # An unreadable image: named on stderr, counted in the summary (not "nothing to do").
    (root / "images" / "zz_broken.png").write_bytes(b"not a png")
    code, out, err = run_cli(capsys, "segment", root, "--checkpoint", enet_ckpt)
    assert code == 2 and "zz_broken.png" in err
    assert "3 of 4 image(s)" in out and "1 unreadable, skipped" in out, out


def test_train_project_records_the_run_and_runs_lists_it(capsys, cli_project, tmp_path):
    root = shutil.copytree(cli_project, tmp_path / "proj")
    code, out, _ = run_cli(capsys, "train", root, "--steps", "20", "--size", "48x64",
                        "--batch", "2", "--device", "cpu")
    assert code == 0, out
    assert "enet #1: finished" in out and "made active" in out
    code, out, _ = run_cli(capsys, "runs", root, "--json")
    rows = json.loads(out)
    run = rows[0]
    assert {"path", "arch", "status", "miou", "start_miou", "parent", "active"} <= set(run)
    assert run["arch"] == "enet" and run["status"] == "finished" and run["active"]
    assert run["parent"].endswith("enet_camvid.safetensors")
    assert rows[-1]["kind"] == "shipped" and not rows[-1]["active"]
    # The button's settings were kept as the project's.
    assert Project.open(root).settings["finetune"]["steps"] == 20
    code, out, _ = run_cli(capsys, "runs", root)
    assert code == 0 and "* enet #1" in out


def test_train_project_refusals(capsys, cli_project, tmp_path):
    root = shutil.copytree(cli_project, tmp_path / "proj")
    code, _, err = run_cli(capsys, "train", root, "--epochs", "3")
    assert code == 2 and "--epochs (use --steps)" in one_line_error(err)
    code, _, err = run_cli(capsys, "train", root, "--resume")
    assert code == 2 and "no cancelled or interrupted run" in one_line_error(err)
    code, _, err = run_cli(capsys, "train", tmp_path / "proj" / "images" / "scene_01.png",
                        "--steps", "1")
    assert code == 2 and "scene_01.png" in one_line_error(err)
