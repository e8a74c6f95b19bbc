"""The MSP's API tokens: who may call the collector's API, with which role and sites.

A token is ``pwc_`` and 43 random URL-safe characters (256 bits), shown once when it is made;
the store keeps only its SHA-256 (a high-entropy secret needs no slow hash) and an id (the
first 12 hex digits of that hash) to list and revoke it by. A token has a role
(:data:`~printwatch.collector.roles.ROLES`, as a console user) and, for the ``customer`` role,
its sites (``api_token_sites``). Tokens made before roles had the ``read`` scope: they are
``viewer`` tokens now (migration 5). A revoked token stays listed, refused.

A token expires :data:`DEFAULT_EXPIRES_DAYS` (90) days after it is made unless its maker says
otherwise (1 to :data:`MAX_EXPIRES_DAYS`, ``collector token add --expires-days N``); from then on
it is refused with :class:`TokenExpired` (the API answers 401 naming the token and when it
expired). Tokens made before expiry existed (migration 10) have none: listed so, they answer
until revoked.

Error handling: ``ValueError`` for a bad name, an unknown role, a site scope that does not fit
the role or names an unknown site, a life out of range, and an unknown token id;
:class:`TokenExpired` from :func:`check_token` for a token past its expiry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from printwatch.collector.roles import STAFF, Principal, check_sites_exist, checked_role
from printwatch.collector.store import CollectorStore

#: The scope of tokens made before roles: ``read`` is the ``viewer`` role.
SCOPES = ("read",)
PREFIX = "pwc_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@ -]{0,63}$")
#: A token's life when its maker does not say, and the longest it may be given.
DEFAULT_EXPIRES_DAYS = 90.0
MAX_EXPIRES_DAYS = 730.0


class TokenExpired(Exception):
    """The token's secret is right but its life is over (the holder of the secret is told so)."""

    def __init__(self, name: str, expired_at: dt.datetime) -> None:
        super().__init__(
            f"the API token {name!r} expired at {expired_at.isoformat(timespec='seconds')}Z: "
            "an admin issues a new one (collector token add)"
        )
        self.name, self.expired_at = name, expired_at


@dataclass(frozen=True)
class ApiToken:
    token_id: str
    name: str
    role: str
    sites: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None = None


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_token(
    store: CollectorStore,
    name: str,
    role: str = "viewer",
    *,
    sites: Sequence[str] = (),
    now: dt.datetime,
    expires_days: float = DEFAULT_EXPIRES_DAYS,
) -> str:
    """A new token named ``name`` with ``role`` (and, for a customer, ``sites``), answering for
    ``expires_days`` days from ``now``; returns the secret (never stored)."""
    if not NAME.match(name):
        raise ValueError(f"token name {name!r}: 1 to 64 letters, digits, spaces or '_.@-'")
    if (
        isinstance(expires_days, bool)
        or not isinstance(expires_days, int | float)
        or not 1 <= expires_days <= MAX_EXPIRES_DAYS
    ):
        raise ValueError(f"expires_days: a number of days from 1 to {MAX_EXPIRES_DAYS:g}")
    expires_at = now + dt.timedelta(days=float(expires_days))
    role, scope = checked_role(role, sites)
    secret = PREFIX + secrets.token_urlsafe(32)
    digest = _hash(secret)
    token_id = digest.hex()[:12]
    with store.transaction() as con:
        check_sites_exist(con, scope)
        con.execute(
            "INSERT INTO api_tokens (token_id, name, token_hash, scopes, role, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [token_id, name, digest, "read", role, now, expires_at],
        )
        for site in scope:
            con.execute("INSERT INTO api_token_sites (token_id, site_id) VALUES (?, ?)", [token_id, site])
    return secret


def list_tokens(store: CollectorStore) -> list[ApiToken]:
    rows = store.con.execute(
        "SELECT token_id, name, role, created_at, revoked_at, last_used_at, expires_at FROM api_tokens "
        "ORDER BY created_at, token_id"
    ).fetchall()
    scoped: dict[str, list[str]] = {}
    for token_id, site in store.con.execute(
        "SELECT token_id, site_id FROM api_token_sites ORDER BY site_id"
    ).fetchall():
        scoped.setdefault(token_id, []).append(site)
    return [ApiToken(r[0], r[1], r[2], tuple(scoped.get(r[0], ())), r[3], r[4], r[5], r[6]) for r in rows]


def revoke_token(store: CollectorStore, token_id: str, *, now: dt.datetime) -> None:
    with store.transaction() as con:
        row = con.execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE token_id = ? "
            "RETURNING token_id",
            [now, token_id],
        ).fetchone()
    if row is None:
        raise ValueError(f"no API token {token_id!r} (collector token list)")


#: ``last_used_at`` is written at most this often per token (not a write per request).
USED_EVERY = dt.timedelta(minutes=1)


def check_token(store: CollectorStore, secret: str, *, now: dt.datetime) -> Principal | None:
    """The principal of the live token ``secret``, else ``None`` (unknown, malformed or revoked:
    the caller answers all of them alike); :class:`TokenExpired` for the right secret of a token
    whose life ended at or before ``now``."""
    if not secret.startswith(PREFIX) or len(secret) > 128:
        return None
    digest = _hash(secret)
    token_id = digest.hex()[:12]
    row = store.con.execute(
        "SELECT token_hash, name, role, revoked_at, last_used_at, expires_at FROM api_tokens "
        "WHERE token_id = ?",
        [token_id],
    ).fetchone()
    if row is None or not hmac.compare_digest(bytes(row[0]), digest) or row[3] is not None:
        return None
    if row[5] is not None and now >= row[5]:
        raise TokenExpired(str(row[1]), row[5])
    sites = None
    if row[2] not in STAFF:
        found = store.con.execute("SELECT site_id FROM api_token_sites WHERE token_id = ?", [token_id])
        sites = frozenset(str(r[0]) for r in found.fetchall())
    if row[4] is None or now - row[4] >= USED_EVERY or now < row[4]:
        store.con.execute("UPDATE api_tokens SET last_used_at = ? WHERE token_id = ?", [now, token_id])
    return Principal(str(row[1]), str(row[2]), "token", sites)
