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
* ``GET /api/{sites,devices,reads,reorders,missing}[?site=SITE]`` — the read-only view (JSON),
  for an API token with the ``read`` scope (``Authorization: Bearer pwc_...``), else 401.

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
from contextlib import aclosing
from pathlib import Path
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from printwatch.collector import views
from printwatch.collector.enrolment import EnrolmentError, enrol, public_key
from printwatch.collector.ingest import Rejected, open_message, store_message
from printwatch.collector.store import CollectorStore, CollectorStoreError
from printwatch.collector.tokens import check_token
from printwatch.uplink.signing import HEADER_BYTES, SignatureError, envelope_key_id
from printwatch.web.server import serve_http

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_ENROL_BYTES = 4096
#: A request body must arrive within this (a slow sender holds no memory or slot for long).
BODY_TIMEOUT_S = 30.0
#: An upload's envelope header (75 bytes) must arrive within this, before it gets a slot.
HEAD_TIMEOUT_S = 3.0
#: Uploads read at once; one more is answered 503 with ``Retry-After`` (the appliance retries).
MAX_CONCURRENT_UPLOADS = 16
#: Per site and UTC day, unless the site's settings say ``quota_bytes_per_day``.
QUOTA_BYTES_PER_DAY = 64 * 1024 * 1024
#: Failed enrolments per client address and window before it is answered 429.
ENROL_FAILURES, ENROL_WINDOW_S = 10, 600.0


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BodyTooLarge(Exception):
    pass


