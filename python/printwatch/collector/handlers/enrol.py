"""``POST /v1/enrol``: JSON ``{"site_id", "token", "public_key"}`` (base64 of the raw Ed25519
key) → 200 ``{"site_id", "key_id", "next_seq"}``; 403 for any refusal (one answer for all: the
log says which), 429 after too many failures from one address, 413 and 408 for a body too
large or too slow, 400 for a malformed one."""

from __future__ import annotations

import base64
import binascii
import json
import logging

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector.enrolment import EnrolmentError, enrol
from printwatch.collector.handlers.state import (
    MAX_ENROL_BYTES,
    BodyTooLarge,
    CollectorState,
    read_body,
    state_of,
)

log = logging.getLogger("printwatch.collector.server")

REFUSED = "enrolment refused: unknown site, or a wrong, spent or expired token"


async def enrol_route(request: Request) -> Response:
    state = state_of(request)
    address = request.client.host if request.client else "?"
    if state.throttle.blocked(address):
        return JSONResponse({"error": "too many failed enrolments; try again later"}, status_code=429)
    try:
        body = json.loads(await read_body(request, MAX_ENROL_BYTES, timeout_s=state.body_timeout_s))
        site, token = str(body["site_id"]), str(body["token"])
        key = base64.b64decode(body["public_key"], validate=True)
    except BodyTooLarge:
        return JSONResponse({"error": f"enrolment over {MAX_ENROL_BYTES} bytes"}, status_code=413)
    except trio.TooSlowError:
        return JSONResponse({"error": f"body not sent within {state.body_timeout_s:g} s"}, status_code=408)
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as err:
        return JSONResponse({"error": f"malformed enrolment: {err!r}"[:300]}, status_code=400)
    try:
        kid, next_seq = await state.db(_enrolled, state, site, token, key)
    except EnrolmentError as err:
        state.throttle.failed(address)
        log.warning("enrolment from %s refused: %s", address, err)
        # One answer for every refusal: no probing which sites exist or hold a token.
        return JSONResponse({"error": REFUSED}, status_code=403)
    log.info("site %s enrolled key %s (its messages from %d)", site, kid, next_seq)
    return JSONResponse({"site_id": site, "key_id": kid, "next_seq": next_seq})


def _enrolled(state: CollectorState, site: str, token: str, key: bytes) -> tuple[str, int]:
    """The key's id and the sequence number the site's stream goes on from (in the store's thread)."""
    kid = enrol(state.store, site, token, key, now=state.now())
    rows = state.store.con.execute("SELECT last_seq FROM sites WHERE site_id = ?", [site]).fetchall()
    return kid, int(rows[0][0]) + 1
