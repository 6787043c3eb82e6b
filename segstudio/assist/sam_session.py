"""SAM for an open image: weights found through the weights manager, encodings made on one
background thread (the current image first, then its neighbours), kept in an LRU cache,
and points that become a mask.

Nothing here blocks its caller: `open_image` only says which images are wanted now; the
encoder thread takes the first wanted image that is not encoded yet, and an encoding whose
image is no longer wanted stops at its next transformer block. The window polls `ready`.

    session = SamSession()
    session.open_image(key, rgb, neighbours=[(key2, path2)])
    ...                                   # later, once session.ready
    session.add_point((x, y), positive=True)
    mask = session.mask(hover=(x, y))     # (H, W) bool, or None before the encoding is ready
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segstudio.assist.sam import VIT_B, EncodeCancelled, SamConfig, SamModel
from segstudio.assist.sam_cache import EmbeddingCache
from segstudio.core.errors import SegstudioError

Point = tuple[float, float]
Prompt = tuple[tuple[Point, ...], tuple[int, ...]]     # points (x, y) and labels 1 / 0


@dataclass(frozen=True)
class ModelSpec:
    """Which weights-manager entry holds the network's weights, and the network's shape."""

    weights: str
    config: SamConfig
    title: str = "SAM ViT-B"


DEFAULT_SPEC = ModelSpec("sam_vit_b", VIT_B)


def weights_present(spec: ModelSpec | None = None) -> bool:
    """Whether the spec's file is here (a file-name check: cheap on the GUI thread)."""
    from segstudio.engine.weights import status

    return status((spec or DEFAULT_SPEC).weights).present


def how_to_get(spec: ModelSpec | None = None) -> str:
    """The one line a tool without weights shows."""
    spec = spec or DEFAULT_SPEC
    from segstudio.engine.weights import format_size, status

    size = format_size(status(spec.weights).size)
    return (f"{spec.title} needs its weights ({size}): Model > Pretrained weights… "
            f"or `segstudio weights fetch {spec.weights}`; the other tools work without")


def load_model(spec: ModelSpec, cancel: Callable[[], bool] | None = None,
               device: str | None = None) -> SamModel:
    """Verify the spec's file (SHA-256, once per process) and load it, on the CUDA GPU when
    there is one (an encoding there takes a fraction of a second), else on the CPU. (Not
    MPS: segment_anything is not tested there.) The CUDA path was not run here: no GPU."""
    import torch

    from segstudio.engine.weights import verify

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return SamModel.load(verify(spec.weights, cancel), spec.config, device)


