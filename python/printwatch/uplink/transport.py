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


async def post(endpoint: Endpoint, path: str, body: bytes, content_type: str) -> Response:
    """POST ``body`` to ``path`` of the endpoint's URLs, in turn; see the module's docstring."""
    urls = endpoint.urls
    start = endpoint._turn.index % len(urls)
    failures: list[str] = []
    busy: Response | None = None
    for k in range(len(urls)):
        index = (start + k) % len(urls)
        try:
            response = await post_to(endpoint, urls[index], path, body, content_type)
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


async def post_to(endpoint: Endpoint, url_text: str, path: str, body: bytes, content_type: str) -> Response:
    """POST ``body`` to ``url_text + path`` (one of the endpoint's URLs) once.

    Error handling: :class:`TransportError` naming the URL (see the module's docstring)."""
    url = urlsplit(url_text)
    if url.scheme != "https" or not url.hostname:
        raise TransportError(f"{url_text}: the uplink needs an https:// URL")
    host, port = url.hostname, url.port or 443
    target = url.path.rstrip("/") + path
    where = f"{url_text}{path}" + (f" via proxy {endpoint.proxy}" if endpoint.proxy else "")
    try:
        with trio.fail_after(endpoint.timeout_s):
            response = await _post(endpoint, host, port, target, body, content_type)
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
    endpoint: Endpoint, host: str, port: int, target: str, body: bytes, content_type: str
) -> Response:
    tcp = await _connect(endpoint, host, port)
    stream = trio.SSLStream(tcp, _ssl_context(endpoint), server_hostname=host, https_compatible=True)
    async with stream:
        await stream.do_handshake()
        _check_pin(stream, endpoint)
        conn = h11.Connection(h11.CLIENT)
        request = _request(conn, host, port, target, body, content_type)
        # Sent while the answer is read: a collector may answer (413) before the body is in.
        send_error: list[BaseException] = []

        async def send() -> None:
            try:
                await stream.send_all(request)
            except _FAILURES as err:
                send_error.append(err)

        # A failure is caught inside the nursery and raised after it: raised through it, it
        # would come out wrapped in an ExceptionGroup that no ``except`` above matches.
        failure: BaseException | None = None
        answer: tuple[int, bytes, bytes, float | None] = (0, b"", b"", None)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            try:
                answer = await _read_response(conn, stream, send_error)
            except (*_FAILURES, TransportError) as err:
                failure = err
            nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
        status, data, raw, retry_after_s = answer
        return Response(status, data, request, raw, retry_after_s=retry_after_s)


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
    conn: h11.Connection, host: str, port: int, target: str, body: bytes, content_type: str
) -> bytes:
    """The bytes of one POST with its body, closing the connection after it."""
    headers = [
        ("Host", host if port == 443 else f"{host}:{port}"),
        ("User-Agent", USER_AGENT),
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    request = conn.send(h11.Request(method="POST", target=target, headers=headers)) or b""
    return request + (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b"")


async def _read_response(
    conn: h11.Connection, stream: trio.SSLStream[trio.abc.Stream], send_error: list[BaseException]
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
