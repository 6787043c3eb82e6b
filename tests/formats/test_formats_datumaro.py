"""The VOC and CVAT exports read by Datumaro, when it is installed.

Datumaro is not a dependency: installing it into segstudio's environment would downgrade
OpenCV and Pillow and add pandas and pyarrow (about 560 MB). The strict readers in
strict_layouts.py check the same files in every run; this test runs where Datumaro is present
(see docs/formats.md for the command).
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from formats_data import REVIEWED, labels_of

from segstudio.core.formats import export_labels
from segstudio.core.project import Project

dm = pytest.importorskip("datumaro")


def _datumaro_masks(path, subset_names):
    """id -> label name per pixel ('' where Datumaro has no annotation)."""
    from datumaro.components.annotation import AnnotationType

    dataset = dm.Dataset.import_from(str(path), "voc_segmentation")
    labels = dataset.categories()[AnnotationType.label]
    out = {}
    for item in dataset:
        assert item.subset in subset_names
        anns = [a for a in item.annotations if a.type == AnnotationType.mask]
        shape = anns[0].image.shape
        names = np.full(shape, "", object)
        for ann in anns:
            names[ann.image.astype(bool)] = labels.items[ann.label].name
        out[item.id] = names
    return out


@pytest.mark.parametrize("fmt", ["voc", "cvat-mask"])
@pytest.mark.parametrize("fixture", ["tricky", "tricky_void4"])
def test_datumaro_reads_the_export(fmt, fixture, request, tmp_path):
    tricky = request.getfixturevalue(fixture)
    out = tmp_path / ("x.zip" if fmt == "cvat-mask" else "voc")
    export_labels(tricky, fmt, out, split={"val": 0.25})
    folder = out
    if fmt == "cvat-mask":
        folder = tmp_path / "unzipped"
        with zipfile.ZipFile(out) as z:
            z.extractall(folder)
    masks = _datumaro_masks(folder, {"train", "val", "trainval"})
    classes = Project.open(tricky).classes
    names = np.asarray([*classes.names, classes.ignore_name], object)
    for key, label in labels_of(tricky, REVIEWED).items():
        got = masks[key.rsplit(".", 1)[0]]
        want = names[np.where(label == classes.ignore_index, classes.num_classes, label)]
        if fmt == "cvat-mask":  # instances: void is no object, so no annotation
            want = np.where(label == classes.ignore_index, "", want)
        assert (got == want).all(), key


def test_segstudio_imports_what_datumaro_writes(tmp_path):
    """Datumaro's own VOC segmentation export (its labelmap, RGB masks, background first)."""
    from datumaro.components.annotation import AnnotationType, LabelCategories, Mask
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image as DmImage

    from segstudio.core.formats import import_labels

    rng = np.random.default_rng(0)
    values = rng.integers(0, 3, (14, 18))
    items = [DatasetItem(id="sub/frame_1", subset="train",
                         media=DmImage.from_numpy(rng.integers(0, 255, (14, 18, 3),
                                                               dtype=np.uint8)),
                         annotations=[Mask(image=values == i, label=i) for i in range(3)])]
    cats = {AnnotationType.label: LabelCategories.from_iterable(["background", "cat", "dog"])}
    dataset = dm.Dataset.from_iterable(items, categories=cats)
    dataset.export(str(tmp_path / "dm"), "voc_segmentation", save_media=True,
                   label_map="source")
    report = import_labels(tmp_path / "dm", "voc", tmp_path / "p")
    assert report.imported == 1, report.summary()
    project = Project.open(tmp_path / "p")
    assert project.classes.names == ["background", "cat", "dog"]
    (entry,) = project.entries
    assert entry.key.startswith("sub/frame_1.")
    np.testing.assert_array_equal(project.read_label(entry), values)
