"""One HTTPS request from the appliance to the collector: the certificate pinned, through an
HTTP proxy's CONNECT when one is configured. HTTP/1.1 with ``h11`` over Trio's TLS stream.

Several front ends: an :class:`Endpoint` may name ``alternates``, more URLs of the same
collector (the same pin, CA and proxy). A request goes to the URL that answered last (the first
at the start); when it gets no HTTP answer or a 503, the next is tried at once, in turn, each
once. The first other answer is returned (and its URL is the one tried first next time); when
none gave one, the last 503 is returned (its ``Retry-After`` is the sender's to honour), else
a :class:`TransportError` naming every URL's failure.

Pinning: ``pin`` is ``sha256/BASE64`` of the collector certificate's SubjectPublicKeyInfo (as
``printwatch collector pin CERT`` prints it). With a pin, the certificate chain need not lead
to a public CA (a collector's own certificate is fine), but the key must match the pin; with
``ca_file`` the chain and host name are verified against that CA as well; with neither, the
system's CAs are used.

The request and response are returned byte for byte as they crossed the TLS stream (the
transmission log keeps them).

Keeping the connection: with a :class:`Session` (the sender's, for the messages of one upload
turn) a request goes over the connection the previous one used when it is to the same URL, was
used less than ``idle_s`` ago (under the collector's own idle timeout) and has carried fewer than
``max_requests``; else a new one is opened, its pin checked again. A connection is kept only
when its answer was whole, the request was sent whole, the collector did not say
``Connection: close`` and sent nothing after its answer; anything else closes it (so does
:meth:`Session.aclose`, at the end of the turn). When a kept connection fails before any byte of
its answer (the collector closed it meanwhile, its idle timeout or a restart), the request is
sent once more on a new connection: the collector may have stored it, and then it answers the
second one ``409`` with the next sequence number, which the sender counts as acknowledged.
Without a session every request has a connection of its own, closed after it
(``Connection: close``: enrolment).

Error handling: :class:`TransportError` for everything that keeps a request from getting an
HTTP answer: refused or timed-out connections, a proxy that does not say 200 to CONNECT, a TLS
failure, a pin mismatch (``pin_mismatch`` in the message), a response over ``max_response_bytes``,
and a collector that closes the connection, or dies, before its answer is complete (h11's
``RemoteProtocolError``: an answer cut short is no answer; the request is the sender's to retry).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import h11
import trio
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from printwatch import PrintwatchError

if TYPE_CHECKING:
    from printwatch.config.model import UplinkConfig

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 1 << 20
USER_AGENT = "printwatch-uplink/1"
#: A kept connection unused for longer is closed, not used again: under the collector's idle
#: timeout (:data:`printwatch.collector.server.KEEP_ALIVE_TIMEOUT_S`), so that a request does not
#: meet the collector's close on its way.
KEEP_IDLE_S = 3.0
#: Requests one kept connection carries at most (the collector has its own cap).
KEEP_MAX_REQUESTS = 100
#: What a connection can fail with on its way (each becomes a :class:`TransportError`).
_FAILURES = (OSError, trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, h11.ProtocolError)


class TransportError(PrintwatchError):
    """No HTTP answer; the message says why and names the URL (and proxy)."""


@dataclass(frozen=True)
class Response:
    """An answer: its status and body, the bytes of both directions, the URL that gave it and its
    ``Retry-After`` in seconds (``None`` without one, or with an HTTP date)."""

    status: int
    body: bytes
    request_bytes: bytes
    response_bytes: bytes
    url: str = ""
    retry_after_s: float | None = None


@dataclass
class _Turn:
    """The index of the URL that answered last (where the next request starts)."""

    index: int = 0


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach the collector: ``url``, and ``alternates`` tried in turn (see the
    module's docstring)."""

    url: str
    pin: str | None = None
    ca_file: Path | None = None
    proxy: str | None = None  # http://host:port
    timeout_s: float = 30.0
    alternates: tuple[str, ...] = ()
    _turn: _Turn = field(default_factory=_Turn, init=False, compare=False, repr=False)

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.alternates)


