"""Real servers for the notification tests, started and stopped by the test.

* :func:`smtp_server`: aiosmtpd (its own thread and asyncio loop) on 127.0.0.1, STARTTLS with a
  certificate from a ``trustme`` CA, AUTH (LOGIN/PLAIN) required and only after STARTTLS.
* :func:`http_receiver`: the standard library's threading HTTP server, recording every request
  (any method) and answering with the status codes it is told to (a queue of them, then 204; a
  3xx with ``location`` as its ``Location``).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "printwatch@example.com", "s3cret-relay"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)  # aiosmtpd envelopes
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted)
    tls_sessions: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if session.ssl is not None:
            self.tls_sessions += 1
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        ok = (user, password) == (USER, PASSWORD)
        self.logins.append((user, ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 235 or 535


@dataclass
class Tls:
    ca: trustme.CA
    ca_file: Path
    server_context: ssl.SSLContext


def make_tls(tmp_path: Path) -> Tls:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Tls(ca, ca_file, context)


@contextmanager
def smtp_server(port: int, tls: Tls, mailbox: Mailbox) -> Iterator[Controller]:
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls.server_context,
        require_starttls=True,
        auth_required=True,
        authenticator=mailbox.authenticate,
        ready_timeout=10.0,
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


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
