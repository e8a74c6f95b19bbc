"""Serves an ASGI app with hypercorn's Trio worker, inside the appliance's Trio run; what
:func:`http_server` returns is the ``http`` that :func:`~printwatch.service.daemon.run_until_stopped`
starts in its nursery.

Error handling: ``OSError`` naming the address when it cannot be bound (in use, not local),
raised from ``nursery.start`` so that ``printwatch run`` reports it and exits.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets
from hypercorn.trio import serve
from starlette.applications import Starlette

from printwatch.config.model import WebConfig

log = logging.getLogger(__name__)


#: A connection whose TLS handshake is not done within this is closed: the idle timeout only
#: starts after the handshake, and hypercorn's own limit (60 s) let a client that sends no
#: ClientHello hold a connection (a socket, a task) twelve times as long as an idle one.
TLS_HANDSHAKE_TIMEOUT_S = 10.0
#: A connection whose client leaves the answers sent to it unacknowledged (reads nothing) this
#: long is ended by the kernel (``TCP_USER_TIMEOUT``): hypercorn's writes have no timeout, and a
#: client pipelining requests without reading their answers held the connection for ever.
SEND_TIMEOUT_S = 30.0


class _Config(HypercornConfig):
    """hypercorn's configuration, its listening sockets given ``TCP_USER_TIMEOUT`` (inherited by
    every connection they accept) when ``send_timeout_s`` is set: hypercorn writes an answer
    with no timeout of its own (shielded from cancellation), so a client that stops reading (a
    zero TCP window, after pipelining requests whose answers fill the buffers) would hold the
    connection, its task and the server's shutdown for ever; the kernel ends it instead once
    sent data has gone unacknowledged for that long."""

    send_timeout_s: float | None = None

    def create_sockets(self) -> Sockets:
        sockets = super().create_sockets()
        if self.send_timeout_s is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
            for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    sock.setsockopt(
                        socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(self.send_timeout_s * 1000)
                    )
        return sockets


async def serve_http(
    app: Starlette,
    host: str,
    port: int,
    *,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    keep_alive_timeout_s: float = 5.0,
    keep_alive_max_requests: int = 1000,
    handshake_timeout_s: float = TLS_HANDSHAKE_TIMEOUT_S,
    send_timeout_s: float | None = SEND_TIMEOUT_S,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serves ``app`` on ``host:port`` until cancelled; started with the address it is bound to
    (``port`` 0 picks a free one). With ``certfile`` and ``keyfile``: HTTPS only. A connection
    is closed after ``keep_alive_timeout_s`` without a request (the first one included), and
    after ``keep_alive_max_requests`` requests (hypercorn's defaults); one whose TLS handshake is
    not done within ``handshake_timeout_s`` before that; one whose client leaves what was sent
    unacknowledged (reads nothing) for ``send_timeout_s`` (Linux; no limit when ``None``:
    :class:`_Config`). The dashboard and the collector both serve with these limits."""
    config = _Config()
    config.send_timeout_s = send_timeout_s
    config.keep_alive_timeout = keep_alive_timeout_s
    config.keep_alive_max_requests = keep_alive_max_requests
    config.ssl_handshake_timeout = handshake_timeout_s
    config.bind = [f"{host}:{port}"]
    if certfile is not None and keyfile is not None:
        config.certfile = str(certfile)
        config.keyfile = str(keyfile)
    config.accesslog = None
    config.errorlog = log
    config.graceful_timeout = 1.0
    async with trio.open_nursery() as nursery:
        try:
            binds: list[str] = await nursery.start(serve, app, config)
        except OSError as err:
            scheme = "HTTPS" if config.ssl_enabled else "HTTP"
            raise OSError(err.errno, f"cannot serve {scheme} on {host}:{port}: {err.strerror}") from None
        url = urlsplit(binds[0])
        task_status.started((url.hostname or host, url.port or port))


def http_server(app: Starlette, web: WebConfig) -> Callable[..., Awaitable[None]]:
    """``app`` served on ``web``'s host and port over plain HTTP, for ``nursery.start`` (the
    dashboard's :meth:`~printwatch.web.dashboard.serving.WebSetup.serve` adds its TLS)."""
    return partial(serve_http, app, web.host, web.port)
