"""What every answer of printwatch's web fronts carries, and what they read from a request's
headers before any app sees it (ASGI scope level: the dashboard's gate, the console's).

:data:`HEADERS`: ``Content-Security-Policy`` (scripts and styles from the server only, no
frames), ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``;
over TLS also :data:`HSTS` (a year; browsers keep it only from a certificate they trust).
:class:`SecurityHeaders` adds them to every answer of an app; :func:`send_headers` is its
``send``, for a middleware that picks the headers itself (the dashboard's gate).
:func:`send_plain` answers with a short text before any app sees the request (the gate's 401,
the body limits' 413 and 408).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from http.cookies import CookieError, SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of the request header ``name`` (lower case), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def cookie(scope: Scope, name: str) -> str | None:
    """The value of the cookie ``name``, or None (a malformed ``Cookie`` header is none)."""
    raw = header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Headers = Sequence[tuple[bytes, bytes]]


def send_headers(send: Send, headers: Headers) -> Send:
    """``send`` with ``headers`` added to the answer's start."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
        await send(message)

    return send_with_headers


async def send_plain(send: Send, status: int, text: str, headers: Headers = ()) -> None:
    """A whole answer of ``status`` with ``text`` as ``text/plain`` (and ``headers``)."""
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """ASGI middleware: :data:`HEADERS` (and :data:`HSTS` when ``secure``) on every answer."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.headers = [*HEADERS, HSTS] if secure else HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send_headers(send, self.headers))
