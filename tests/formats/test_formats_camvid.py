"""CamVid's own labels (greyscale index PNGs, void = 11, coloured black) survive a round trip
through VOC and COCO exactly; the export only reads the read-only dataset."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.formats import export_labels, import_labels
from segstudio.core.project import Project


@pytest.mark.camvid
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["voc", "coco"])
def test_camvid_val_round_trip(fmt, camvid_root, tmp_path):
    src = camvid_root / "val"
    report = export_labels(src, fmt, tmp_path / fmt, images=False)
    assert report.exported == 101 and not report.problems
    back = import_labels(tmp_path / fmt, fmt, tmp_path / "p", images=src / "images", link=True)
    assert back.imported == 101 and not back.unknown and not back.problems
    original, restored = Project.open(src), Project.open(tmp_path / "p")
    assert restored.classes.names == original.classes.names
    assert restored.classes.ignore_index == original.classes.ignore_index == 11
    for entry in original.entries:
        np.testing.assert_array_equal(restored.read_label(restored.entry(entry.key)),
                                      original.read_label(entry))
