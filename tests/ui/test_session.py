"""Session helpers that need no window."""

from __future__ import annotations

import numpy as np


def test_confidence_cache_drops_the_oldest_maps_beyond_its_budget():
    from segstudio.ui.session import MapCache

    cache = MapCache(limit=250)
    for key in "abc":
        cache[key] = np.zeros(100, np.uint8)
    assert list(cache) == ["b", "c"] and cache.nbytes == 200
    cache["b"] = np.zeros(100, np.uint8)  # replacing refreshes it
    cache["d"] = np.zeros(100, np.uint8)
    assert list(cache) == ["b", "d"] and cache.nbytes == 200


def test_a_painted_image_is_edited_from_the_first_stroke_before_autosave(tmp_path, qapp):
    """The state a question counts (Re-segment's dialog) must not wait for the PNG write."""
    from segstudio.core.entries import ImageState
    from segstudio.core.project import Project
    from segstudio.core.sample import make_sample_project
    from segstudio.ui.session import Session

    root = make_sample_project(tmp_path / "p", count=3, reviewed=1, size=(32, 40))
    session = Session(Project.open(root))
    try:
        entry = next(e for e in session.entries if session.state(e) is not ImageState.REVIEWED)
        before = session.state(entry)
        doc = session.document(entry, (32, 40))
        assert session.state(entry) is before            # opened, nothing painted
        doc.brush((5, 5), (9, 5), 2, 1)
        assert session.state(entry) is ImageState.EDITED  # not saved yet
        assert session.project.state(entry) is before     # the record waits for the save
        session.save(entry, wait=True)
        assert session.project.state(entry) is ImageState.EDITED
    finally:
        session.close()
