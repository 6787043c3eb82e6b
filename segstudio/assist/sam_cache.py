"""Embeddings of the current and neighbouring images, least recently used first out.

A ViT-B embedding is 4 MB (256 x 64 x 64 floats) and costs seconds to make, so a few are
kept: going back to the previous image, or on to the next one that was encoded while the
person worked, costs nothing. Keys name the file and its version (path, mtime, size), so a
file replaced on disk is encoded again.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

ImageKey = tuple[str, int, int]


def image_key(path: str | Path) -> ImageKey:
    """(path, mtime_ns, size) of an image file: changes when the file does."""
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


class EmbeddingCache:
    """A bounded LRU map (thread-safe: the encoder's thread puts, the GUI thread gets)."""

    def __init__(self, capacity: int = 4) -> None:
        if capacity < 1:
            raise ValueError("an embedding cache holds at least one embedding")
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: Any, keep: tuple[Hashable, ...] = ()) -> None:
        """Store `value`; the least recently used entries not in `keep` (the images wanted
        now) leave first when over capacity."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                victim = next((k for k in self._items if k not in keep and k != key), None)
                if victim is None:
                    break
                del self._items[victim]

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
