"""Tiny data and untrained checkpoints for the command-line tests (no training needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from segstudio.core.sample import make_sample_project


@pytest.fixture(scope="session")
def cli_project(tmp_path_factory) -> Path:
    """5 scenes (4 reviewed, 1 unlabelled), 48x64, classes sky/ground/disc/box."""
    return make_sample_project(tmp_path_factory.mktemp("cli"), count=5, reviewed=4,
                               size=(48, 64), seed=2)


def _save(arch: str, classes, path: Path) -> Path:
    import torch

    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model, model_info

    torch.manual_seed(0)
    info = model_info(arch)
    return save_checkpoint(build_model(arch, classes.num_classes), path,
                           CheckpointMeta(arch, classes, info.mean, info.std))


@pytest.fixture(scope="session")
def enet_ckpt(cli_project, tmp_path_factory) -> Path:
    from segstudio.core.project import Project

    return _save("enet", Project.open(cli_project).classes,
                 tmp_path_factory.mktemp("ck") / "enet")


@pytest.fixture(scope="session")
def linknet_ckpt(cli_project, tmp_path_factory) -> Path:
    from segstudio.core.project import Project

    return _save("linknet", Project.open(cli_project).classes,
                 tmp_path_factory.mktemp("ck") / "linknet")