class Refused(Exception):
    """An answer before the whole body was read (unknown key, over quota)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def _body(request: Request, limit: int, *, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The body, at most ``limit`` bytes, within ``timeout_s``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks = bytearray()
    # aclosing: a refusal in the middle closes the stream at once (no generator left to the GC).
    with trio.fail_after(timeout_s):
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:
                chunks += chunk
                if len(chunks) > limit:
                    raise BodyTooLarge
    return bytes(chunks)


class EnrolThrottle:
    """Failed enrolments per client address in a sliding window (memory bounded by addresses
    seen in the window)."""

    def __init__(self, failures: int = ENROL_FAILURES, window_s: float = ENROL_WINDOW_S) -> None:
        self.failures, self.window_s = failures, window_s
        self.seen: dict[str, list[float]] = {}

    def blocked(self, address: str) -> bool:
        now = trio.current_time()
        for key in [k for k, times in self.seen.items() if times[-1] < now - self.window_s]:
            del self.seen[key]
        times = [t for t in self.seen.get(address, []) if t >= now - self.window_s]
        return len(times) >= self.failures

    def failed(self, address: str) -> None:
        self.seen.setdefault(address, []).append(trio.current_time())


def create_app(
    store: CollectorStore,
    *,
    now: Callable[[], dt.datetime] = utcnow,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    uploads: bool = True,
    api: bool = True,
    limiter: trio.CapacityLimiter | None = None,
    body_timeout_s: float = BODY_TIMEOUT_S,
    max_concurrent_uploads: int = MAX_CONCURRENT_UPLOADS,
) -> Starlette:
    """The collector's routes: ``uploads`` (enrolment and uploads: what appliances reach) and
    ``api`` (the MSP's read API, a token with the ``read`` scope required); both by default,
    or one each on two listeners (``collector serve --api-port``: they share ``limiter``, the one
    thread that uses the store)."""
    limiter = limiter or trio.CapacityLimiter(1)
    upload_slots = trio.CapacityLimiter(max_concurrent_uploads)
    cpu = trio.CapacityLimiter(2)  # signature checks and inflating, beside the store's thread
    refused: dict[tuple[str, dt.date], int] = {}  # bytes of refused uploads, per site and day
    stats = {"accepted": 0, "rejected": 0}
    throttle = EnrolThrottle()

    async def db(fn: Callable[..., Any], *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, limiter=limiter)

    async def enrol_route(request: Request) -> Response:
        address = request.client.host if request.client else "?"
        if throttle.blocked(address):
            return JSONResponse({"error": "too many failed enrolments; try again later"}, status_code=429)
        try:
            body = json.loads(await _body(request, MAX_ENROL_BYTES, timeout_s=body_timeout_s))
            site, token = str(body["site_id"]), str(body["token"])
            key = base64.b64decode(body["public_key"], validate=True)
        except BodyTooLarge:
            return JSONResponse({"error": f"enrolment over {MAX_ENROL_BYTES} bytes"}, status_code=413)
        except trio.TooSlowError:
            return JSONResponse({"error": f"body not sent within {body_timeout_s:g} s"}, status_code=408)
        except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as err:
            return JSONResponse({"error": f"malformed enrolment: {err!r}"[:300]}, status_code=400)

        def enrolled() -> tuple[str, int]:
            kid = enrol(store, site, token, key, now=now())
            rows = store.con.execute("SELECT last_seq FROM sites WHERE site_id = ?", [site]).fetchall()
            return kid, int(rows[0][0]) + 1

        try:
            kid, next_seq = await db(enrolled)
        except EnrolmentError as err:
            throttle.failed(address)
            log.warning("enrolment from %s refused: %s", address, err)
            # One answer for every refusal: no probing which sites exist or hold a token.
            return JSONResponse(
                {"error": "enrolment refused: unknown site, or a wrong, spent or expired token"},
                status_code=403,
            )
        log.info("site %s enrolled key %s (its messages from %d)", site, kid, next_seq)
        return JSONResponse({"site_id": site, "key_id": kid, "next_seq": next_seq})

    def quota_left(site: str) -> int:
        """Bytes the site may still upload today (UTC, by the collector's clock)."""
        t = now()
        day = dt.datetime(t.year, t.month, t.day)
        row = store.con.execute(
            "SELECT s.settings, (SELECT coalesce(sum(bytes), 0) FROM messages m WHERE m.site_id = s.site_id "
            "AND m.received_at >= ?) FROM sites s WHERE s.site_id = ?",
            [day, site],
        ).fetchall()
        if not row:
            return 0
        settings = json.loads(row[0][0]) if row[0][0] else {}
        quota = settings.get("quota_bytes_per_day", QUOTA_BYTES_PER_DAY)
        quota = quota if isinstance(quota, int) and quota > 0 else QUOTA_BYTES_PER_DAY
        for old in [k for k in refused if k[1] < day.date()]:
            del refused[old]
        return int(quota) - int(row[0][1]) - refused.get((site, day.date()), 0)

    async def upload(request: Request) -> Response:
        """In order: the envelope's header (its first 75 bytes, within :data:`HEAD_TIMEOUT_S`,
        holding nothing), its key and its site's quota; then a slot (503 when all are taken),
        the rest of the body, the signature and decoding (outside the store's thread), and the
        write (in it)."""
        try:
            return await _upload(request)
        except BodyTooLarge:
            stats["rejected"] += 1
            return JSONResponse({"error": f"upload over {max_upload_bytes} bytes"}, status_code=413)
        except trio.TooSlowError:
            stats["rejected"] += 1
            return JSONResponse({"error": "body not sent in time"}, status_code=408)
        except Refused as err:
            stats["rejected"] += 1
            if err.status in (429, 503):
                log.warning("upload refused (%d): %s", err.status, err.reason)
            headers = {"Retry-After": "5"} if err.status == 503 else None
            return JSONResponse({"error": err.reason}, status_code=err.status, headers=headers)
        except Rejected as err:
            stats["rejected"] += 1
            body: dict[str, Any] = {"error": err.reason}
            if err.expected is not None:
                body["expected"] = err.expected
            if err.status != 409:
                log.warning("upload refused (%d): %r", err.status, err.reason)
            return JSONResponse(body, status_code=err.status)

    async def _upload(request: Request) -> Response:
        declared = request.headers.get("content-length")
        declared_bytes = int(declared) if declared is not None and declared.isdigit() else 0
        if declared_bytes > max_upload_bytes:
            raise BodyTooLarge
        chunks = bytearray()
        async with aclosing(request.stream()) as stream:
            parts = stream.__aiter__()
            with trio.fail_after(min(HEAD_TIMEOUT_S, body_timeout_s)):
                while len(chunks) < HEADER_BYTES:
                    try:
                        chunks += await parts.__anext__()
                    except StopAsyncIteration:
                        break
            if len(chunks) < HEADER_BYTES:
                raise Rejected(400, f"envelope of {len(chunks)} bytes is shorter than its header")
            try:
                kid = envelope_key_id(bytes(chunks[:HEADER_BYTES]))
            except SignatureError as err:
                raise Rejected(400, str(err)) from None
            found = await db(public_key, store, kid)
            if found is None:
                raise Rejected(401, f"unknown key {kid.hex()}")
            site = found[0]
            if max(declared_bytes, len(chunks)) > await db(quota_left, site):
                raise Refused(429, f"site {site} is over its daily upload quota; try again tomorrow (UTC)")
            if upload_slots.available_tokens == 0:
                raise Refused(503, "busy: too many uploads at once")
            async with upload_slots:
                try:
                    with trio.fail_after(body_timeout_s):
                        async for chunk in parts:
                            chunks += chunk
                            if len(chunks) > max_upload_bytes:
                                raise BodyTooLarge
                    envelope = bytes(chunks)
                    opened = await trio.to_thread.run_sync(open_message, envelope, *found, limiter=cpu)
                    accepted = await db(lambda: store_message(store, opened, now=now()))
                except (Rejected, BodyTooLarge, trio.TooSlowError):
                    # What a site sends counts against its quota, refused or not.
                    refused[(site, now().date())] = refused.get((site, now().date()), 0) + len(chunks)
                    raise
        stats["accepted"] += 1
        reply: dict[str, Any] = {"ack": accepted.seq}
        if accepted.sync is not None:
            reply["sync"] = accepted.sync
        return Response(json.dumps(reply, separators=(",", ":")), media_type="application/json")

    async def api_route(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, secret = auth.partition(" ")
        who = None
        if scheme.lower() == "bearer" and secret:
            who = await db(lambda: check_token(store, secret.strip(), "read", now=now()))
        if who is None:
            return JSONResponse(
                {"error": "an API token with the 'read' scope is required (collector token add)"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="printwatch collector"'},
            )
        name = request.path_params["view"]
        if name not in views.VIEWS:
            return JSONResponse(
                {"error": f"no view {name!r} (one of {', '.join(views.VIEWS)})"}, status_code=404
            )
        site = request.query_params.get("site")
        rows = await db(lambda: views.view(store.con.cursor(), name, site, now=now()))
        return JSONResponse(rows, headers={"Cache-Control": "no-store"})

    routes = []
    if uploads:
        routes += [
            Route("/v1/enrol", enrol_route, methods=["POST"]),
            Route("/v1/upload", upload, methods=["POST"]),
        ]
    if api:
        routes.append(Route("/api/{view}", api_route))
    app = Starlette(routes=routes)
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
