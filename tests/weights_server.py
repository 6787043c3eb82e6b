"""A weights server on 127.0.0.1 (port 0) for the weights tests: they never touch the internet.

One generated file, `tiny-<sha256 prefix>.pth`, served under several routes:
  /good/<file>       the file
  /corrupt/<file>    same length, different bytes (the hash prefix in the name does not match)
  /truncated/<file>  Content-Length of the whole file, half of it sent, then the connection closed
  /slow/<file>       the file in small pieces with pauses (to cancel or interrupt mid-download)
  /endless/<file>    no Content-Length, then the file followed by zeros without end (until the
                     client hangs up): a body that must be cut at the expected size
  /trickle/<file>    the file one byte every `trickle_s` seconds (never trips a socket timeout)
  /slowstatus/<file> the status line itself one byte every `trickle_s` seconds, then the file
  /slowheaders/<file> the status line at once, then the headers one byte every `trickle_s`
  anything else      404
HEAD answers with the same headers and no body. `requests` records (method, path).
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from pathlib import Path

import numpy as np

from segstudio.engine.weights import WeightsEntry


class WeightsServer:
    def __init__(self, size: int = 1 << 20, seed: int = 0, trickle_s: float = 0.05) -> None:
        self.trickle_s = trickle_s
        self.data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
        self.prefix = hashlib.sha256(self.data).hexdigest()[:8]
        self.file = f"tiny-{self.prefix}.pth"
        self.corrupt = bytes([self.data[0] ^ 0xFF]) + self.data[1:]
        self.requests: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def base(self, route: str) -> str:
        return f"http://127.0.0.1:{self.port}/{route}"

    def url(self, route: str) -> str:
        return f"{self.base(route)}/{self.file}"

    def entry(self, route: str = "good", name: str = "tiny",
              archs: tuple[str, ...] = ("tiny_arch",), size: int | None = None) -> WeightsEntry:
        """A test-only registry entry whose published URL is `route` on this server."""
        return WeightsEntry(name, self.file, "test weights served on 127.0.0.1", archs,
                            url=self.url(route), size=size)

    def write_good(self, folder: Path) -> Path:
        path = Path(folder) / self.file
        path.write_bytes(self.data)
        return path

    def __enter__(self) -> WeightsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                server.requests.append((self.command, self.path))
                route, _, name = self.path.strip("/").partition("/")
                if name != server.file or route not in ("good", "corrupt", "truncated", "slow",
                                                        "endless", "trickle", "slowstatus",
                                                        "slowheaders"):
                    self.send_error(404)
                    return
                if route in ("slowstatus", "slowheaders"):
                    self._dribble_head(route, body)
                    return
                data = server.corrupt if route == "corrupt" else server.data
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if route != "endless":
                    self.send_header("Content-Length", str(len(data)))
                else:
                    self.close_connection = True   # the body ends when the connection does
                self.end_headers()
                if not body:
                    return
                try:
                    if route == "truncated":
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                    elif route == "endless":
                        self.wfile.write(data)
                        zeros = bytes(65536)
                        while not server._stop.is_set():
                            self.wfile.write(zeros)
                    elif route == "trickle":
                        for i in range(len(data)):
                            if server._stop.is_set():
                                return
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                            time.sleep(server.trickle_s)
                    elif route == "slow":
                        for i in range(0, len(data), 16384):
                            if server._stop.is_set():
                                return
                            self.wfile.write(data[i:i + 16384])
                            self.wfile.flush()
                            time.sleep(0.01)
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (cancel): what these tests want

            def _dribble_head(self, route: str, body: bool) -> None:
                status = b"HTTP/1.1 200 OK\r\n"
                headers = (b"Content-Type: application/octet-stream\r\n"
                           b"X-Padding: " + b"x" * 200 + b"\r\n"
                           + f"Content-Length: {len(server.data)}\r\n\r\n".encode())
                slow = status + headers if route == "slowstatus" else headers
                self.close_connection = True
                try:
                    if route == "slowheaders":
                        self.wfile.write(status)
                        self.wfile.flush()
                    for i in range(len(slow)):
                        if server._stop.is_set():
                            return
                        self.wfile.write(slow[i:i + 1])
                        self.wfile.flush()
                        time.sleep(server.trickle_s)
                    if body:
                        self.wfile.write(server.data)
                except (BrokenPipeError, ConnectionResetError):
                    pass   # the client hung up at its deadline

        return Handler
