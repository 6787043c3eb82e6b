"""checkpoints/ (or a run's folder) that a link takes out of the project (issue 18): a
fine-tune and a run's deletion are refused in one line before anything is written or deleted,
as for labels/; renaming (segstudio.json only) and reading through the link stay possible,
and opening the project never cleans temp files where the link leads."""

from __future__ import annotations

import os
import time

import pytest

from segstudio.core.errors import ProjectError
from segstudio.core.project import Project
from segstudio.core.sample import make_sample_project
from segstudio.engine.workflow import delete_run, rename_run, run_finetune


def _linked(tmp_path, what: str = "checkpoints"):
    """A project whose `what` folder is a link to `elsewhere` (its runs live there)."""
    root = make_sample_project(tmp_path / "p", count=4, reviewed=3, size=(48, 64), seed=1)
    outside = tmp_path / "elsewhere"
    run = outside / "enet-a" if what == "checkpoints" else outside
    run.mkdir(parents=True)
    for f in ("best.safetensors", "train_state.safetensors"):
        (run / f).write_bytes(b"weights")
    project = Project.open(root)
    if what == "checkpoints":
        project.checkpoints_dir.symlink_to(outside, target_is_directory=True)
    else:   # a real checkpoints/ whose run folder is the link
        project.checkpoints_dir.mkdir()
        (project.checkpoints_dir / "enet-a").symlink_to(outside, target_is_directory=True)
    best = project.checkpoints_dir / "enet-a" / "best.safetensors"
    project.register_checkpoint(best, "enet", {}, name="a", status="cancelled")
    return Project.open(root), outside


def _tree(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.mark.parametrize("what", ["checkpoints", "run"])
def test_a_fine_tune_is_refused_before_anything_is_written(tmp_path, what):
    project, outside = _linked(tmp_path, what)
    before, doc = _tree(outside), project.project_file.read_bytes()
    resume = project.checkpoints[0] if what == "run" else None
    with pytest.raises(ProjectError) as err:
        run_finetune(project, "enet", resume=resume)
    line = str(err.value)
    assert "\n" not in line and "folder link leads outside the project" in line
    assert str(outside) in line
    assert _tree(outside) == before and project.project_file.read_bytes() == doc
    assert project.checkpoints_problem() is None or what == "checkpoints"


def test_deleting_a_run_through_a_checkpoints_link_is_refused(tmp_path):
    project, outside = _linked(tmp_path)
    before = _tree(outside)
    with pytest.raises(ProjectError, match=r"leads outside the project.*not deleted"):
        delete_run(project, project.checkpoints_dir / "enet-a" / "best.safetensors")
    assert _tree(outside) == before
    assert len(Project.open(project.root).checkpoints) == 1    # the record stays too


def test_renaming_writes_only_segstudio_json(tmp_path):
    project, outside = _linked(tmp_path)
    before = _tree(outside)
    rename_run(project, project.checkpoints_dir / "enet-a" / "best.safetensors", "kept")
    assert Project.open(project.root).checkpoints[0]["name"] == "kept"
    assert _tree(outside) == before


def test_opening_never_cleans_temp_files_through_a_link(tmp_path):
    project, outside = _linked(tmp_path)
    orphan = outside / ".best.safetensors.abcd1234.tmp"    # tempfile.mkstemp's pattern
    orphan.write_bytes(b"someone else's")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    Project.open(project.root)
    assert orphan.is_file()
