"""``POST /api/admin/{op}``: the MSP's administration through the running server
(:mod:`printwatch.collector.admin`; what ``collector --server URL ...`` calls), for the
``admin`` role only (an admin API token, or an admin's session with its CSRF token).

The body is a JSON object of at most :data:`MAX_ADMIN_BYTES`, read within the body timeout;
the answer is the operation's JSON object (200), or ``{"error"}``: 400 for a malformed body or
a refused operation, 401 without a credential, 403 for another role, 404 for an unknown
operation, 413 and 408 for a body too large or too slow.
"""

from __future__ import annotations

import json
import logging

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector import admin
from printwatch.collector.access import require
from printwatch.collector.handlers.state import BodyTooLarge, read_body, state_of
from printwatch.web.auth.passwords import hash_password

log = logging.getLogger("printwatch.collector.server")

MAX_ADMIN_BYTES = 64 * 1024
#: One password hash at a time (scrypt takes 128 MiB and half a second).
_HASHING = trio.CapacityLimiter(1)


async def admin_op(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, "admin")
    op = request.path_params["op"]
    if op not in admin.OPERATIONS:
        return JSONResponse({"error": f"no operation {op!r} (one of {', '.join(admin.OPERATIONS)})"}, 404)
    try:
        params = json.loads(
            await read_body(request, MAX_ADMIN_BYTES, timeout_s=state.body_timeout_s) or b"{}"
        )
    except BodyTooLarge:
        # the rest is not read: the connection closes after the answer
        too_large = {"error": f"a body over {MAX_ADMIN_BYTES} bytes"}
        return JSONResponse(too_large, status_code=413, headers={"connection": "close"})
    except trio.TooSlowError:
        return JSONResponse({"error": f"body not sent within {state.body_timeout_s:g} s"}, status_code=408)
    except (ValueError, RecursionError) as err:
        return JSONResponse({"error": f"malformed JSON: {err}"[:300]}, status_code=400)
    if not isinstance(params, dict):
        return JSONResponse({"error": "the body is a JSON object of the operation's parameters"}, 400)
    params.pop("password_hash", None)  # only ever this server's own hash of the password given
    if op in admin.HASHED and isinstance(params.get("password"), str):
        params["password_hash"] = await trio.to_thread.run_sync(
            hash_password, params["password"], limiter=_HASHING
        )
    try:
        result = await state.db(lambda: admin.run(state.store, op, params, now=state.now()))
    except ValueError as err:
        return JSONResponse({"error": str(err)}, status_code=400)
    log.info("admin: %s by %s %s", op, who.kind, who.name)
    return JSONResponse(result, headers={"Cache-Control": "no-store"})
