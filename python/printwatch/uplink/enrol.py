"""The appliance side of enrolment: register its public key with the collector, once. The
collector answers where the site's stream goes on (``next_seq``: a replaced appliance does not
start again at 1); the outbox's waiting messages are numbered from there.

Error handling: :class:`EnrolError` when the collector refuses (its reason) or cannot be
reached (the transport's reason); the attempt is in the transmission log either way.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import trio

from printwatch import PrintwatchError
from printwatch.uplink import log as txlog
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.transport import Endpoint, TransportError, post


class EnrolError(PrintwatchError):
    """The collector did not accept the enrolment; the message says why."""


def valid_seq(value: object) -> bool:
    """A sequence number a collector may name: an integer from 1 to 2**62 (not a bool)."""
    return type(value) is int and 1 <= value < 1 << 62


async def enrol(
    outbox: Outbox,
    endpoint: Endpoint,
    token: str,
    *,
    now: dt.datetime,
    limiter: trio.CapacityLimiter | None = None,
) -> str:
    """Enrol the outbox's identity for its site with ``token``; returns the key id. Store calls
    run in a worker thread under ``limiter`` (the one of everything else using the outbox)."""
    limiter = limiter or trio.CapacityLimiter(1)

    def record(**kw: Any) -> None:
        txlog.append(outbox.con, time=now, seq=None, kind="enrol", url=endpoint.url, **kw)

    body = json.dumps(
        {
            "site_id": outbox.site_id,
            "token": token,
            "public_key": base64.b64encode(outbox.identity.public_raw).decode(),
        }
    ).encode()
    try:
        response = await post(endpoint, "/v1/enrol", body, "application/json")
    except TransportError as err:
        reason = str(err)
        await trio.to_thread.run_sync(
            lambda: record(status=None, error=reason, request=b"", response=b""), limiter=limiter
        )
        raise EnrolError(reason) from None
    # The log keeps the request with the token masked: the token is a secret.
    request = response.request_bytes.replace(token.encode(), b"*" * len(token))
    error = None if response.status == 200 else response.body.decode(errors="replace")[:300]
    await trio.to_thread.run_sync(
        lambda: record(
            status=response.status, error=error, request=request, response=response.response_bytes
        ),
        limiter=limiter,
    )
    if response.status != 200:
        try:
            reason = json.loads(response.body).get("error", "")
        except (ValueError, AttributeError, RecursionError):
            reason = response.body[:200].decode(errors="replace")
        raise EnrolError(f"the collector refused the enrolment ({response.status}): {reason}")
    try:
        reply = json.loads(response.body)
        key_id = str(reply["key_id"])
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise EnrolError(f"the collector's enrolment answer is not understood: {err!r}"[:300]) from None
    next_seq = reply.get("next_seq")
    if next_seq is not None and not valid_seq(next_seq):
        raise EnrolError(f"the collector's enrolment answer names message {str(next_seq)[:40]} to go on from")

    def enrolled() -> None:
        # A new key (a replaced appliance, a key made again): the stream goes on where the
        # site's ended, every device registered again for this key with its meter bases.
        if next_seq is not None:
            outbox.restart_stream(next_seq, now)
        outbox.set_state("enrolled_key", key_id)

    await trio.to_thread.run_sync(enrolled, limiter=limiter)
    return key_id
