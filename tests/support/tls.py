"""Certificates for the tests' TLS servers (the collector's HTTPS, the SMTP server's STARTTLS):
a fresh ``trustme`` CA per call and a server certificate for 127.0.0.1 and localhost; and a
client that never starts its handshake (:func:`closed_without_hello`)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trio
import trustme
from printwatch.uplink.transport import pin_of_pem


@dataclass(frozen=True)
class Certs:
    """The CA (to issue more certificates), its PEM file for the clients, the server's chain and
    key files, and the pin of the server's certificate (what the appliance's uplink checks)."""

    ca: trustme.CA
    ca_file: Path
    certfile: Path
    keyfile: Path
    pin: str

    def server_context(self) -> ssl.SSLContext:
        """A server-side context with the certificate and its key loaded."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certfile, self.keyfile)
        return context


def make_certs(directory: Path) -> Certs:
    """A new CA and a server certificate, written to ``directory`` as ``ca.pem``, ``server.pem``
    (the chain) and ``server.key``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, certfile, keyfile = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    for i, pem in enumerate(cert.cert_chain_pems):
        pem.write_to_path(str(certfile), append=i > 0)
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(ca_file))
    return Certs(ca, ca_file, certfile, keyfile, pin_of_pem(cert.cert_chain_pems[0].bytes()))


async def closed_without_hello(port: int, limit_s: float) -> float:
    """Seconds until the TLS server on ``port`` closes a connection whose client sends nothing
    (no ClientHello); it must send nothing either (``trio.TooSlowError`` after ``limit_s``)."""
    silent = await trio.open_tcp_stream("127.0.0.1", port)
    started = trio.current_time()
    try:
        with trio.fail_after(limit_s):
            try:
                data = await silent.receive_some(4096)
            except trio.BrokenResourceError:
                data = b""
    finally:
        await trio.aclose_forcefully(silent)
    assert data == b""
    return trio.current_time() - started