def _nice_this_thread() -> None:
    """Lower the calling thread's priority so the GUI thread wins the CPU on a busy machine
    (as ui.workers does for its QThreads). Linux nice values are per thread and inherited by
    threads started later, so torch's intra-op threads started from here are niced too."""
    import contextlib
    import os
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class SamSession:
    """`model` may be given (tests, the bench); otherwise it is loaded from `spec` on the
    encoder thread before the first encoding. `capacity`: embeddings kept."""

    def __init__(self, spec: ModelSpec | None = None, *, model: Any = None,
                 capacity: int = 4) -> None:
        self.spec = spec or DEFAULT_SPEC
        self.model = model
        self.cache = EmbeddingCache(capacity)
        self.error: str | None = None           # loading or encoding failed: one line
        self.encodes = 0                        # encodings finished (tests, the status)
        self.cancelled = 0                      # encodings stopped because moved on
        self.points: list[Point] = []
        self.labels: list[int] = []
        self._key: Hashable | None = None
        self._wanted: list[tuple[Hashable, np.ndarray | None, Path | None]] = []
        self._busy_key: Hashable | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="sam-encoder", daemon=True)
        self._thread.start()
        # Masks are made on their own thread, the newest request first: a decoder pass is
        # milliseconds on a quiet CPU but took up to a second on the shared one, and the
        # hover preview asks for one at every mouse move.
        self.latencies: list[float] = []        # seconds per decoder pass (status, bench)
        self._request: tuple[Hashable, Prompt] | None = None
        self._result: tuple[Hashable, Prompt, np.ndarray] | None = None
        self._prompter = threading.Thread(target=self._prompt_loop, name="sam-prompts",
                                          daemon=True)
        self._prompter.start()

    # -- images --------------------------------------------------------------------------
    def open_image(self, key: Hashable, image: np.ndarray | None,
                   neighbours: Sequence[tuple[Hashable, Path]] = ()) -> None:
        """The image now shown (decoded) and the ones around it (read from disk if they get
        their turn). Points of the previous image are dropped."""
        self.clear_points()
        with self._cond:
            if self.model is not None:
                self.error = None      # one image that failed does not stop the next ones
            self._key = key
            wanted = [(key, image, None)] if image is not None else []
            wanted += [(k, None, Path(p)) for k, p in neighbours if k != key]
            self._wanted = wanted
            self._cond.notify_all()

    def close_image(self) -> None:
        with self._cond:
            self._key = None
            self._wanted = []
        self.clear_points()

    @property
    def ready(self) -> bool:
        """The current image is encoded (clicks give masks at once)."""
        return self._key is not None and self._key in self.cache

    @property
    def encoding(self) -> bool:
        """The current image is being encoded (or waits for the model to load)."""
        with self._cond:
            return (self._key is not None and self.error is None and not self.ready
                    and any(k == self._key for k, _, _ in self._wanted))

    def embedding(self) -> Any | None:
        return self.cache.get(self._key) if self._key is not None else None

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the current image is encoded or failed (tests, the bench)."""
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.ready or self.error is not None:
                return self.ready
            time.sleep(0.01)
        return self.ready

    def idle(self) -> bool:
        """No encoding running or waiting (every wanted image is encoded or failed)."""
        with self._cond:
            return self._busy_key is None and self._next() is None

    # -- prompts -------------------------------------------------------------------------
    def add_point(self, p: Point, positive: bool) -> None:
        self.points.append((float(p[0]), float(p[1])))
        self.labels.append(1 if positive else 0)

    def clear_points(self) -> None:
        self.points, self.labels = [], []

    def prompt(self, hover: Point | None = None) -> Prompt:
        """The points so far, plus `hover` as a tentative positive point."""
        points, labels = list(self.points), list(self.labels)
        if hover is not None:
            points.append((float(hover[0]), float(hover[1])))
            labels.append(1)
        return tuple(points), tuple(labels)

    def mask(self, hover: Point | None = None) -> np.ndarray | None:
        """The object for `prompt(hover)`, computed on the caller's thread; None before the
        encoding is ready or with no point at all."""
        return self._predict(self.embedding(), self.prompt(hover))

    def mask_at(self, p: Point) -> np.ndarray | None:
        """The object one positive click at `p` gives, leaving the points as they are (the
        object fill's prompt); any thread."""
        return self._predict(self.embedding(), (((float(p[0]), float(p[1])),), (1,)))

    def _predict(self, emb: Any, prompt: Prompt) -> np.ndarray | None:
        import time

        if emb is None or self.model is None or not prompt[0]:
            return None
        start = time.perf_counter()
        mask = self.model.predict(emb, list(prompt[0]), list(prompt[1]))
        self.latencies.append(time.perf_counter() - start)
        del self.latencies[:-200]
        return mask

    def request(self, prompt: Prompt) -> None:
        """Ask for `prompt`'s mask on the prompt thread (a newer request replaces one not
        started yet); `result` gives it."""
        with self._cond:
            self._request = (self._key, prompt)
            self._cond.notify_all()

    def result(self, prompt: Prompt | None = None) -> np.ndarray | None:
        """The newest mask computed for the current image (for `prompt` only, if given)."""
        with self._cond:
            r = self._result
        if r is None or r[0] != self._key or (prompt is not None and r[1] != prompt):
            return None
        return r[2]

    def pending(self) -> bool:
        with self._cond:
            return self._request is not None

    def _prompt_loop(self) -> None:
        _nice_this_thread()
        while True:
            with self._cond:
                while not self._stop and self._request is None:
                    self._cond.wait()
                if self._stop:
                    return
                key, prompt = self._request
            try:
                mask = self._predict(self.cache.get(key), prompt)
            except Exception as exc:            # a broken model says so once, not per move
                self.error = f"{type(exc).__name__}: {exc}"
                mask = None
            with self._cond:
                if self._request == (key, prompt):
                    self._request = None
                if mask is not None:
                    self._result = (key, prompt, mask)

    # -- the encoder thread --------------------------------------------------------------
    def _next(self) -> tuple[Hashable, np.ndarray | None, Path | None] | None:
        for item in self._wanted:
            if item[0] not in self.cache:
                return item
        return None

    def _loop(self) -> None:
        _nice_this_thread()
        while True:
            with self._cond:
                while not self._stop and (self.error is not None or self._next() is None):
                    self._cond.wait()
                if self._stop:
                    return
                key, image, path = self._next()
                self._busy_key = key
            try:
                self._encode(key, image, path)
            except EncodeCancelled:
                self.cancelled += 1
            except SegstudioError as exc:
                self._fail(key, str(exc))
            except Exception as exc:            # never die silently: say it in the status
                self._fail(key, f"{type(exc).__name__}: {exc}")
            finally:
                with self._cond:
                    self._busy_key = None

    def _stale(self, key: Hashable) -> bool:
        with self._cond:
            return self._stop or all(k != key for k, _, _ in self._wanted)

    def _encode(self, key: Hashable, image: np.ndarray | None, path: Path | None) -> None:
        if self.model is None:
            self.model = load_model(self.spec)
        if image is None:
            from segstudio.core.imageio import read_image

            image = read_image(path)
        emb = self.model.encode(image, cancel=lambda: self._stale(key))
        with self._cond:
            keep = tuple(k for k, _, _ in self._wanted)
        self.cache.put(key, emb, keep=keep)
        self.encodes += 1

    def _fail(self, key: Hashable, message: str) -> None:
        with self._cond:
            if key == self._key or self.model is None:
                self.error = message            # the current image (or the model) failed
            else:
                # A neighbour that cannot be read: skip it, it is not what is shown.
                self._wanted = [w for w in self._wanted if w[0] != key]

    def close(self, wait_s: float = 60.0) -> None:
        """Stop both threads: an encoding stops at its next block (seconds on a busy CPU:
        a ViT-B block took up to 6 s here), a mask being made is finished. Waits up to
        `wait_s` so that the interpreter does not exit under a torch op (that aborted the
        process: "terminate called without an active exception")."""
        with self._cond:
            self._stop = True
            self._wanted = []
            self._request = None
            self._cond.notify_all()
        for thread in (self._thread, self._prompter):
            if thread is not threading.current_thread():
                thread.join(wait_s)
