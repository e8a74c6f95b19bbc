"""The MSP's API tokens: who may read the collector's API, with which scopes.

A token is ``pwc_`` and 43 random URL-safe characters (256 bits), shown once when it is made;
the store keeps only its SHA-256 (a high-entropy secret needs no slow hash) and an id (the
first 12 hex digits of that hash) to list and revoke it by. Scopes: ``read`` (every view of
every site). A revoked token stays listed, refused.

Error handling: ``ValueError`` for a bad name, an unknown scope or an unknown token id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from printwatch.collector.store import CollectorStore

SCOPES = ("read",)
PREFIX = "pwc_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@ -]{0,63}$")


@dataclass(frozen=True)
class ApiToken:
    token_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_token(store: CollectorStore, name: str, scopes: tuple[str, ...], *, now: dt.datetime) -> str:
    """A new token named ``name`` with ``scopes``; returns the secret (never stored)."""
    if not NAME.match(name):
        raise ValueError(f"token name {name!r}: 1 to 64 letters, digits, spaces or '_.@-'")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes {', '.join(unknown) or '(none)'}: use one or more of {', '.join(SCOPES)}")
    secret = PREFIX + secrets.token_urlsafe(32)
    digest = _hash(secret)
    with store.transaction() as con:
        con.execute(
            "INSERT INTO api_tokens (token_id, name, token_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)",
            [digest.hex()[:12], name, digest, ",".join(sorted(set(scopes))), now],
        )
    return secret


def list_tokens(store: CollectorStore) -> list[ApiToken]:
    rows = store.con.execute(
        "SELECT token_id, name, scopes, created_at, revoked_at, last_used_at FROM api_tokens "
        "ORDER BY created_at"
    ).fetchall()
    return [ApiToken(r[0], r[1], tuple(r[2].split(",")), r[3], r[4], r[5]) for r in rows]


def revoke_token(store: CollectorStore, token_id: str, *, now: dt.datetime) -> None:
    with store.transaction() as con:
        row = con.execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE token_id = ? "
            "RETURNING token_id",
            [now, token_id],
        ).fetchone()
    if row is None:
        raise ValueError(f"no API token {token_id!r} (collector token list)")


def check_token(store: CollectorStore, secret: str, scope: str, *, now: dt.datetime) -> str | None:
    """The name of the live token ``secret`` if it has ``scope``, else ``None`` (unknown,
    revoked or without the scope: the caller answers all of them alike)."""
    if not secret.startswith(PREFIX) or len(secret) > 128:
        return None
    digest = _hash(secret)
    row = store.con.execute(
        "SELECT token_hash, name, scopes, revoked_at FROM api_tokens WHERE token_id = ?", [digest.hex()[:12]]
    ).fetchone()
    if row is None or not hmac.compare_digest(bytes(row[0]), digest) or row[3] is not None:
        return None
    if scope not in str(row[2]).split(","):
        return None
    store.con.execute("UPDATE api_tokens SET last_used_at = ? WHERE token_id = ?", [now, digest.hex()[:12]])
    return str(row[1])
