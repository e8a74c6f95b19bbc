"""The shared HTTP server's limits hold by default, so the appliance's dashboard (which serves
with them, like the collector) closes a TLS connection whose client never says hello."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import trio
from printwatch.web.server import TLS_HANDSHAKE_TIMEOUT_S, serve_http
from starlette.applications import Starlette

from tests.support.tls import closed_without_hello, make_certs

pytestmark = pytest.mark.realtime


async def test_a_client_that_never_says_hello_is_closed_at_the_default_limit(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    serve = partial(serve_http, Starlette(), "127.0.0.1", 0, certfile=certs.certfile, keyfile=certs.keyfile)
    _, port = await nursery.start(serve)
    waited = await closed_without_hello(port, TLS_HANDSHAKE_TIMEOUT_S * 3)  # hypercorn's own: 60 s
    assert TLS_HANDSHAKE_TIMEOUT_S - 1 < waited < TLS_HANDSHAKE_TIMEOUT_S * 3
