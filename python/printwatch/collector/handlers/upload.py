"""``POST /v1/upload``: a signed envelope → 200 ``{"ack": seq}`` (plus ``"sync"`` for sync
and registration messages). In order: the envelope's header (its first 75 bytes, within
:data:`~.state.HEAD_TIMEOUT_S`, holding nothing), its key (401 unknown) and its site's quota
(429 over); then a slot (503 when all are taken; 503 too when the store is unavailable:
PostgreSQL down, slow or its connection lost), the rest of the body (413 over the limit, 408
too slow), the signature and decoding outside the store's thread (400), and the write in it
(403 another site's key, 409 ``{"expected"}`` a duplicate, replay or gap). Nothing is stored
unless the answer is 200; what a site sends counts against its quota, refused or not."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector import supplies
from printwatch.collector.enrolment import public_key
from printwatch.collector.handlers.state import (
    HEAD_TIMEOUT_S,
    QUOTA_BYTES_PER_DAY,
    BodyTooLarge,
    CollectorState,
    Refused,
    declared_length,
    state_of,
)
from printwatch.collector.ingest import Accepted, Rejected, open_message, store_message
from printwatch.collector.storage import StoreUnavailable
from printwatch.uplink.signing import HEADER_BYTES, SignatureError, envelope_key_id

log = logging.getLogger("printwatch.collector.server")

#: An envelope's sender: (site, raw public key), as :func:`public_key` finds it.
Sender = tuple[str, bytes]


async def upload(request: Request) -> Response:
    """The answer to an upload (see the module's docstring)."""
    state = state_of(request)
    try:
        return await _upload(request, state)
    except BodyTooLarge:
        state.stats["rejected"] += 1
        return JSONResponse({"error": f"upload over {state.max_upload_bytes} bytes"}, status_code=413)
    except trio.TooSlowError:
        state.stats["rejected"] += 1
        return JSONResponse({"error": "body not sent in time"}, status_code=408)
    except Refused as err:
        state.stats["rejected"] += 1
        if err.status in (429, 503):
            log.warning("upload refused (%d): %s", err.status, err.reason)
        headers = {"Retry-After": "5"} if err.status == 503 else None
        return JSONResponse({"error": err.reason}, status_code=err.status, headers=headers)
    except Rejected as err:
        state.stats["rejected"] += 1
        return _rejected(err)
    except StoreUnavailable as err:  # PostgreSQL down or slow: nothing stored, the appliance retries
        state.stats["rejected"] += 1
        log.warning("upload refused (503): %s", err)
        return JSONResponse(
            {"error": "the store is unavailable"}, status_code=503, headers={"Retry-After": "5"}
        )


def _rejected(err: Rejected) -> Response:
    body: dict[str, Any] = {"error": err.reason}
    if err.expected is not None:
        body["expected"] = err.expected
    if err.status != 409:
        log.warning("upload refused (%d): %r", err.status, err.reason)
    return JSONResponse(body, status_code=err.status)


async def _upload(request: Request, state: CollectorState) -> Response:
    declared_bytes = declared_length(request) or 0
    if declared_bytes > state.max_upload_bytes:
        raise BodyTooLarge
    async with aclosing(request.stream()) as stream:
        parts = stream.__aiter__()
        chunks = await _head(parts, min(HEAD_TIMEOUT_S, state.body_timeout_s))
        found = await _sender(state, chunks)
        site = found[0]
        if max(declared_bytes, len(chunks)) > await state.db(quota_left, state, site):
            raise Refused(429, f"site {site} is over its daily upload quota; try again tomorrow (UTC)")
        if state.upload_slots.available_tokens == 0:
            raise Refused(503, "busy: too many uploads at once")
        async with state.upload_slots:
            accepted = await _receive(state, parts, chunks, found)
    state.stats["accepted"] += 1
    if accepted.kind in SUPPLY_KINDS:
        await _refresh_supplies(state, accepted.site_id)
    reply: dict[str, Any] = {"ack": accepted.seq}
    if accepted.sync is not None:
        reply["sync"] = accepted.sync
    return Response(json.dumps(reply, separators=(",", ":")), media_type="application/json")


async def _head(parts: AsyncIterator[bytes], timeout_s: float) -> bytearray:
    """At least the envelope's header, within ``timeout_s``."""
    chunks = bytearray()
    with trio.fail_after(timeout_s):
        while len(chunks) < HEADER_BYTES:
            try:
                chunks += await parts.__anext__()
            except StopAsyncIteration:
                break
    if len(chunks) < HEADER_BYTES:
        raise Rejected(400, f"envelope of {len(chunks)} bytes is shorter than its header")
    return chunks


async def _sender(state: CollectorState, chunks: bytearray) -> Sender:
    """The enrolled key the envelope's header names (401 for one the collector does not know)."""
    try:
        kid = envelope_key_id(bytes(chunks[:HEADER_BYTES]))
    except SignatureError as err:
        raise Rejected(400, str(err)) from None
    found: Sender | None = await state.db(public_key, state.store, kid)
    if found is None:
        raise Rejected(401, f"unknown key {kid.hex()}")
    return found


async def _receive(
    state: CollectorState, parts: AsyncIterator[bytes], chunks: bytearray, found: Sender
) -> Accepted:
    """The rest of the body, opened (signature, decoding) and stored."""
    try:
        with trio.fail_after(state.body_timeout_s):
            async for chunk in parts:
                chunks += chunk
                if len(chunks) > state.max_upload_bytes:
                    raise BodyTooLarge
        opened = await trio.to_thread.run_sync(open_message, bytes(chunks), *found, limiter=state.cpu)
        accepted: Accepted = await state.db(lambda: store_message(state.store, opened, now=state.now()))
    except (Rejected, BodyTooLarge, trio.TooSlowError):
        day = (found[0], state.now().date())
        state.refused[day] = state.refused.get(day, 0) + len(chunks)
        raise
    return accepted


#: The messages that bring reorder triggers or supply levels: the site's supplies queue is
#: refreshed after one is stored (:func:`printwatch.collector.supplies.refresh`).
SUPPLY_KINDS = ("reorder", "aggregate")


async def _refresh_supplies(state: CollectorState, site: str) -> None:
    """The site's supplies queue brought up to date where its data changed, after the message is
    stored (its answer does not depend on it: a failure is logged, ``collector serve``'s periodic
    refresh catches up)."""
    try:
        await state.db(lambda: supplies.refresh(state.store, site))
    except StoreUnavailable as err:
        log.warning("supplies of %s not refreshed: %s", site, err)


def quota_left(state: CollectorState, site: str) -> int:
    """Bytes the site may still upload today (UTC, by the collector's clock); in the store's thread."""
    t = state.now()
    day = dt.datetime(t.year, t.month, t.day)
    row = state.store.con.execute(
        "SELECT s.settings, (SELECT coalesce(sum(bytes), 0) FROM messages m WHERE m.site_id = s.site_id "
        "AND m.received_at >= ?) FROM sites s WHERE s.site_id = ?",
        [day, site],
    ).fetchall()
    if not row:
        return 0
    settings = json.loads(row[0][0]) if row[0][0] else {}
    quota = settings.get("quota_bytes_per_day", QUOTA_BYTES_PER_DAY)
    quota = quota if isinstance(quota, int) and quota > 0 else QUOTA_BYTES_PER_DAY
    for old in [k for k in state.refused if k[1] < day.date()]:
        del state.refused[old]
    return int(quota) - int(row[0][1]) - state.refused.get((site, day.date()), 0)
