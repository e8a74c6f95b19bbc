"""The dashboard's TLS certificate: a configured one, or a self-signed one made on first start.

The self-signed certificate (ECDSA P-256, ten years, the host name and the listening address as
subject alternative names) and its key are written to ``state_dir/web-tls/`` (the key 0600) and
reused on later starts; its SHA-256 fingerprint is logged so that a browser's warning can be
checked against it.

Error handling: :class:`TlsError` naming the file when a configured certificate or key cannot be
read or does not parse (the appliance does not start without the TLS it was told to use).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from printwatch import PrintwatchError
from printwatch.clock import utcnow


class TlsError(PrintwatchError):
    """A certificate or key that cannot be read, parsed or written."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    fingerprint_sha256: str
    made_now: bool


def fingerprint(cert_path: Path) -> str:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as err:
        raise TlsError(f"{cert_path}: not a readable PEM certificate: {err}") from None
    return cert.fingerprint(hashes.SHA256()).hex(":")


def configured(cert: Path, key: Path) -> TlsFiles:
    """A configured certificate and key, checked to load."""
    try:
        serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise TlsError(f"{key}: not a readable unencrypted PEM private key: {err}") from None
    return TlsFiles(cert, key, fingerprint(cert), made_now=False)


def self_signed(directory: Path, host: str) -> TlsFiles:
    """``directory/cert.pem`` and ``key.pem``, made if missing (see the module's docstring)."""
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.exists() and key_path.exists():
        return TlsFiles(cert_path, key_path, fingerprint(cert_path), made_now=False)
    key = ec.generate_private_key(ec.SECP256R1())
    name = socket.gethostname() or "printwatch"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"printwatch {name}")])
    alt: list[x509.GeneralName] = [x509.DNSName(name), x509.DNSName("localhost")]
    for address in {host, "127.0.0.1"}:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            continue
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as err:
        raise TlsError(f"{directory}: cannot write the self-signed certificate: {err}") from None
    return TlsFiles(cert_path, key_path, cert.fingerprint(hashes.SHA256()).hex(":"), made_now=True)
