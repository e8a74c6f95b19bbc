"""How much a client may send, and how slowly: every request's body is read here, bounded in
size and time, before the app sees it (ASGI middleware, inside the gate, which has already said
whether the request carries a session).

* Without a session (the login form, and whatever else answers anyone): at most
  :data:`PUBLIC_BODY_BYTES` (4 KiB; a login form is about 150 bytes).
* With a session: at most :data:`SESSION_BODY_BYTES` (64 KiB; the largest form, a sweep's
  networks, is far smaller).
* Any body must be complete within :data:`BODY_TIMEOUT_S` (10 s) of its request's headers, however
  steadily its bytes trickle in. (The headers themselves are hypercorn's: 16 KiB at most, and a
  connection that has not sent complete headers within its keep-alive timeout, 5 s, is closed.)

A declared ``Content-Length`` over the limit is refused at once (413) without reading a byte; a
body without one (chunked) is read up to the limit, then refused (413); a body not complete by
the deadline is refused with 408. Each refusal says ``Connection: close``, and the server closes
the connection rather than read what the sender still offers. The app then gets the whole body
in one message (bounded, so buffering it costs at most the limit); the limits are read at each
request from the object given (:class:`Bounds`: the
:class:`~printwatch.web.dashboard.state.Dashboard`).

Error handling: refusals are plain answers and one INFO line each (the client, the request, the
reason); a client that goes away in the middle of its body is one INFO line too, never a
traceback, and the app is not called.
"""

from __future__ import annotations

import logging
from typing import Protocol

import trio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from printwatch.web.auth.headers import send_plain

log = logging.getLogger(__name__)

PUBLIC_BODY_BYTES = 4 * 1024
SESSION_BODY_BYTES = 64 * 1024
BODY_TIMEOUT_S = 10.0


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` (hypercorn's h11 has refused a malformed one already)."""
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def who(scope: Scope) -> str:
    """``ADDRESS: METHOD PATH`` for the log (the path as sent: percent-encoded, no control
    characters, so that no request writes lines of its own into the log)."""
    client = scope.get("client")
    path = bytes(scope.get("raw_path") or b"?").decode("latin-1")
    return f"{client[0] if client else 'unknown'}: {scope.get('method', '?')} {path}"


class Bounds(Protocol):
    """The limits :class:`BodyLimit` applies (read at each request)."""

    public_body_bytes: int
    session_body_bytes: int
    body_timeout_s: float


def log_name(bounds: Bounds) -> str:
    """How the log names the app (``log_name`` of the bounds: the console's is ``console``)."""
    return str(getattr(bounds, "log_name", "dashboard"))


class BodyLimit:
    """ASGI middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp, bounds: Bounds) -> None:
        self.app = app
        self.bounds = bounds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        d = self.bounds
        session = scope.get("state", {}).get("session")
        limit = d.public_body_bytes if session is None else d.session_body_bytes
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(
                scope, send, 413, f"a body of {declared:,} bytes (this one takes {limit:,})", d
            )
            return
        body = bytearray()
        with trio.move_on_after(d.body_timeout_s) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    log.info(
                        "%s: %s: the client went away before its body was complete", log_name(d), who(scope)
                    )
                    return
                body += message.get("body", b"")
                if len(body) > limit:
                    await self._refuse(scope, send, 413, f"a body over {limit:,} bytes", d)
                    return
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            why = f"a body not complete within {d.body_timeout_s:g} s ({len(body):,} bytes came)"
            await self._refuse(scope, send, 408, why, d)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, why: str, bounds: Bounds) -> None:
        log.info("%s: %s: refused (%d): %s", log_name(bounds), who(scope), status, why)
        await send_plain(send, status, f"{status}: refused: {why}\n", [(b"connection", b"close")])


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` whole first, then what the server says (a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
