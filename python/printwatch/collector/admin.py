"""The MSP's administration as operations on the store, the same whether the CLI runs them on
the store itself (PostgreSQL, or a DuckDB file no server holds) or through the running server's
admin API (``POST /api/admin/{op}`` with an admin token: the DuckDB file that ``collector
serve`` holds open).

Each operation takes the store, its parameters (JSON's types) and the time, and returns a JSON
object; :data:`OPERATIONS` names them:

=============== ==================================================== =========================
op              parameters                                           returns
=============== ==================================================== =========================
``site.add``    ``site_id``, ``name``, ``contact``, ``valid_days``   ``site_id``, ``token``
``site.token``  ``site_id``, ``valid_days``                          ``site_id``, ``token``
``token.add``   ``name``, ``role``, ``sites``, ``expires_days``      ``name``, ``token``
``token.list``                                                       ``tokens``
``token.revoke````token_id``                                         ``token_id``
``user.add``    ``username``, ``password``, ``role``, ``sites``      ``username``
``user.list``                                                        ``users``
``user.remove`` ``username``                                         ``username``
``user.passwd`` ``username``, ``password``                           ``username``
=============== ==================================================== =========================

(the admin API hashes a password in a worker thread first and passes ``password_hash`` beside
it, so the store's one thread never spends a scrypt on it.)

Error handling: ``ValueError`` for missing or wrong parameters and everything the store's
modules refuse (the API answers 400, the CLI exits 2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from printwatch.collector.enrolment import add_site, new_token
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import DEFAULT_EXPIRES_DAYS, create_token, list_tokens, revoke_token
from printwatch.collector.users import add_user, list_users, remove_user, set_password

Params = dict[str, Any]


def _text(params: Params, key: str, *, required: bool = True) -> str | None:
    value = params.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: a non-empty string is required")
    return value


def _sites(params: Params) -> list[str]:
    value = params.get("sites", [])
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value) or len(value) > 10_000:
        raise ValueError("sites: a list of site ids")
    return value


def _days(params: Params) -> float:
    value = params.get("valid_days", 14.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 365:
        raise ValueError("valid_days: a number of days from 0 to 365")
    return float(value)


def _stamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def site_add(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    site = str(_text(p, "site_id"))
    token = add_site(
        store,
        site,
        now=now,
        name=_text(p, "name", required=False),
        contact=_text(p, "contact", required=False),
        valid_days=_days(p),
    )
    return {"site_id": site, "token": token}


def site_token(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    site = str(_text(p, "site_id"))
    return {"site_id": site, "token": new_token(store, site, now=now, valid_days=_days(p))}


def site_revoke_token(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    """The site's unused enrolment token no longer enrols anything (its enrolled key stays)."""
    site = str(_text(p, "site_id"))
    with store.transaction() as con:
        row = con.execute(
            "UPDATE sites SET token_hash = NULL, token_expires_at = NULL WHERE site_id = ? RETURNING site_id",
            [site],
        ).fetchone()
    if row is None:
        raise ValueError(f"no site {site!r}")
    return {"site_id": site}


def token_add(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    name = str(_text(p, "name"))
    role = str(_text(p, "role", required=False) or "viewer")
    days = p.get("expires_days", DEFAULT_EXPIRES_DAYS)
    if isinstance(days, str):  # a form's field
        try:
            days = float(days) if days.strip() else DEFAULT_EXPIRES_DAYS
        except ValueError:
            raise ValueError(f"expires_days: a number of days, not {days[:20]!r}") from None
    if isinstance(days, bool) or not isinstance(days, int | float):
        raise ValueError("expires_days: a number of days")
    secret = create_token(store, name, role, sites=_sites(p), now=now, expires_days=days)
    return {"name": name, "token": secret, "expires_at": _stamp(now + dt.timedelta(days=float(days)))}


def token_list(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    return {
        "tokens": [
            {
                "token_id": t.token_id,
                "name": t.name,
                "role": t.role,
                "sites": list(t.sites),
                "created_at": _stamp(t.created_at),
                "revoked_at": _stamp(t.revoked_at),
                "last_used_at": _stamp(t.last_used_at),
                "expires_at": _stamp(t.expires_at),
                "expired": t.expires_at is not None and now >= t.expires_at,
            }
            for t in list_tokens(store)
        ]
    }


def token_revoke(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    token_id = str(_text(p, "token_id"))
    revoke_token(store, token_id, now=now)
    return {"token_id": token_id}


def user_add(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    username = str(_text(p, "username"))
    add_user(
        store,
        username,
        str(_text(p, "password")),
        str(_text(p, "role")),
        sites=_sites(p),
        now=now,
        password_hash=_text(p, "password_hash", required=False),
    )
    return {"username": username}


def user_list(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    return {
        "users": [
            {
                "username": u.username,
                "role": u.role,
                "sites": list(u.sites),
                "created_at": _stamp(u.created_at),
                "password_changed_at": _stamp(u.password_changed_at),
            }
            for u in list_users(store)
        ]
    }


def user_remove(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    username = str(_text(p, "username"))
    remove_user(store, username)
    return {"username": username}


def user_passwd(store: CollectorStore, p: Params, now: dt.datetime) -> Params:
    username = str(_text(p, "username"))
    set_password(
        store,
        username,
        str(_text(p, "password")),
        now=now,
        password_hash=_text(p, "password_hash", required=False),
    )
    return {"username": username}


OPERATIONS: dict[str, Callable[[CollectorStore, Params, dt.datetime], Params]] = {
    "site.add": site_add,
    "site.token": site_token,
    "site.revoke_token": site_revoke_token,
    "token.add": token_add,
    "token.list": token_list,
    "token.revoke": token_revoke,
    "user.add": user_add,
    "user.list": user_list,
    "user.remove": user_remove,
    "user.passwd": user_passwd,
}
#: The operations whose ``password`` the admin API hashes before the store's thread runs them.
HASHED = ("user.add", "user.passwd")


def run(store: CollectorStore, op: str, params: Params, *, now: dt.datetime) -> Params:
    """Operation ``op`` with ``params`` (see the module's docstring)."""
    if op not in OPERATIONS:
        raise ValueError(f"no operation {op!r} (one of {', '.join(OPERATIONS)})")
    return OPERATIONS[op](store, params, now)
