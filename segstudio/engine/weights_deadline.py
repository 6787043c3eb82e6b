"""One deadline over a whole HTTP exchange: connecting, the status line, the headers, the body.

A socket timeout bounds each read, not their sum: a server that sends its status line or its
headers one byte every few seconds keeps `urlopen` busy for as long as it likes, since every
read returns something. So the connections an opener makes are watched: when the deadline
passes, a timer thread shuts their sockets down, the blocked read returns at once (EOF or an
error), and the caller reports the deadline rather than whatever http.client made of the cut.

stdlib only, no torch. The `http.client` hook used (`_create_connection`, the function an
HTTPConnection connects with) lets the raw TCP socket be watched from before the TLS handshake,
so a server dribbling its handshake is bounded too.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any


class Deadline:
    """Seconds left of `limit` from now; `expired` once the timer has shut the sockets down.

    Use as a context manager: the timer starts on entry and is cancelled on exit, and every
    socket is released either way."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.start = time.monotonic()
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(limit, 0.0), self._fire)
        self._timer.daemon = True   # never keeps the interpreter alive

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def remaining(self) -> float:
        return self.limit - (time.monotonic() - self.start)

    def passed(self) -> bool:
        return self.expired or self.remaining() <= 0

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _cut(sock)   # connected after the deadline: cut it now, the read fails at once

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _cut(sock)

    def opener(self) -> urllib.request.OpenerDirector:
        """An opener (proxies and redirects as urlopen's) whose connections this deadline
        watches; each connect waits at most the time left (or the per-operation timeout)."""
        deadline = self

        class HTTP(urllib.request.HTTPHandler):
            def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(_watched(http.client.HTTPConnection, deadline), req)

        class HTTPS(urllib.request.HTTPSHandler):
            def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                conn = _watched(http.client.HTTPSConnection, deadline)
                return self.do_open(conn, req, context=getattr(self, "_context", None))

        return urllib.request.build_opener(HTTP, HTTPS)


def _cut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, not SSLSocket's (which drops its TLS state under a reader
    # in another thread): the TCP stream ends, the reader gets EOF or an error.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], deadline: Deadline) -> Callable[..., Any]:
    class Watched(base):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            create = getattr(self, "_create_connection", None)
            if create is not None:   # watch the raw socket from before a TLS handshake
                def connect_watched(*a: Any, **kw: Any) -> socket.socket:
                    sock = create(*a, **kw)
                    deadline.watch(sock)
                    return sock
                self._create_connection = connect_watched

        def connect(self) -> None:
            left = deadline.remaining()
            if left <= 0:
                raise TimeoutError("deadline passed before connecting")
            # connect() is one blocking call: bound it by the time left as well
            if self.timeout is None or not isinstance(self.timeout, (int, float)) \
                    or self.timeout > left:
                self.timeout = left
            super().connect()
            if self.sock is not None:
                deadline.watch(self.sock)   # the TLS socket (no-op cut if already watched)

    return Watched
