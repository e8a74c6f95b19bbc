"""What the appliance sends, and how each message avoids repeating itself.

Every message is ``{"site", "seq", "kind", "at", "data"}`` (``at``: UNIX seconds, UTC). Kinds:

* ``register`` — the appliance and the devices it reports, each given a small number ``n``
  that every later message uses instead of its identity; a device's supplies are listed once
  here (index, type, colour, description) so that later messages carry only their percents.
  Sent before the first message that names a new device, and again when a device's
  registration changes (a new model string, another supply layout).
* ``aggregate`` — a part of the day (1 to 4 a day): columns over devices, not objects per
  device: ``n`` (device numbers), ``up`` (polls answered of ``polls``), ``st`` (the latest
  device status, one letter), ``m`` (per meter, the pages since the meter value last sent:
  small numbers, exact because delivery is exactly once and in order), ``s`` (supply percents
  in registered order). Thinned by the byte budget (:data:`THIN_LEVELS`).
* ``billing`` — a billing cycle's meter reads, absolute values: ``{"cycle", "r": [[n, {meter:
  value}, [[counter name, OID, value], ...]], ...]}``: the normalised meters, then every counter
  the printer names (the poll document's ``counters``, at most :data:`MAX_COUNTERS` of at most
  :data:`MAX_COUNTER_NAME` characters: what the collector accepts). Never thinned.
  ``cycle`` is the cycle's **label** (:func:`cycle_label`): the
  calendar date of its billing day, which both sides compute from a calendar date and the
  schedule, never by comparing one side's clock with the other's.
* ``reorder`` — supplies that crossed their reorder point or whose forecast runs out inside the
  lead time, one message per poll cycle: ``{"t": [[n, supply index, percent, why, days to
  empty], ...]}``. Never thinned.
* ``snapshot`` — a call for assistance: the device's poll document, less the wire details.
* ``sync`` — "what is due?": ``{"sv": the settings version the appliance has}``.

Minimal data: serials, meters, supply levels, status and times; never job or user names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

KINDS = ("register", "aggregate", "billing", "reorder", "snapshot", "sync")

#: Aggregate thinning, mildest first: what each level leaves out.
THIN_LEVELS = (
    "nothing",
    "poll counts and status",
    "poll counts, status and supply levels",
    "all but the meters of devices that printed",
    "the whole aggregate",
)

STATUS_LETTERS = {"running": "r", "warning": "w", "testing": "t", "down": "d", "unknown": "u"}

#: Poll-document keys a snapshot leaves out (wire details, not the printer's state).
SNAPSHOT_DROP = ("wire", "failures", "meter_evidence")


def device_identity(doc: dict[str, Any]) -> str:
    """How the uplink names a device across addresses: its serial, else MAC, else target."""
    serial = doc.get("serial")
    if isinstance(serial, str) and serial.strip():
        return "serial:" + serial.strip()
    mac = doc.get("mac")
    if isinstance(mac, str) and mac:
        return "mac:" + mac
    return "target:" + str(doc["target"])


def supply_layout(doc: dict[str, Any]) -> list[list[Any]]:
    """``[[index, type, color, description], ...]`` of a document's supplies."""
    return [
        [s.get("index"), s.get("type"), s.get("color"), s.get("description")]
        for s in doc.get("supplies") or ()
    ]


def device_info(doc: dict[str, Any]) -> dict[str, Any]:
    """A device's registration entry (without its number)."""
    info: dict[str, Any] = {
        "serial": doc.get("serial"),
        "vendor": doc.get("vendor"),
        "model": doc.get("model"),
        "mac": doc.get("mac"),
        "name": (doc.get("sys") or {}).get("name"),
        "address": doc.get("target"),
        "supplies": supply_layout(doc),
    }
    return {k: v for k, v in info.items() if v not in (None, [])}


@dataclass
class DeviceDay:
    """What a part of the day saw of one device (kept by the uplink from each poll)."""

    polls: int = 0
    answered: int = 0
    status: str | None = None
    meters: dict[str, int] = field(default_factory=dict)
    supplies: list[int | None] = field(default_factory=list)

    def observe(self, doc: dict[str, Any]) -> None:
        self.polls += 1
        if not doc.get("reachable"):
            return
        self.answered += 1
        status = (doc.get("status") or {}).get("device")
        if isinstance(status, str):
            self.status = status
        meters = doc.get("meters") or {}
        self.meters.update({k: v for k, v in meters.items() if isinstance(v, int)})
        if doc.get("supplies"):
            self.supplies = [_percent(s.get("percent")) for s in doc["supplies"]]


def _percent(value: object) -> int | None:
    return round(value) if isinstance(value, int | float) else None


