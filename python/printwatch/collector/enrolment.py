"""Sites, one-time enrolment tokens and appliance keys.

The MSP adds a site (``printwatch collector site add SITE``) and gets a token, shown once and
stored only as its SHA-256; it is valid for ``valid_days`` and for one enrolment. An appliance
enrols with the site id, the token and its Ed25519 public key: the key is registered for the
site and the token is spent. A site's key can be replaced only by a new token.

Error handling: :class:`EnrolmentError` for an unknown site, a wrong, spent or expired token,
or a malformed key (the server answers 403 or 400 and stores nothing); ``ValueError`` for a
site id that is not ``[A-Za-z0-9._-]{1,64}`` or exists already.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from printwatch import PrintwatchError
from printwatch.collector.store import CollectorStore
from printwatch.uplink.signing import key_id

SITE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class EnrolmentError(PrintwatchError):
    """An enrolment that is refused; the message says why (never the token)."""


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_secret() -> str:
    """A one-time token: 192 random bits, URL-safe, never starting with "-" (which a command
    line would take for an option: ``printwatch enrol --token -x...``)."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def add_site(
    store: CollectorStore,
    site_id: str,
    *,
    now: dt.datetime,
    name: str | None = None,
    contact: str | None = None,
    valid_days: float = 14.0,
) -> str:
    """Create a site and return its one-time enrolment token."""
    if not SITE_ID.match(site_id):
        raise ValueError(f"site id {site_id!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
    token = new_secret()
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM sites WHERE site_id = ?", [site_id]).fetchone():
            raise ValueError(f"site {site_id!r} exists already (use `site token` for a new token)")
        con.execute(
            "INSERT INTO sites (site_id, name, contact, created_at, token_hash, token_expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [site_id, name, contact, now, _hash(token), now + dt.timedelta(days=valid_days)],
        )
    return token


def new_token(store: CollectorStore, site_id: str, *, now: dt.datetime, valid_days: float = 14.0) -> str:
    """A fresh one-time token for an existing site (to enrol a replaced appliance)."""
    token = new_secret()
    with store.transaction() as con:
        row = con.execute(
            "UPDATE sites SET token_hash = ?, token_expires_at = ? WHERE site_id = ? RETURNING site_id",
            [_hash(token), now + dt.timedelta(days=valid_days), site_id],
        ).fetchone()
        if row is None:
            raise ValueError(f"no site {site_id!r}")
    return token


def enrol(store: CollectorStore, site_id: str, token: str, public_key: bytes, *, now: dt.datetime) -> str:
    """Register ``public_key`` (raw Ed25519, 32 bytes) for ``site_id``; returns its key id (hex)."""
    if len(public_key) != 32:
        raise EnrolmentError(f"public key of {len(public_key)} bytes: an Ed25519 key has 32")
    with store.transaction() as con:
        row = con.execute(
            "SELECT token_hash, token_expires_at FROM sites WHERE site_id = ?", [site_id]
        ).fetchone()
        if row is None:
            raise EnrolmentError(f"no site {site_id!r}")
        stored, expires = row
        if stored is None:
            raise EnrolmentError(f"site {site_id!r} has no unused enrolment token")
        if not hmac.compare_digest(bytes(stored), _hash(token)):
            raise EnrolmentError(f"wrong enrolment token for site {site_id!r}")
        if expires is not None and expires < now:
            raise EnrolmentError(f"the enrolment token of site {site_id!r} expired on {expires:%Y-%m-%d}")
        kid = key_id(public_key).hex()
        taken = con.execute(
            "SELECT site_id FROM sites WHERE key_id = ? AND site_id <> ?", [kid, site_id]
        ).fetchall()
        if taken:  # a key names one site: another's (copied from its log, a cloned VM) is refused
            raise EnrolmentError(f"key {kid} is enrolled for another site ({taken[0][0]})")
        con.execute(
            "UPDATE sites SET public_key = ?, key_id = ?, enrolled_at = ?, token_hash = NULL, "
            "token_expires_at = NULL WHERE site_id = ?",
            [public_key, kid, now, site_id],
        )
    return kid


def public_key(store: CollectorStore, kid: bytes) -> tuple[str, bytes] | None:
    """``(site id, raw public key)`` of an enrolled key id."""
    row = store.con.execute("SELECT site_id, public_key FROM sites WHERE key_id = ?", [kid.hex()]).fetchone()
    return None if row is None or row[1] is None else (str(row[0]), bytes(row[1]))
