"""The project's own choices (engine.workflow.project_choices): one default and one check for
the window and the command line."""

from __future__ import annotations

import pytest

from segstudio.core.project import Project
from segstudio.core.sample import make_sample_project
from segstudio.engine.checkpoint import default_checkpoint
from segstudio.engine.scale import ScaleError
from segstudio.engine.workflow import (
    DEFAULT_ARCH,
    ArchitectureError,
    architectures,
    predict_scale,
    project_arch,
    set_predict_scale,
    set_project_arch,
)
from segstudio.engine.workflow.project_choices import learnt_scale, predict_scale_text


@pytest.fixture
def project(tmp_path) -> Project:
    return Project.open(make_sample_project(tmp_path / "p", count=2, reviewed=1, size=(48, 64)))


def test_architecture_default_check_and_save(project) -> None:
    assert project_arch(project) == DEFAULT_ARCH
    other = next(a for a in architectures() if a != DEFAULT_ARCH)
    set_project_arch(project, other)
    project.save()
    assert project_arch(Project.open(project.root)) == other
    with pytest.raises(ArchitectureError, match="unknown architecture; choose one of"):
        set_project_arch(project, "resnet9000")
    assert project_arch(project) == other            # refused: nothing changed
    project.settings["arch"] = "from-a-newer-segstudio"
    assert project_arch(project) == DEFAULT_ARCH     # unknown on disk: the default, no error


def test_inference_scale_check_and_fallback(project) -> None:
    assert predict_scale(project) == "auto" and predict_scale_text(project) == "auto"
    set_predict_scale(project, "0.5")
    assert predict_scale(project) == 0.5 and predict_scale_text(project) == "0.5"
    with pytest.raises(ScaleError):
        set_predict_scale(project, "huge")
    assert predict_scale_text(project) == "0.5"
    project.settings["predict_scale"] = "huge"        # a hand edit: Segment uses auto
    assert predict_scale(project) == "auto"


def test_learnt_scale_from_the_header(tmp_path) -> None:
    assert learnt_scale(None) is None
    assert learnt_scale(tmp_path / "missing.safetensors") is None
    if default_checkpoint().is_file():
        assert learnt_scale(default_checkpoint())