def aggregate_data(
    day: dt.date,
    polls: int,
    devices: dict[int, DeviceDay],
    sent_meters: dict[int, dict[str, int]],
    level: int = 0,
) -> tuple[dict[str, Any] | None, dict[int, dict[str, int]]]:
    """An aggregate's ``data`` at thinning ``level`` and the meter values it sends (the next
    deltas' bases), or ``None`` at the last level. ``sent_meters[n]`` is what the collector
    already has of device ``n``'s meters (a delta's base; absent: the whole value is sent)."""
    if level >= len(THIN_LEVELS) - 1:
        return None, {}
    numbers = sorted(devices)
    if level >= 3:
        numbers = [n for n in numbers if _moved(devices[n].meters, sent_meters.get(n, {}))]
    data: dict[str, Any] = {"day": day.isoformat(), "polls": polls, "n": numbers}
    if level < 1:
        data["up"] = [devices[n].answered for n in numbers]
        data["st"] = "".join(STATUS_LETTERS.get(devices[n].status or "unknown", "u") for n in numbers)
    names = sorted({m for n in numbers for m in devices[n].meters})
    columns: dict[str, list[int | None]] = {}
    new_bases: dict[int, dict[str, int]] = {}
    for name in names:
        column: list[int | None] = []
        for n in numbers:
            value = devices[n].meters.get(name)
            if value is None:
                column.append(None)
                continue
            column.append(value - sent_meters.get(n, {}).get(name, 0))
            new_bases.setdefault(n, {})[name] = value
        columns[name] = column
    data["m"] = columns
    if level < 2:
        data["s"] = [devices[n].supplies for n in numbers]
    return data, new_bases


def _moved(meters: dict[str, int], sent: dict[str, int]) -> bool:
    return any(sent.get(name) != value for name, value in meters.items())


BILLING_CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6}


def cycle_label(kind: str, day: int, date: dt.date) -> str:
    """The label of the billing cycle that the calendar ``date`` is in: ``YYYY-MM-DD`` of its
    billing ``day`` (1-28) in the cycle's first month (``kind``: monthly, quarterly from
    January, April, July and October, semiannual from January and July).

    The appliance labels its read with its own local calendar date of the billing day; the
    collector labels the cycle it asks for with its UTC date. Both name the same cycle whatever
    either clock says, and one read per device and label is what "once per cycle" means.

    Error handling: ``ValueError`` for an unknown ``kind`` or a ``day`` outside 1-28.
    """
    if kind not in BILLING_CYCLE_MONTHS:
        raise ValueError(f"billing cycle {kind!r}: one of {', '.join(BILLING_CYCLE_MONTHS)}")
    if not 1 <= day <= 28:
        raise ValueError(f"billing day {day}: 1 to 28")
    months = BILLING_CYCLE_MONTHS[kind]
    index = date.year * 12 + date.month - 1 - (1 if date.day < day else 0)
    index -= index % months
    return dt.date(index // 12, index % 12 + 1, day).isoformat()


#: Bounds of a billing read's named counters (the collector refuses more, or longer names).
MAX_COUNTERS = 256
MAX_COUNTER_NAME = 128

Counter = tuple[str, str, int]


def billing_read(doc: dict[str, Any]) -> tuple[dict[str, int], list[Counter]]:
    """A device's billing read from its poll document: its normalised meters and its named
    counters ``(name, OID, value)``, within the bounds the collector accepts (a longer name is
    cut, counters beyond :data:`MAX_COUNTERS` left out: a printer cannot get its read refused)."""
    meters = {k: v for k, v in (doc.get("meters") or {}).items() if isinstance(v, int)}
    counters: list[Counter] = []
    for c in doc.get("counters") or ():
        name, oid, value = c.get("name"), c.get("oid"), c.get("value")
        if isinstance(name, str) and isinstance(oid, str) and isinstance(value, int) and value >= 0:
            counters.append((name[:MAX_COUNTER_NAME], oid, value))
    return meters, counters[:MAX_COUNTERS]


def billing_data(
    cycle: str, reads: list[tuple[int, dict[str, int]]] | list[tuple[int, dict[str, int], list[Counter]]]
) -> dict[str, Any]:
    """A ``billing`` message's data: per device its meters and, where it has them, its counters."""
    rows: list[list[Any]] = []
    for n, meters, *rest in reads:
        row: list[Any] = [n, dict(sorted(meters.items()))]
        if rest and rest[0]:
            row.append([list(c) for c in rest[0]])
        rows.append(row)
    return {"cycle": cycle, "r": rows}


def reorder_data(triggers: list[tuple[int, int, float | None, str, float | None]]) -> dict[str, Any]:
    """One cycle's triggers, ``(n, supply index, percent, why, days to empty)`` each, as rows
    ``[n, i, p, why, dte]`` of one message."""
    return {
        "t": [
            [n, i, None if p is None else round(p, 1), why, None if d is None else round(d, 1)]
            for n, i, p, why, d in triggers
        ]
    }


def snapshot_data(n: int, doc: dict[str, Any]) -> dict[str, Any]:
    return {"n": n, "doc": {k: v for k, v in doc.items() if k not in SNAPSHOT_DROP}}


def reorder_reason(
    before: float | None,
    now: float | None,
    *,
    reorder_percent: float,
    days_to_empty: float | None,
    lead_time_days: float,
) -> str | None:
    """Why a supply should be reordered now: ``reorder_point`` when its percent crossed
    ``reorder_percent`` since ``before`` (or is below it the first time it is seen),
    ``lead_time`` when its forecast runs out inside the lead time; else ``None``."""
    if now is not None and now <= reorder_percent and (before is None or before > reorder_percent):
        return "reorder_point"
    if days_to_empty is not None and days_to_empty <= lead_time_days:
        return "lead_time"
    return None