@dataclass
class _Connection:
    """An open, pinned HTTPS connection to ``url_text``: its stream, its h11 state, when it was
    last used (``trio.current_time()``) and how many requests it carried."""

    url_text: str
    stream: trio.SSLStream[trio.abc.Stream]
    conn: h11.Connection
    used_at: float = 0.0
    requests: int = 0


@dataclass
class Session:
    """At most one kept connection (see the module's docstring); :meth:`aclose` closes it.
    ``opened`` counts the connections opened through the session, ``reused`` the requests that
    went over a kept one, ``replaced`` the kept ones found closed (the request sent again on a
    new one)."""

    idle_s: float = KEEP_IDLE_S
    max_requests: int = KEEP_MAX_REQUESTS
    opened: int = 0
    reused: int = 0
    replaced: int = 0
    _kept: _Connection | None = field(default=None, repr=False)

    async def _take(self, url_text: str) -> _Connection | None:
        """The kept connection, when it may carry a request to ``url_text``; else it is closed."""
        kept, self._kept = self._kept, None
        if kept is None:
            return None
        fresh = trio.current_time() - kept.used_at <= self.idle_s
        if kept.url_text == url_text and fresh and kept.requests < self.max_requests:
            return kept
        await trio.aclose_forcefully(kept.stream)
        return None

    async def _keep(self, kept: _Connection) -> None:
        if self._kept is not None and self._kept is not kept:
            await trio.aclose_forcefully(self._kept.stream)
        kept.used_at = trio.current_time()
        self._kept = kept

    @property
    def open(self) -> bool:
        """Whether a connection is kept."""
        return self._kept is not None

    async def aclose(self) -> None:
        """Closes the kept connection (at once: it waits for nothing from the collector)."""
        kept, self._kept = self._kept, None
        if kept is not None:
            await trio.aclose_forcefully(kept.stream)


def spki_pin(cert_der: bytes) -> str:
    """``sha256/BASE64`` of a DER certificate's public key (SubjectPublicKeyInfo)."""
    cert = x509.load_der_x509_certificate(cert_der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256/" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


def pin_of_pem(pem: bytes) -> str:
    return spki_pin(x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER))


