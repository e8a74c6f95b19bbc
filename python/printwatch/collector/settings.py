"""A site's settings, set by the MSP's support and pushed to its appliance through sync.

What a site's settings hold (every key optional; :func:`check` is the one validation):

* ``upload_times`` — 1 to 4 times of day (UTC, ``HH:MM`` or ``HH:MM:SS``) the appliance uploads
  at. Without them the collector **assigns** ``uploads_per_day`` (1 to 4, default 1) slots,
  spread evenly over the day from an offset that a hash of the site's id picks (to the second):
  10,000 sites arrive spread over the day, not in the same minute, and a site keeps its slots
  from one sync to the next (:func:`assigned_slots`);
* ``services`` — ``aggregates``, ``billing``, ``reorders``, ``assist``: on (default) or off;
* ``budget_bytes_per_day`` — the appliance's byte budget (4 KiB to 64 MiB);
* ``thresholds`` — ``reorder_percent`` (0 to 100) and ``lead_time_days`` (0 to 365) of the
  appliance's reorder triggers;
* ``billing_cycle`` (monthly, quarterly, semiannual) and ``billing_day`` (1 to 28): kept in the
  site's own columns, which the billing views and the due reads use;
* ``quota_bytes_per_day`` — the collector's own limit on the site's uploads (not sent).

Every change makes a new ``settings_version`` (kept in ``settings_changes`` with who made it and
when); the sync answer carries the version (``sv``), and the appliance's next sync message
reports what it applied, what its own configuration kept (locked keys) and what it refused
(:func:`applied`).

Error handling: :class:`SettingsError` (a ``ValueError``) names the key and what is wrong; nothing
is written then. An unknown site raises ``LookupError``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

from printwatch.collector.storage import Connection
from printwatch.collector.store import CollectorStore

SERVICES = ("aggregates", "billing", "reorders", "assist")
CYCLES = ("monthly", "quarterly", "semiannual")
MIN_BUDGET, MAX_BUDGET = 4096, 64 * 1024 * 1024
THRESHOLDS = {"reorder_percent": (0.0, 100.0), "lead_time_days": (0.0, 365.0)}
KEYS = (
    "upload_times", "uploads_per_day", "services", "budget_bytes_per_day", "thresholds",
    "billing_cycle", "billing_day", "quota_bytes_per_day",
)  # fmt: skip
#: Keys the collector keeps for itself (never sent to the appliance).
COLLECTOR_ONLY = ("quota_bytes_per_day", "uploads_per_day")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


class SettingsError(ValueError):
    """A setting that cannot be stored: the message names the key."""


class NotYours(SettingsError):
    """A change of a key that the role changing it may not change (:data:`KEY_ROLES`)."""


#: The role a key's change needs where it is not ``support``'s (``admin`` changes every key): the
#: billing schedule moves the cycles' labels (billing's), the quota is the collector's own limit.
KEY_ROLES = {"billing_cycle": "billing", "billing_day": "billing", "quota_bytes_per_day": "admin"}
#: What a customer is not shown of its own sites' settings (nor the history, with staff names).
STAFF_ONLY = ("quota_bytes_per_day",)


def parse_time(text: object) -> dt.time:
    """``HH:MM`` or ``HH:MM:SS`` (24 hours) as a time of day, else ``ValueError``."""
    match = _TIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{str(text)[:20]!r} is not a time of day (HH:MM or HH:MM:SS)")
    return dt.time(int(match[1]), int(match[2]), int(match[3] or 0))


def _int(value: object, key: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(f"{key}: {str(value)[:40]!r} is not an integer from {low} to {high}")
    return value


def _times(value: object) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise SettingsError("upload_times: a list of 1 to 4 times of day")
    try:
        times = sorted({parse_time(t) for t in value})
    except ValueError as err:
        raise SettingsError(f"upload_times: {err}") from None
    if len(times) != len(value):
        raise SettingsError("upload_times: the same time is given twice")
    return [t.isoformat() for t in times]


def _services(value: object) -> dict[str, bool]:
    if not isinstance(value, dict) or set(value) - set(SERVICES):
        raise SettingsError(f"services: an object of {', '.join(SERVICES)}")
    if any(not isinstance(v, bool) for v in value.values()):
        raise SettingsError("services: each one true or false")
    return dict(value)


def _thresholds(value: object) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) - set(THRESHOLDS):
        raise SettingsError(f"thresholds: an object of {', '.join(THRESHOLDS)}")
    for name, number in value.items():
        low, high = THRESHOLDS[name]
        # The range first: math.isfinite() of an integer of 400 digits overflows (a 500).
        ok = isinstance(number, int | float) and not isinstance(number, bool) and low <= number <= high
        if not ok or not math.isfinite(number):
            raise SettingsError(f"thresholds.{name}: {str(number)[:40]!r} is not from {low:g} to {high:g}")
    return {k: float(v) for k, v in value.items()}


def _cycle(value: object) -> str:
    if value not in CYCLES:
        raise SettingsError(f"billing_cycle: {str(value)[:40]!r} (one of {', '.join(CYCLES)})")
    return str(value)


_CHECKS: dict[str, Callable[[object], Any]] = {
    "upload_times": _times,
    "uploads_per_day": lambda v: _int(v, "uploads_per_day", 1, 4),
    "services": _services,
    "budget_bytes_per_day": lambda v: _int(v, "budget_bytes_per_day", MIN_BUDGET, MAX_BUDGET),
    "quota_bytes_per_day": lambda v: _int(v, "quota_bytes_per_day", MIN_BUDGET, 1 << 40),
    "thresholds": _thresholds,
    "billing_cycle": _cycle,
    "billing_day": lambda v: _int(v, "billing_day", 1, 28),
}


def check(settings: object) -> dict[str, Any]:
    """``settings`` checked and normalised (times as ``HH:MM:SS``, sorted), else
    :class:`SettingsError`. ``None`` for a key means "back to the default" (the key goes)."""
    if not isinstance(settings, dict):
        raise SettingsError("settings must be a JSON object")
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in _CHECKS:
            raise SettingsError(f"{str(key)[:40]!r} is not a setting (one of {', '.join(KEYS)})")
        if value is not None:
            out[key] = _CHECKS[key](value)
    return out


def assigned_slots(site: str, per_day: int = 1) -> list[str]:
    """``per_day`` upload times (UTC, ``HH:MM:SS``) for ``site``: evenly spaced over the day from
    an offset in the first gap that the site id's hash picks, to the second."""
    gap = 86400 // per_day
    digest = hashlib.blake2b(site.encode(), digest_size=8, person=b"pw-slots").digest()
    offset = int.from_bytes(digest, "big") % gap
    out = []
    for k in range(per_day):
        s = offset + k * gap
        out.append(dt.time(s // 3600, s // 60 % 60, s % 60).isoformat())
    return sorted(out)


def _row(con: Connection, site: str) -> tuple[dict[str, Any], int, str, int]:
    row = con.execute(
        "SELECT settings, settings_version, billing_cycle, billing_day FROM sites WHERE site_id = ?", [site]
    ).fetchone()
    if row is None:
        raise LookupError(f"no site {site!r}")
    stored = json.loads(row[0]) if row[0] else {}
    return (stored if isinstance(stored, dict) else {}), int(row[1]), str(row[2]), int(row[3])


def upload_times(site: str, stored: dict[str, Any]) -> tuple[list[str], bool]:
    """The site's upload times (UTC) and whether the collector assigned them."""
    times = stored.get("upload_times")
    if isinstance(times, list) and times:
        return [str(t) for t in times], False
    per_day = stored.get("uploads_per_day")
    return assigned_slots(site, per_day if isinstance(per_day, int) and 1 <= per_day <= 4 else 1), True


def services(stored: dict[str, Any]) -> dict[str, bool]:
    """Every service, on unless the settings turn it off (``snapshots``: ``assist``'s name for
    appliances older than the name)."""
    given = stored.get("services")
    given = given if isinstance(given, dict) else {}
    out = {
        name: bool(given.get(name, given.get("snapshots", True) if name == "assist" else True))
        for name in SERVICES
    }
    out["snapshots"] = out["assist"]
    return out


def for_sync(site: str, stored: dict[str, Any]) -> dict[str, Any]:
    """The ``settings`` part of a sync answer."""
    sent = {k: v for k, v in stored.items() if k not in (*COLLECTOR_ONLY, "services")}
    times, assigned = upload_times(site, stored)
    sent["upload_times"] = times
    sent["upload_times_assigned"] = assigned
    sent["upload_timezone"] = "UTC"
    return sent


def get(con: Connection, site: str) -> dict[str, Any]:
    """A site's settings as the console shows them: stored, effective upload times, version,
    and what the appliance last reported applying."""
    stored, version, cycle, day = _row(con, site)
    times, assigned = upload_times(site, stored)
    return {
        "site": site,
        "version": version,
        "settings": {**stored, "billing_cycle": cycle, "billing_day": day},
        "services": {k: v for k, v in services(stored).items() if k != "snapshots"},
        "upload_times": times,
        "upload_times_assigned": assigned,
        "applied": applied(con, site),
    }


def put(
    store: CollectorStore,
    site: str,
    changes: dict[str, Any],
    *,
    by: str,
    now: dt.datetime,
    role: str = "admin",
) -> int:
    """Merge ``changes`` (checked by :func:`check`; ``None`` removes a key) into ``site``'s
    settings as a new version, recorded with ``by`` and ``now``; returns the version.
    :class:`NotYours` when ``role`` may not change a key whose value the changes alter (a form
    that sends every key unchanged is fine)."""
    checked = check(changes)
    removed = [k for k, v in changes.items() if v is None]
    with store.transaction() as con:
        rows = con.execute("SELECT site_id FROM sites WHERE site_id = ?" + store.row_lock, [site]).fetchall()
        if not rows:
            raise LookupError(f"no site {site!r}")
        stored, version, cycle, day = _row(con, site)
        _check_roles(role, {**stored, "billing_cycle": cycle, "billing_day": day}, checked, removed)
        merged = {k: v for k, v in {**stored, **checked}.items() if k not in removed}
        if "services" in checked:
            merged["services"] = {**(stored.get("services") or {}), **checked["services"]}
        if "thresholds" in checked:
            merged["thresholds"] = {**(stored.get("thresholds") or {}), **checked["thresholds"]}
        cycle = merged.pop("billing_cycle", cycle if "billing_cycle" not in removed else "monthly")
        day = merged.pop("billing_day", day if "billing_day" not in removed else 1)
        version += 1
        text = json.dumps(merged, sort_keys=True)
        con.execute(
            "UPDATE sites SET settings = ?, settings_version = ?, billing_cycle = ?, billing_day = ? "
            "WHERE site_id = ?",
            [text, version, cycle, day, site],
        )
        recorded = json.dumps({**merged, "billing_cycle": cycle, "billing_day": day}, sort_keys=True)
        con.execute(
            "INSERT INTO settings_changes VALUES (?, ?, ?, ?, ?)", [site, version, recorded, now, by[:80]]
        )
    return version


def _check_roles(role: str, current: dict[str, Any], checked: dict[str, Any], removed: list[str]) -> None:
    if role == "admin":
        return
    altered = [k for k, v in checked.items() if current.get(k) != v] + [k for k in removed if k in current]
    for key in altered:
        needed = KEY_ROLES.get(key, "support")
        if role != needed:
            raise NotYours(f"the {role} role may not change {key} (it needs {needed})")


def for_customer(found: dict[str, Any]) -> dict[str, Any]:
    """:func:`get`'s answer as a customer sees it: without :data:`STAFF_ONLY` keys."""
    shown = {k: v for k, v in found["settings"].items() if k not in STAFF_ONLY}
    return {**found, "settings": shown}


def history(con: Connection, site: str, limit: int = 50) -> list[dict[str, Any]]:
    """The site's settings versions, newest first: who set each and when."""
    rows = con.execute(
        "SELECT version, settings, changed_at, changed_by FROM settings_changes WHERE site_id = ? "
        "ORDER BY version DESC LIMIT ?",
        [site, limit],
    ).fetchall()
    return [
        {"version": int(v), "settings": json.loads(s), "changed_at": at.isoformat(), "changed_by": by}
        for v, s, at, by in rows
    ]


#: The most keys of an appliance's report kept for the page (it sends a few).
MAX_REPORTED = 32


def applied(con: Connection, site: str) -> dict[str, Any] | None:
    """What the site's appliance reported in its latest sync message that carried a report:
    ``{"sv", "applied", "locked", "refused", "seq", "received_at"}``, or ``None``."""
    rows = con.execute(
        "SELECT seq, received_at, payload FROM messages WHERE site_id = ? AND kind = 'sync' "
        "ORDER BY seq DESC LIMIT 20",
        [site],
    ).fetchall()
    for seq, received_at, payload in rows:
        data = (json.loads(payload) if isinstance(payload, str) else payload).get("data")
        if isinstance(data, dict) and isinstance(data.get("applied"), dict):
            # The appliance's words, shown on a page: of the shapes the page expects, bounded.
            locked, refused, sv = data.get("locked"), data.get("refused"), data.get("sv")
            return {
                "sv": sv if type(sv) is int else None,
                "applied": dict(list(data["applied"].items())[:MAX_REPORTED]),
                "locked": [str(k)[:64] for k in locked[:MAX_REPORTED]] if isinstance(locked, list) else [],
                "refused": (
                    {str(k)[:64]: str(v)[:200] for k, v in list(refused.items())[:MAX_REPORTED]}
                    if isinstance(refused, dict)
                    else {}
                ),
                "seq": int(seq),
                "received_at": received_at.isoformat(),
            }
    return None
