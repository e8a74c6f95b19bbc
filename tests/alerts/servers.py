"""The webhook's peer for the notification tests: the standard library's threading HTTP server,
recording every request (any method) and answering with the status codes it is told to (a queue of
them, then 204; a 3xx with ``location`` as its ``Location``). The SMTP server is in
tests/support/smtp.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    method: str = "POST"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []  # the POSTs answered with a 2xx
        self.requests: list[Received] = []  # every request, whatever its method and answer
        self.answers: list[int] = []  # status codes to give, in order, before 204s
        self.location: str | None = None  # the Location of a 3xx answer
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/printwatch"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        got = Received(self.path, dict(self.headers.items()), body, self.command)
        with self.server.lock:
            self.server.requests.append(got)
            status = self.server.answers.pop(0) if self.server.answers else 204
            if status < 300 and self.command == "POST":
                self.server.received.append(got)
        self.send_response(status)
        if 300 <= status < 400 and self.server.location:
            self.send_header("Location", self.server.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
