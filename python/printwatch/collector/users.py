"""The console's users and their sessions, kept in the collector's store.

A user has a name, a password (hashed as the appliance's dashboard hashes its own: scrypt,
:mod:`printwatch.web.auth.passwords`), a role (:data:`~printwatch.collector.roles.ROLES`) and,
for a ``customer``, its sites (``user_sites``). A session is a random 256-bit cookie, known to
the store only by its SHA-256 (``console_sessions``, shared by every front end of one
PostgreSQL; a restart logs nobody out); it ends :data:`IDLE` after its last request,
:data:`MAX_AGE` after the login, at logout, and when its user's password is changed or the
user removed. A session's role and sites are the user's as they are now, read at each request:
a user removed or re-scoped loses its access at its next request.

Error handling: ``ValueError`` for a bad name, a password too short, an unknown role, a site
scope that does not fit the role or names an unknown site, an existing or unknown user.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from printwatch.collector.roles import STAFF, Principal, check_sites_exist, checked_role
from printwatch.collector.store import CollectorStore
from printwatch.web.auth.passwords import check_password, hash_password, password_problem
from printwatch.web.auth.sessions import token_hash

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
#: As the dashboard's sessions: eight idle hours, a week at most.
IDLE = dt.timedelta(hours=8)
MAX_AGE = dt.timedelta(days=7)
#: A session's ``seen_at`` is written at most this often (not a write per request).
SEEN_EVERY = dt.timedelta(minutes=1)


@functools.cache
def _dummy_hash() -> str:
    """Checked for an unknown user (at today's costs, made at its first use), so that a login
    takes as long whether the user exists or not."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    username: str
    role: str
    sites: tuple[str, ...]
    created_at: dt.datetime
    password_changed_at: dt.datetime


def add_user(
    store: CollectorStore,
    username: str,
    password: str,
    role: str,
    *,
    sites: Sequence[str] = (),
    now: dt.datetime,
    password_hash: str | None = None,
) -> None:
    """A new user (``password_hash``: one made already, as ``hash_password`` makes it)."""
    if not USERNAME.match(username):
        raise ValueError(f"user name {username!r}: 1 to 64 letters, digits or '_.@-'")
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    role, scope = checked_role(role, sites)
    hashed = password_hash or hash_password(password)
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise ValueError(f"user {username!r} exists already (collector user passwd to change it)")
        check_sites_exist(con, scope)
        con.execute(
            "INSERT INTO users (username, password_hash, role, created_at, password_changed_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [username, hashed, role, now, now],
        )
        for site in scope:
            con.execute("INSERT INTO user_sites (username, site_id) VALUES (?, ?)", [username, site])


def list_users(store: CollectorStore) -> list[User]:
    rows = store.con.execute(
        "SELECT username, role, created_at, password_changed_at FROM users ORDER BY username"
    ).fetchall()
    scoped: dict[str, list[str]] = {}
    for name, site in store.con.execute(
        "SELECT username, site_id FROM user_sites ORDER BY site_id"
    ).fetchall():
        scoped.setdefault(name, []).append(site)
    return [User(r[0], r[1], tuple(scoped.get(r[0], ())), r[2], r[3]) for r in rows]


def remove_user(store: CollectorStore, username: str) -> None:
    """Removes ``username``, its sites and its sessions."""
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone() is None:
            raise ValueError(f"no user {username!r} (collector user list)")
        for table in ("console_sessions", "user_sites", "users"):
            con.execute(f"DELETE FROM {table} WHERE username = ?", [username])


def set_password(
    store: CollectorStore, username: str, password: str, *, now: dt.datetime, password_hash: str | None = None
) -> None:
    """A new password for ``username`` (``password_hash``: one made already); ends every session
    of the user."""
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    hashed = password_hash or hash_password(password)
    with store.transaction() as con:
        if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone() is None:
            raise ValueError(f"no user {username!r} (collector user list)")
        con.execute(
            "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE username = ?",
            [hashed, now, username],
        )
        con.execute("DELETE FROM console_sessions WHERE username = ?", [username])


def password_hash_of(store: CollectorStore, username: str) -> str | None:
    """``username``'s stored hash, None for a user that does not exist (in the store's thread)."""
    row = store.con.execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchone()
    return None if row is None else str(row[0])


def password_matches(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (slow on purpose: scrypt; call it from a worker
    thread, not the store's). An unknown user (``stored`` None) costs a hash too, so no timing
    tells which names exist."""
    if stored is None:
        check_password(password, _dummy_hash())
        return False
    return check_password(password, stored)


def rehash(store: CollectorStore, username: str, old: str, fresh: str) -> None:
    """After a login whose hash was made with lower costs than today's (:func:`needs_rehash`):
    ``fresh`` replaces ``old``, unless the password was changed meanwhile."""
    store.con.execute(
        "UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?", [fresh, username, old]
    )


def open_session(store: CollectorStore, username: str, *, now: dt.datetime) -> tuple[str, str]:
    """A new session of ``username``: ``(cookie, csrf)``; the store keeps the cookie's hash."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with store.transaction() as con:
        con.execute(
            "DELETE FROM console_sessions WHERE seen_at < ? OR created_at < ?", [now - IDLE, now - MAX_AGE]
        )
        con.execute(
            "INSERT INTO console_sessions (session_hash, username, csrf, created_at, seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [token_hash(cookie), username, csrf, now, now],
        )
    return cookie, csrf


def session_of(store: CollectorStore, cookie: str, *, now: dt.datetime) -> tuple[Principal, str] | None:
    """The live session of ``cookie``: its user as a principal (role and sites as they are now)
    and the session's CSRF token; None for an unknown, expired or malformed one."""
    if not cookie or len(cookie) > 128:
        return None
    digest = token_hash(cookie)
    row = store.con.execute(
        "SELECT s.username, s.csrf, s.created_at, s.seen_at, u.role FROM console_sessions s "
        "JOIN users u USING (username) WHERE s.session_hash = ?",
        [digest],
    ).fetchone()
    if row is None:
        return None
    username, csrf, created_at, seen_at, role = row
    if now - seen_at > IDLE or now - created_at > MAX_AGE:
        store.con.execute("DELETE FROM console_sessions WHERE session_hash = ?", [digest])
        return None
    if now - seen_at >= SEEN_EVERY or now < seen_at:
        store.con.execute("UPDATE console_sessions SET seen_at = ? WHERE session_hash = ?", [now, digest])
    sites = None
    if role not in STAFF:
        found = store.con.execute("SELECT site_id FROM user_sites WHERE username = ?", [username])
        sites = frozenset(str(r[0]) for r in found.fetchall())
    return Principal(str(username), str(role), "user", sites), str(csrf)


def close_session(store: CollectorStore, cookie: str) -> None:
    store.con.execute("DELETE FROM console_sessions WHERE session_hash = ?", [token_hash(cookie)])
