"""The collector's HTTPS server: Starlette on hypercorn's Trio worker (as the appliance's).

* ``POST /v1/enrol`` — JSON ``{"site_id", "token", "public_key"}`` (base64 of the raw Ed25519
  key): 200 ``{"site_id", "key_id", "next_seq"}`` (where the site's stream goes on); 403 for a
  wrong, spent or expired token or an unknown site (one answer for all: the log says which);
  429 after :data:`ENROL_FAILURES` failures from one address in :data:`ENROL_WINDOW_S`.
* ``POST /v1/upload`` — a signed envelope: 200 ``{"ack": seq}`` (plus ``"sync"`` for sync and
  registration messages); 401 unknown key (decided on the envelope's first 75 bytes, before
  the rest is read), 400 bad signature or garbled payload, 403 a key naming another site, 409
  ``{"expected"}`` for a duplicate, replay or gap, 413 over ``max_upload_bytes``, 408 a body
  slower than :data:`BODY_TIMEOUT_S`, 429 a site over its daily quota, 503 more than
  :data:`MAX_CONCURRENT_UPLOADS` at once. Nothing is stored unless the answer is 200.
* ``GET /api/{sites,devices,reads,counters,reorders,missing}[?site=SITE]`` — the read-only view
  (JSON), for an API token (``Authorization: Bearer pwc_...``) or a console session, a customer's
  limited to its own sites, else 401.
* ``/console/...`` — the MSP's console (:mod:`printwatch.collector.console`): pages for a
  console session, each also JSON (and CSV), on the API's listener.
* ``/api/billing/...``, ``/api/supplies...``, ``/api/settings/{site}`` — billing cycles and
  exports, the reorder queue, a site's settings (:mod:`printwatch.collector.handlers.billing`,
  ``.supplies``, ``.settings``), by role.
* ``POST /api/admin/{op}`` — the MSP's administration (:mod:`printwatch.collector.admin`: sites,
  enrolment tokens, API tokens, users) for the admin role, what ``collector --server URL``
  calls while ``collector serve`` holds a DuckDB store.

Who may do what: :func:`printwatch.collector.access.require` in every handler but the
appliances' two; its refusals (:class:`~printwatch.collector.access.Denied`) are answered by
:func:`~printwatch.collector.console.view.denied`.

Store calls run in one worker thread at a time (DuckDB blocks), so the loop keeps answering.
The handlers are module-level, one module per route (:mod:`printwatch.collector.handlers`), with
their state on ``app.state.collector`` (:class:`~printwatch.collector.handlers.state.CollectorState`);
:data:`ROUTES` lists them.

Error handling: every request gets an answer with a JSON ``error`` naming what was wrong; an
exception inside a handler is a 500 logged by hypercorn, never a crash of the server.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import trio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from printwatch.clock import naive_utcnow
from printwatch.collector import supplies
from printwatch.collector.access import Denied
from printwatch.collector.console.routes import console_app
from printwatch.collector.console.state import ConsoleState
from printwatch.collector.console.view import denied
from printwatch.collector.handlers import billing as billing_api
from printwatch.collector.handlers import settings as settings_api
from printwatch.collector.handlers import supplies as supplies_api
from printwatch.collector.handlers.admin_api import admin_op
from printwatch.collector.handlers.enrol import enrol_route
from printwatch.collector.handlers.read_api import read_view
from printwatch.collector.handlers.state import (
    BODY_TIMEOUT_S,
    ENROL_FAILURES,
    ENROL_WINDOW_S,
    MAX_CONCURRENT_UPLOADS,
    MAX_ENROL_BYTES,
    MAX_UPLOAD_BYTES,
    QUOTA_BYTES_PER_DAY,
    CollectorState,
)
from printwatch.collector.handlers.upload import upload
from printwatch.collector.storage import StoreUnavailable
from printwatch.collector.store import CollectorStore, CollectorStoreError
from printwatch.web.auth.headers import SecurityHeaders
from printwatch.web.server import SEND_TIMEOUT_S, TLS_HANDSHAKE_TIMEOUT_S, serve_http

__all__ = [
    "BODY_TIMEOUT_S",
    "ENROL_FAILURES",
    "ENROL_WINDOW_S",
    "KEEP_ALIVE_MAX_REQUESTS",
    "KEEP_ALIVE_TIMEOUT_S",
    "MAX_CONCURRENT_UPLOADS",
    "MAX_ENROL_BYTES",
    "MAX_UPLOAD_BYTES",
    "QUOTA_BYTES_PER_DAY",
    "ROUTES",
    "SEND_TIMEOUT_S",
    "TLS_HANDSHAKE_TIMEOUT_S",
    "create_app",
    "refresh_supplies",
    "renew_daily",
    "serve_collector",
]

log = logging.getLogger(__name__)

#: Every route, with the part of the server it belongs to: ``uploads`` (what appliances reach)
#: or ``api`` (the MSP's read API).
ROUTES: list[tuple[Literal["uploads", "api"], Route]] = [
    ("uploads", Route("/v1/enrol", enrol_route, methods=["POST"])),
    ("uploads", Route("/v1/upload", upload, methods=["POST"])),
    ("api", Route("/api/admin/{op}", admin_op, methods=["POST"])),
    # The console's JSON API (before the read view's one-segment paths).
    *(("api", route) for route in (*billing_api.ROUTES, *supplies_api.ROUTES, *settings_api.ROUTES)),
    ("api", Route("/api/{view}", read_view)),
]


def create_app(
    store: CollectorStore,
    *,
    now: Callable[[], dt.datetime] = naive_utcnow,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    uploads: bool = True,
    api: bool = True,
    limiter: trio.CapacityLimiter | None = None,
    body_timeout_s: float = BODY_TIMEOUT_S,
    max_concurrent_uploads: int = MAX_CONCURRENT_UPLOADS,
    secure: bool = True,
) -> Starlette:
    """The collector's routes: ``uploads`` (enrolment and uploads: what appliances reach) and
    ``api`` (the MSP's read API and console, a credential required); both by default,
    or one each on two listeners (``collector serve --api-port``: they share ``limiter``, the one
    thread that uses the store). ``api`` brings the console (``/console/...``) too; ``secure``:
    its cookies only over HTTPS (off only for a test on plain HTTP)."""
    state = CollectorState(
        store=store,
        now=now,
        limiter=limiter or trio.CapacityLimiter(1),
        upload_slots=trio.CapacityLimiter(max_concurrent_uploads),
        max_upload_bytes=max_upload_bytes,
        body_timeout_s=body_timeout_s,
    )
    parts = {part for part, wanted in (("uploads", uploads), ("api", api)) if wanted}
    routes: list[BaseRoute] = [route for part, route in ROUTES if part in parts]
    if api:
        console = ConsoleState(secure=secure)
        routes.append(Mount("/console", app=console_app(state, console, unavailable)))
    # The security headers on every answer (the API's JSON and CSV, the console, the uploads').
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders, secure=secure)],
        exception_handlers={StoreUnavailable: unavailable, Denied: denied},
    )
    app.state.collector = state
    app.state.stats = state.stats
    #: Runs a function on the store in the server's one database thread (for tasks beside it).
    app.state.db = state.db
    return app


async def unavailable(request: Request, exc: Exception) -> Response:
    """Any route's answer when the store cannot be reached (PostgreSQL down, slow, a connection
    lost): 503 at once, nothing stored, the client tries again."""
    log.warning("%s refused (503): %s", request.url.path, exc)
    return JSONResponse({"error": "the store is unavailable"}, status_code=503, headers={"Retry-After": "5"})


#: How often ``collector serve`` renews its store (:meth:`CollectorStore.renew`).
RENEW_EVERY_S = 86_400.0


async def renew_daily(
    db: Callable[..., Awaitable[Any]], store: CollectorStore, *, every_s: float = RENEW_EVERY_S
) -> None:
    """Renews ``store`` every ``every_s`` through ``db`` (the server's one database thread, so no
    request meets a closed connection) until cancelled. A renewal that fails is logged; the
    next request reports the store's state."""
    while True:
        await trio.sleep(every_s)
        try:
            await db(store.renew)
        except CollectorStoreError as err:
            log.error("collector: %s", err)
        else:
            log.info("collector: store closed and opened again (frees what DuckDB keeps meanwhile)")


