"""The synthetic sample project: learnable scenes, labels on disk, states recorded."""

from __future__ import annotations

import numpy as np

from segstudio.core.project import ImageState, Project
from segstudio.core.sample import SAMPLE_CLASSES, make_sample_project, render_scene


def test_scene_has_every_class_region_with_its_own_look():
    rgb, label = render_scene(np.random.default_rng(3), (96, 128))
    assert rgb.shape == (96, 128, 3) and rgb.dtype == np.uint8
    assert label.shape == (96, 128) and label.dtype == np.uint8
    present = set(np.unique(label).tolist())
    assert {0, 1, 2, 3} <= present  # sky, ground and at least one disc and box
    assert present <= set(range(len(SAMPLE_CLASSES)))
    means = {c: rgb[label == c].mean(axis=0) for c in present}
    # sky is blue, ground brownish/green, discs red, boxes yellow: separable by colour.
    assert means[0][2] > means[0][0]
    assert means[2][0] > means[2][2] + 60
    assert means[3][0] > 150 and means[3][1] > 120 and means[3][2] < 120


def test_scenes_vary_and_are_reproducible():
    a1, l1 = render_scene(np.random.default_rng(0))
    a2, _ = render_scene(np.random.default_rng(0))
    b, l2 = render_scene(np.random.default_rng(1))
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(l1, l2)
    assert np.abs(a1.astype(int) - b.astype(int)).mean() > 10


def test_sample_project_on_disk(tmp_path):
    root = make_sample_project(tmp_path / "sample", count=5, reviewed=3, size=(64, 96))
    project = Project.open(root)
    assert len(project.entries) == 5
    assert project.classes.names == list(SAMPLE_CLASSES)
    counts = project.counts()
    assert counts[ImageState.REVIEWED] == 3
    assert counts[ImageState.UNLABELED] == 2
    entry = project.reviewed_entries()[0]
    label = project.read_label(entry)
    assert label.shape == (64, 96)
    assert project.read_image(entry).shape == (64, 96, 3)
    assert set(np.unique(label).tolist()) <= {0, 1, 2, 3}
    # Fine-tune settings that suit the scenes travel with the project.
    assert project.settings["finetune"]["height"] == 64
    assert project.settings["finetune"]["width"] == 96