def _ssl_context(endpoint: Endpoint) -> ssl.SSLContext:
    if endpoint.ca_file is not None:
        ctx = ssl.create_default_context(cafile=str(endpoint.ca_file))
    elif endpoint.pin is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the pin below is the check
    else:
        ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def _connect_via_proxy(proxy: str, host: str, port: int) -> trio.SocketStream:
    p = urlsplit(proxy)
    if p.scheme != "http" or not p.hostname:
        raise TransportError(f"proxy {proxy!r}: only http://host:port proxies are supported")
    stream = await trio.open_tcp_stream(p.hostname, p.port or 3128)
    try:
        await stream.send_all(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await stream.receive_some(4096)
            if not chunk or len(head) > 16384:
                raise TransportError(f"proxy {proxy}: closed during CONNECT {host}:{port}")
            head += chunk
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split()
        if len(parts) < 2 or parts[1] != "200":
            raise TransportError(f"proxy {proxy}: CONNECT {host}:{port} answered {status_line!r}")
        if head.split(b"\r\n\r\n", 1)[1]:
            raise TransportError(f"proxy {proxy}: sent data before the tunnel opened")
    except BaseException:
        await stream.aclose()
        raise
    return stream


async def post(
    endpoint: Endpoint, path: str, body: bytes, content_type: str, *, session: Session | None = None
) -> Response:
    """POST ``body`` to ``path`` of the endpoint's URLs, in turn, over ``session``'s kept
    connection where it can; see the module's docstring."""
    urls = endpoint.urls
    start = endpoint._turn.index % len(urls)
    failures: list[str] = []
    busy: Response | None = None
    for k in range(len(urls)):
        index = (start + k) % len(urls)
        try:
            response = await post_to(endpoint, urls[index], path, body, content_type, session=session)
        except TransportError as err:
            failures.append(str(err))
            if k + 1 < len(urls):
                log.warning("uplink: %s; trying %s", err, urls[(index + 1) % len(urls)])
            continue
        if response.status == 503:
            busy = response
            if k + 1 < len(urls):
                log.warning(
                    "uplink: %s%s answered 503; trying %s", urls[index], path, urls[(index + 1) % len(urls)]
                )
            continue
        endpoint._turn.index = index
        return response
    if busy is not None:
        return busy
    raise TransportError("; ".join(failures))


async def post_to(
    endpoint: Endpoint,
    url_text: str,
    path: str,
    body: bytes,
    content_type: str,
    *,
    session: Session | None = None,
) -> Response:
    """POST ``body`` to ``url_text + path`` (one of the endpoint's URLs) once (twice when a kept
    connection of ``session`` turns out closed: the module's docstring).

    Error handling: :class:`TransportError` naming the URL (see the module's docstring)."""
    url = urlsplit(url_text)
    if url.scheme != "https" or not url.hostname:
        raise TransportError(f"{url_text}: the uplink needs an https:// URL")
    host, port = url.hostname, url.port or 443
    target = url.path.rstrip("/") + path
    where = f"{url_text}{path}" + (f" via proxy {endpoint.proxy}" if endpoint.proxy else "")
    try:
        with trio.fail_after(endpoint.timeout_s):
            response = await _post(endpoint, url_text, host, port, target, body, content_type, session)
    except trio.TooSlowError:
        raise TransportError(f"{where}: timed out after {endpoint.timeout_s} s") from None
    except _FAILURES as err:
        raise TransportError(f"{where}: {_reason(err)}") from None
    except TransportError as err:
        raise TransportError(f"{where}: {err}") from None
    return Response(
        response.status, response.body, response.request_bytes, response.response_bytes,
        url_text, response.retry_after_s,
    )  # fmt: skip


def _reason(err: BaseException) -> str:
    """What a connection's failure says (a broken stream's cause when it says nothing itself)."""
    reason = str(err) or str(err.__cause__ or err.__context__ or "")
    return f"{type(err).__name__}: {reason}" if reason else type(err).__name__


async def _post(
    endpoint: Endpoint,
    url_text: str,
    host: str,
    port: int,
    target: str,
    body: bytes,
    content_type: str,
    session: Session | None,
) -> Response:
    kept = None if session is None else await session._take(url_text)
    if kept is not None:
        session_ = session
        assert session_ is not None
        heard: list[bytes] = []
        try:
            response = await _exchange(kept, host, port, target, body, content_type, session_, heard)
        except (*_FAILURES, TransportError):
            await trio.aclose_forcefully(kept.stream)
            if heard:  # an answer begun and broken is no stale connection
                raise
            session_.replaced += 1
            log.debug("uplink: the kept connection to %s was closed; a new one", url_text)
        else:
            session_.reused += 1
            return response
    fresh = await _open(endpoint, url_text, host, port)
    if session is not None:
        session.opened += 1
    return await _exchange(fresh, host, port, target, body, content_type, session, [])


async def _open(endpoint: Endpoint, url_text: str, host: str, port: int) -> _Connection:
    """A new connection to the collector, its TLS handshake done and its key pinned."""
    tcp = await _connect(endpoint, host, port)
    stream = trio.SSLStream(tcp, _ssl_context(endpoint), server_hostname=host, https_compatible=True)
    try:
        await stream.do_handshake()
        _check_pin(stream, endpoint)
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return _Connection(url_text, stream, h11.Connection(h11.CLIENT))


async def _exchange(
    kept: _Connection,
    host: str,
    port: int,
    target: str,
    body: bytes,
    content_type: str,
    session: Session | None,
    heard: list[bytes],
) -> Response:
    """One request and its answer on ``kept``; the connection is then kept in ``session`` when
    it may carry another (the module's docstring), else closed. ``heard`` gets the first bytes
    of the answer (a failure after them is not a closed connection's).

    Error handling: as :func:`_read_response`; the connection is closed."""
    stream, conn = kept.stream, kept.conn
    kept.requests += 1
    request = _request(conn, host, port, target, body, content_type, keep=session is not None)
    # Sent while the answer is read: a collector may answer (413) before the body is in.
    send_error: list[BaseException] = []
    sent_whole: list[bool] = []

    async def send() -> None:
        try:
            await stream.send_all(request)
            sent_whole.append(True)
        except _FAILURES as err:
            send_error.append(err)

    # A failure is caught inside the nursery and raised after it: raised through it, it
    # would come out wrapped in an ExceptionGroup that no ``except`` above matches.
    failure: BaseException | None = None
    answer: tuple[int, bytes, bytes, float | None] = (0, b"", b"", None)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            try:
                answer = await _read_response(conn, stream, send_error, heard)
            except (*_FAILURES, TransportError) as err:
                failure = err
            nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    status, data, raw, retry_after_s = answer
    if session is not None and sent_whole and _reusable(conn):
        conn.start_next_cycle()
        await session._keep(kept)
    else:
        await trio.aclose_forcefully(stream)
    return Response(status, data, request, raw, retry_after_s=retry_after_s)


def _reusable(conn: h11.Connection) -> bool:
    """Whether the exchange ended so that the connection can carry another: both sides done
    (no ``Connection: close``) and nothing sent after the answer."""
    trailing, closed = conn.trailing_data
    return conn.our_state is h11.DONE and conn.their_state is h11.DONE and not trailing and not closed


async def _connect(endpoint: Endpoint, host: str, port: int) -> trio.abc.Stream:
    """The TCP stream to the collector: through the configured proxy, or direct."""
    if endpoint.proxy:
        return await _connect_via_proxy(endpoint.proxy, host, port)
    return await trio.open_tcp_stream(host, port)


def _check_pin(stream: trio.SSLStream[trio.abc.Stream], endpoint: Endpoint) -> None:
    """Error handling: ``TransportError`` (``pin_mismatch: ...``) when a pinned key is not the collector's."""
    if endpoint.pin is not None:
        der = stream.getpeercert(binary_form=True)
        got = spki_pin(der) if der else "none"
        if got != endpoint.pin:
            raise TransportError(f"pin_mismatch: the collector's key is {got}, pinned {endpoint.pin}")


def _request(
    conn: h11.Connection, host: str, port: int, target: str, body: bytes, content_type: str, *, keep: bool
) -> bytes:
    """The bytes of one POST with its body, closing the connection after it unless ``keep``."""
    headers = [
        ("Host", host if port == 443 else f"{host}:{port}"),
        ("User-Agent", USER_AGENT),
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
    ]
    if not keep:
        headers.append(("Connection", "close"))
    request = conn.send(h11.Request(method="POST", target=target, headers=headers)) or b""
    return request + (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b"")


async def _read_response(
    conn: h11.Connection,
    stream: trio.SSLStream[trio.abc.Stream],
    send_error: list[BaseException],
    heard: list[bytes],
) -> tuple[int, bytes, bytes, float | None]:
    """The status, body, raw bytes and ``Retry-After`` of the answer, read to its end.

    Error handling: ``TransportError`` for an answer over ``MAX_RESPONSE_BYTES``, or for a
    connection lost while the request was still being sent; h11's ``RemoteProtocolError`` for a
    connection closed before the answer was complete (or for bytes that are not HTTP)."""
    raw = bytearray()
    status = 0
    retry_after_s: float | None = None
    data = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                if send_error:
                    raise TransportError(f"connection lost while sending: {_reason(send_error[0])}") from None
                raise
            if chunk and not raw:
                heard.append(bytes(chunk[:16]))
            raw += chunk
            if len(raw) > MAX_RESPONSE_BYTES:
                raise TransportError(f"response over {MAX_RESPONSE_BYTES} bytes")
            conn.receive_data(bytes(chunk))
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            retry_after_s = retry_after(event.headers)
        elif isinstance(event, h11.Data):
            data += event.data
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    return status, bytes(data), bytes(raw), retry_after_s


def retry_after(headers: Iterable[tuple[bytes, bytes]]) -> float | None:
    """A ``Retry-After`` header's delay in seconds (RFC 9110: a number of seconds); ``None``
    without one, for an HTTP date (the two clocks are not compared) or for anything else."""
    for name, value in headers:
        if name.lower() == b"retry-after":
            text = value.strip()
            if text.isdigit() and len(text) <= 9:
                return float(int(text))
            return None
    return None


def endpoint_of(uplink: UplinkConfig) -> Endpoint:
    """The collector as ``[uplink]`` names it: ``url``, then its ``endpoints`` tried in turn,
    with the pin, CA file and proxy they share (``printwatch run`` and ``printwatch enrol``)."""
    return Endpoint(
        uplink.url, pin=uplink.pin, ca_file=uplink.ca_file, proxy=uplink.proxy, alternates=uplink.endpoints
    )
