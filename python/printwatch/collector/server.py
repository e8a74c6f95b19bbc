"""The collector's HTTPS server: Starlette on hypercorn's Trio worker (as the appliance's).

* ``POST /v1/enrol`` — JSON ``{"site_id", "token", "public_key"}`` (base64 of the raw Ed25519
  key): 200 ``{"site_id", "key_id"}``; 403 for a wrong, spent or expired token or unknown site.
* ``POST /v1/upload`` — a signed envelope: 200 ``{"ack": seq}`` (plus ``"sync"`` for sync and
  registration messages); 401 unknown key, 400 bad signature or garbled payload, 403 a key
  naming another site, 409 ``{"expected"}`` for a duplicate, replay or gap, 413 over
  ``max_upload_bytes``. Nothing is stored unless the answer is 200.
* ``GET /api/{sites,devices,reads,reorders,missing}[?site=SITE]`` — the read-only view (JSON).

Store calls run in one worker thread at a time (DuckDB blocks), so the loop keeps answering.

Error handling: every request gets an answer with a JSON ``error`` naming what was wrong; an
exception inside a handler is a 500 logged by hypercorn, never a crash of the server.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from printwatch.collector import views
from printwatch.collector.enrolment import EnrolmentError, enrol
from printwatch.collector.ingest import Rejected, receive
from printwatch.collector.store import CollectorStore, CollectorStoreError
from printwatch.web.server import serve_http

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_ENROL_BYTES = 4096


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BodyTooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise BodyTooLarge
    return bytes(chunks)


def create_app(
    store: CollectorStore,
    *,
    now: Callable[[], dt.datetime] = utcnow,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> Starlette:
    limiter = trio.CapacityLimiter(1)
    stats = {"accepted": 0, "rejected": 0}

    async def db(fn: Callable[..., Any], *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, limiter=limiter)

    async def enrol_route(request: Request) -> Response:
        try:
            body = json.loads(await _body(request, MAX_ENROL_BYTES))
            site, token = str(body["site_id"]), str(body["token"])
            key = base64.b64decode(body["public_key"], validate=True)
        except BodyTooLarge:
            return JSONResponse({"error": f"enrolment over {MAX_ENROL_BYTES} bytes"}, status_code=413)
        except (ValueError, KeyError, TypeError, binascii.Error) as err:
            return JSONResponse({"error": f"malformed enrolment: {err!r}"}, status_code=400)
        try:
            kid = await db(lambda: enrol(store, site, token, key, now=now()))
        except EnrolmentError as err:
            log.warning("enrolment refused: %s", err)
            return JSONResponse({"error": str(err)}, status_code=403)
        log.info("site %s enrolled key %s", site, kid)
        return JSONResponse({"site_id": site, "key_id": kid})

    async def upload(request: Request) -> Response:
        try:
            envelope = await _body(request, max_upload_bytes)
        except BodyTooLarge:
            stats["rejected"] += 1
            return JSONResponse({"error": f"upload over {max_upload_bytes} bytes"}, status_code=413)
        try:
            accepted = await db(lambda: receive(store, envelope, now=now()))
        except Rejected as err:
            stats["rejected"] += 1
            body: dict[str, Any] = {"error": err.reason}
            if err.expected is not None:
                body["expected"] = err.expected
            if err.status != 409:
                log.warning("upload refused (%d): %s", err.status, err.reason)
            return JSONResponse(body, status_code=err.status)
        stats["accepted"] += 1
        reply: dict[str, Any] = {"ack": accepted.seq}
        if accepted.sync is not None:
            reply["sync"] = accepted.sync
        return Response(json.dumps(reply, separators=(",", ":")), media_type="application/json")

    async def api(request: Request) -> Response:
        name = request.path_params["view"]
        if name not in views.VIEWS:
            return JSONResponse(
                {"error": f"no view {name!r} (one of {', '.join(views.VIEWS)})"}, status_code=404
            )
        site = request.query_params.get("site")
        rows = await db(lambda: views.view(store.con.cursor(), name, site, now=now()))
        return JSONResponse(rows)

    app = Starlette(
        routes=[
            Route("/v1/enrol", enrol_route, methods=["POST"]),
            Route("/v1/upload", upload, methods=["POST"]),
            Route("/api/{view}", api),
        ]
    )
    app.state.stats = stats
    #: Runs a function on the store in the server's one database thread (for tasks beside it).
    app.state.db = db
    return app


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


async def serve_collector(
    app: Starlette,
    host: str,
    port: int,
    *,
    certfile: Path,
    keyfile: Path,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serves ``app`` over HTTPS until cancelled; started with the bound address (hypercorn's Trio
    worker, as the appliance's own server: :func:`printwatch.web.server.serve_http`).

    Error handling: ``OSError`` naming the address when it cannot be bound.
    """
    await serve_http(app, host, port, certfile=certfile, keyfile=keyfile, task_status=task_status)
