"""An HTTPS server that dies in the middle of its answer: a real process on 127.0.0.1 that takes
one connection, answers part of it as ``mode`` says, then kills itself with SIGKILL (the kernel
closes its socket, as when a collector's front end is killed -9 or its machine fails).

Run as a script (standard library only): ``python dying_server.py CERT KEY MODE``; it prints
its port on one line, serves one connection and is gone within :data:`LIFETIME_S` at most.
:func:`start_dying_server` starts it from a test. Modes:

* ``handshake``: dies as the TCP connection comes in, before TLS.
* ``reading``: reads the first bytes of the request and dies while the client still sends.
* ``silent``: reads the whole request, dies without a byte of answer.
* ``status``: half a status line.
* ``headers``: the headers of a 200 with ``Content-Length: 100``, no body.
* ``body``: those headers and 6 of the 100 bytes.
* ``chunked``: a chunked 200, one chunk, no last chunk.
* ``garbage``: bytes that are not HTTP.
* ``stall``: the headers, then nothing until the client gives up (it dies after LIFETIME_S).
* ``503:VALUE``: a whole 503 with ``Retry-After: VALUE`` (no death: it closes and exits 0).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LIFETIME_S = 30.0
MODES = ("handshake", "reading", "silent", "status", "headers", "body", "chunked", "garbage", "stall")
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
ANSWERS = {
    "silent": b"",
    "status": b"HTTP/1.1 20",
    "headers": HEAD,
    "body": HEAD + b'{"ack"',
    "chunked": b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{"ack"\r\n',
    "garbage": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "stall": HEAD,
}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _read_request(conn: ssl.SSLSocket) -> None:
    """The request's head and its ``Content-Length`` of body (bounded: 8 MiB at most)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = min(int(value.strip()), 8 << 20)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def _serve(certfile: str, keyfile: str, mode: str) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(LIFETIME_S)
    print(listener.getsockname()[1], flush=True)
    raw, _ = listener.accept()
    if mode == "handshake":
        _die()
    raw.settimeout(LIFETIME_S)
    conn = ctx.wrap_socket(raw, server_side=True)
    if mode == "reading":
        conn.recv(100)
        _die()
    _read_request(conn)
    if mode.startswith("503:"):
        value = mode[4:].encode()
        body = b'{"error":"busy"}'
        conn.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: "
            + value + b"\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n" + body
        )  # fmt: skip
        conn.close()
        return
    conn.sendall(ANSWERS[mode])
    if mode == "stall":
        time.sleep(LIFETIME_S)
    _die()


@dataclass
class DyingServer:
    """The server's process and port."""

    proc: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def end(self, grace_s: float = 0.0) -> int:
        """Its exit status (-9: it died by SIGKILL), killed by its PID if it still runs after
        ``grace_s``."""
        try:
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        status = self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return status


def start_dying_server(certfile: Path, keyfile: Path, mode: str) -> DyingServer:
    """The script in a child process, listening when this returns."""
    proc = subprocess.Popen(
        [sys.executable, __file__, str(certfile), str(keyfile), mode],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        proc.wait(10)
        raise RuntimeError(f"the dying server did not start: {line!r}")
    return DyingServer(proc, int(line))


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], sys.argv[3])
