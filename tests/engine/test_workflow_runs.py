"""Deleting and renaming a project's runs (engine.workflow.run_registry): the record and the run's
folder go, the active model and a training run are refused, files outside the project's run
folders are never deleted, a new name is stored in segstudio.json."""

from __future__ import annotations

import os

import pytest

from segstudio.core.errors import ProjectError
from segstudio.core.project import Project
from segstudio.engine.workflow import delete_run, model_choices, rename_run, set_active


def _run(project: Project, name: str, **fields) -> str:
    folder = project.checkpoints_dir / f"enet-{name}"
    folder.mkdir(parents=True)
    for f in ("best.safetensors", "last.safetensors", "train_state.safetensors"):
        (folder / f).write_bytes(b"weights")
    project.register_checkpoint(folder / "best.safetensors", "enet", {}, name=name,
                                status="finished", **fields)
    return str(folder / "best.safetensors")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "images").mkdir()
    return Project.open(tmp_path)


def test_delete_removes_the_record_and_the_folder(project):
    keep = _run(project, "a")
    gone = _run(project, "b")
    set_active(project, keep)
    assert delete_run(project, gone) == project.checkpoints_dir / "enet-b"
    assert not (project.checkpoints_dir / "enet-b").exists()
    again = Project.open(project.root)
    assert [r["name"] for r in again.checkpoints] == ["a"]
    assert all(c.label.split(" ·")[0] != "b" for c in model_choices(again))


def test_the_active_model_and_a_training_run_are_refused(project):
    active = _run(project, "a")
    running = _run(project, "b", pid=os.getpid())
    project.register_checkpoint(running, "enet", {}, status="running", pid=os.getpid())
    set_active(project, active)
    with pytest.raises(ProjectError, match="active model cannot be deleted"):
        delete_run(project, active)
    with pytest.raises(ProjectError, match="still training"):
        delete_run(project, running)
    assert len(Project.open(project.root).checkpoints) == 2
    assert (project.checkpoints_dir / "enet-a" / "best.safetensors").is_file()


def test_a_checkpoint_outside_the_run_folders_keeps_its_file(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "model.safetensors"
    outside.write_bytes(b"weights")
    project.register_checkpoint(outside, "enet", {}, name="imported")
    assert delete_run(project, outside) is None
    assert outside.is_file()
    assert Project.open(project.root).checkpoints == []


def test_rename_changes_the_display_name_only(project):
    path = _run(project, "enet #1")
    rec = rename_run(project, path, "  night   scenes ")
    assert rec["name"] == "night scenes"
    again = Project.open(project.root)
    assert again.checkpoints[0]["name"] == "night scenes"
    assert again.checkpoints[0]["path"] == "checkpoints/enet-enet #1/best.safetensors"
    assert model_choices(again)[0].label.startswith("night scenes · ")
    with pytest.raises(ProjectError, match="needs a name"):
        rename_run(project, path, "   ")
    with pytest.raises(ProjectError, match="not a run"):
        rename_run(project, project.root / "nope.safetensors", "x")


def test_a_model_that_is_not_a_run_describes_itself(tmp_path):
    # The Model panel's note under the shipped model (or an external file) is what its header
    # says, not an empty gap (issue 19); an unreadable header says nothing rather than fail.
    from segstudio.engine.workflow.run_registry import header_note, shipped_checkpoint

    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 16)
    assert header_note(bad) == ""
    assert header_note(tmp_path / "missing.safetensors") == ""
    shipped = shipped_checkpoint()
    if shipped is None:
        pytest.skip("installed without the shipped model")
    note = header_note(shipped)
    assert note.startswith("val mIoU 60.6% when trained; ENet for 11 classes (Sky, Building")
