"""The GUI-thread garbage collection policy (segstudio.ui.gc_policy)."""

from __future__ import annotations

import gc

from segstudio.ui import gc_policy
from segstudio.ui.gc_policy import GuiGarbageCollector


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collection_is_off_until_the_gui_timer_runs_it(qapp, monkeypatch):
    collector = GuiGarbageCollector(interval_s=10)
    try:
        assert not gc.isenabled()
        for _ in range(gc.get_threshold()[0] + 10):
            Cycle()
        assert gc.get_count()[0] > gc.get_threshold()[0]   # nothing collected on its own
        collector.check()
        assert gc.get_count()[0] < gc.get_threshold()[0]
    finally:
        collector.stop()
    assert gc.isenabled()


def test_full_passes_are_rare_and_startup_objects_are_frozen_once(qapp, monkeypatch):
    calls: list[int] = []
    real = gc.collect
    monkeypatch.setattr(gc, "collect", lambda gen=2: calls.append(gen) or real(gen))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(-1))   # no real freeze in tests
    ready = [False]
    collector = GuiGarbageCollector(interval_s=10, freeze_when=lambda: ready[0])
    try:
        monkeypatch.setattr(gc, "get_count", lambda: (10_000, 100, 100))
        collector.check()                       # young and middle: yes; full: not yet
        assert calls == [0, 1] and not collector.frozen
        calls.clear()
        ready[0] = True
        collector.check()                       # the engine is loaded: one full pass, frozen
        assert calls == [2, -1] and collector.frozen
        calls.clear()
        collector.check()                       # frozen once only; no full pass so soon
        assert calls == [0, 1]
        calls.clear()
        monkeypatch.setattr(gc_policy.time, "monotonic",
                            lambda: collector._last_full + gc_policy.FULL_EVERY_S + 1)
        collector.check()
        assert calls == [0, 1, 2]
    finally:
        collector.stop()
