"""Where labels may be written: any legal name, and only inside the project (a labels folder,
a labels subfolder or the store that a link takes elsewhere is refused)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from segstudio.core.errors import ProjectError
from segstudio.core.project import ImageState, Project

H, W = 6, 8
LONG = "a" * 239 + ".jpg"          # 243 characters: legal; its label is 243 too


def _image(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(path, format="PNG")


def test_an_image_with_a_243_character_name_gets_its_label_and_touched_map(tmp_path) -> None:
    _image(tmp_path / "images" / LONG)
    p = Project.open(tmp_path)
    e = p.entries[0]
    mask = np.ones((H, W), np.uint8)
    touched = np.zeros((H, W), bool)
    touched[:2] = True
    assert p.save_label(e, mask, state=ImageState.EDITED, touched=touched)
    fresh = Project.open(tmp_path)
    assert len(fresh.label_path(e).name) == 243
    np.testing.assert_array_equal(fresh.read_label(e), mask)
    np.testing.assert_array_equal(fresh.touched(e), touched)
    assert fresh.state(e) is ImageState.EDITED
    assert not [n for n in os.listdir(tmp_path / "labels") if n.endswith(".tmp")]


@pytest.mark.parametrize("link", ["labels", "labels/sub", ".segstudio", ".segstudio/touched"])
def test_a_folder_link_out_of_the_project_is_refused_for_writing(tmp_path, link) -> None:
    root, outside = tmp_path / "project", tmp_path / "elsewhere"
    outside.mkdir()
    _image(root / "images" / "sub" / "x.png")
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(outside, target_is_directory=True)
    p = Project.open(root)
    problem = p.link_problem()
    assert problem is not None and "leads outside the project" in problem
    assert str(outside) in problem and "\n" not in problem
    e = p.entries[0]
    with pytest.raises(ProjectError, match="leads outside the project"):
        p.save_label(e, np.zeros((H, W), np.uint8), state=ImageState.EDITED,
                     touched=np.ones((H, W), bool))
    assert list(outside.iterdir()) == []       # nothing written where the link leads
    assert not list((root / ".segstudio").rglob("*.png"))   # nor a touched map left behind
    assert p.read_only is False                # the folder itself is writable
    assert Project.open(root).state(e) is ImageState.UNLABELED


def test_a_link_that_stays_inside_the_project_is_fine(tmp_path) -> None:
    _image(tmp_path / "images" / "x.png")
    (tmp_path / "my_labels").mkdir()
    (tmp_path / "labels").symlink_to(tmp_path / "my_labels", target_is_directory=True)
    p = Project.open(tmp_path)
    assert p.link_problem() is None
    assert p.save_label(p.entries[0], np.zeros((H, W), np.uint8), state=ImageState.REVIEWED)
    assert (tmp_path / "my_labels" / "x.png").is_file()
