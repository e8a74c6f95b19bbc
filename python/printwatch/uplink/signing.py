"""The appliance's Ed25519 identity and the signed envelope every message travels in.

Envelope (bytes, what the appliance POSTs and the transmission log keeps)::

    b"PW" | version (1 byte) | key id (8 bytes) | Ed25519 signature (64 bytes) | payload

The key id is the first 8 bytes of SHA-256 over the raw 32-byte public key; the signature
covers everything but itself (magic, version, key id and the compressed payload), so a
collector verifies it *before* it inflates anything. Keys are made with ``cryptography``;
the private key file is PKCS#8 PEM, created with mode 0600.

Error handling: :func:`open_envelope` raises :class:`SignatureError` (what is wrong: too short,
wrong magic or version, an unknown key id, a bad signature); :meth:`Identity.load_or_create`
raises ``PermissionError`` for a key file others may read, ``ValueError`` for one that is not an
Ed25519 key, naming the path.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from printwatch import PrintwatchError

MAGIC = b"PW"
VERSION = 1
KEY_ID_BYTES = 8
SIGNATURE_BYTES = 64
HEADER_BYTES = len(MAGIC) + 1 + KEY_ID_BYTES + SIGNATURE_BYTES


class SignatureError(PrintwatchError):
    """An envelope that is not signed by a known key; the message says why."""


def key_id(public_raw: bytes) -> bytes:
    """The 8-byte id of a raw Ed25519 public key."""
    return hashlib.sha256(public_raw).digest()[:KEY_ID_BYTES]


@dataclass(frozen=True)
class Identity:
    """An appliance's signing key."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> Identity:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> bytes:
        return key_id(self.public_raw)

    @classmethod
    def load_or_create(cls, path: Path) -> Identity:
        """The key in ``path``, made (mode 0600) if the file does not exist."""
        if not path.exists():
            identity = cls.generate()
            pem = identity.private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            return identity
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(
                f"{path}: the uplink key must be mode 0600 or narrower, not {oct(mode & 0o777)}"
            )
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as err:
            raise ValueError(f"{path}: not a private key: {err}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 key")
        return cls(key)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def seal(identity: Identity, payload: bytes) -> bytes:
    """The envelope of ``payload`` signed by ``identity``."""
    head = MAGIC + bytes([VERSION]) + identity.key_id
    return head + identity.sign(head + payload) + payload


def envelope_key_id(envelope: bytes) -> bytes:
    """The key id an envelope claims (unverified)."""
    if len(envelope) < HEADER_BYTES:
        raise SignatureError(f"envelope of {len(envelope)} bytes is shorter than its header")
    if envelope[:2] != MAGIC:
        raise SignatureError("not a printwatch envelope (magic)")
    if envelope[2] != VERSION:
        raise SignatureError(f"envelope version {envelope[2]} is not {VERSION}")
    return envelope[3 : 3 + KEY_ID_BYTES]


def open_envelope(envelope: bytes, public_key: Callable[[bytes], bytes | None]) -> tuple[bytes, bytes]:
    """``(key id, payload)`` of an envelope whose signature verifies under the key that
    ``public_key(key_id)`` returns (``None``: unknown key)."""
    kid = envelope_key_id(envelope)
    raw = public_key(kid)
    if raw is None:
        raise SignatureError(f"unknown key {kid.hex()}")
    head_end = 3 + KEY_ID_BYTES
    signature = envelope[head_end:HEADER_BYTES]
    payload = envelope[HEADER_BYTES:]
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, envelope[:head_end] + payload)
    except InvalidSignature:
        raise SignatureError(f"bad signature for key {kid.hex()}") from None
    return kid, payload
