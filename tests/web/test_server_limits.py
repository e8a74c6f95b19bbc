"""The shared HTTP server's limits hold by default, so the appliance's dashboard (which serves
with them, like the collector) closes a TLS connection whose client never says hello."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import trio
from printwatch.web.server import TLS_HANDSHAKE_TIMEOUT_S, serve_http
from starlette.applications import Starlette

from tests.support.tls import make_certs

pytestmark = pytest.mark.realtime


async def test_a_client_that_never_says_hello_is_closed_at_the_default_limit(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    serve = partial(serve_http, Starlette(), "127.0.0.1", 0, certfile=certs.certfile, keyfile=certs.keyfile)
    _, port = await nursery.start(serve)
    silent = await trio.open_tcp_stream("127.0.0.1", port)
    started = trio.current_time()
    try:
        with trio.fail_after(TLS_HANDSHAKE_TIMEOUT_S * 3):
            try:
                data = await silent.receive_some(4096)
            except trio.BrokenResourceError:
                data = b""
    finally:
        await trio.aclose_forcefully(silent)
    waited = trio.current_time() - started
    # hypercorn's own limit was 60 s
    assert data == b"" and TLS_HANDSHAKE_TIMEOUT_S - 1 < waited < TLS_HANDSHAKE_TIMEOUT_S * 3