#: How often ``collector serve`` refreshes the supplies queue of the sites that sent messages
#: since (a catch-up: each upload that brings triggers or levels refreshes its site at once).
REFRESH_SUPPLIES_EVERY_S = 60.0


async def refresh_supplies(
    db: Callable[..., Awaitable[Any]], store: CollectorStore, *, every_s: float = REFRESH_SUPPLIES_EVERY_S
) -> None:
    """Runs :func:`printwatch.collector.supplies.refresh` through ``db`` (the server's one database
    thread) now and every ``every_s`` until cancelled: only the sites whose messages it has not
    seen yet (stored by another front end, ``collector receive``, or before this server ran).
    A refresh that fails is logged and tried again at the next turn."""
    while True:
        try:
            done = await db(lambda: supplies.refresh(store))
        except CollectorStoreError as err:
            log.error("collector: supplies not refreshed: %s", err)
        else:
            if done["sites"]:
                log.info("collector: supplies of %d sites refreshed: %s", done["sites"], done)
        await trio.sleep(every_s)


#: A connection without a request for this long is closed (before its first one too): an
#: appliance keeps its connection for the messages of one upload turn (the uplink's transport
#: uses a kept one for at most ``KEEP_IDLE_S``, less than this), and an idle client holds nothing.
KEEP_ALIVE_TIMEOUT_S = 5.0
#: Requests one connection may carry; the answer to the last says ``Connection: close``, so no
#: client keeps a connection (and its front end) for ever.
KEEP_ALIVE_MAX_REQUESTS = 100


async def serve_collector(
    app: Starlette,
    host: str,
    port: int,
    *,
    certfile: Path,
    keyfile: Path,
    keep_alive_timeout_s: float = KEEP_ALIVE_TIMEOUT_S,
    keep_alive_max_requests: int = KEEP_ALIVE_MAX_REQUESTS,
    handshake_timeout_s: float = TLS_HANDSHAKE_TIMEOUT_S,
    send_timeout_s: float = SEND_TIMEOUT_S,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serves ``app`` over HTTPS until cancelled; started with the bound address (hypercorn's Trio
    worker, as the appliance's own server: :func:`printwatch.web.server.serve_http`), a
    connection kept for ``keep_alive_timeout_s`` idle and ``keep_alive_max_requests`` requests,
    closed when its TLS handshake takes over ``handshake_timeout_s`` or its client leaves what it
    was sent unread for ``send_timeout_s``.

    Error handling: ``OSError`` naming the address when it cannot be bound.
    """
    await serve_http(
        app, host, port, certfile=certfile, keyfile=keyfile, keep_alive_timeout_s=keep_alive_timeout_s,
        keep_alive_max_requests=keep_alive_max_requests, handshake_timeout_s=handshake_timeout_s,
        send_timeout_s=send_timeout_s, task_status=task_status,
    )  # fmt: skip
