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
