"""What the collector does with an upload: open the envelope, check the message, write it once.

In order: the envelope's key must be enrolled and its signature verify (before anything is
inflated); the payload must decode (at most ``MAX_PAYLOAD_BYTES``) and name the key's own site;
its sequence number must be the next one of that site: a lower one is a duplicate or a
replay (409 with ``expected``, nothing stored — the appliance takes it as acknowledged), a
higher one a gap (409 with ``expected``, nothing stored — the appliance sends in order, so this
is a message it has not delivered yet). Then the whole message is checked before anything is
written, and written in one transaction with the site's ``last_seq``.

Error handling: :class:`Rejected` carries the HTTP status and the reason; the store is
untouched whenever it is raised.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from printwatch.collector.enrolment import public_key
from printwatch.collector.storage import Connection
from printwatch.collector.store import CollectorStore
from printwatch.collector.sync import sync_for
from printwatch.uplink.codec import MAX_PAYLOAD_BYTES, CodecError, decode_payload
from printwatch.uplink.messages import KINDS, MAX_COUNTER_NAME, MAX_COUNTERS, STATUS_LETTERS
from printwatch.uplink.signing import SignatureError, envelope_key_id, open_envelope

STATUS_OF_LETTER = {v: k for k, v in STATUS_LETTERS.items()}


class Rejected(Exception):
    """An upload refused with ``status`` (4xx) and ``reason``; ``expected`` for 409s."""

    def __init__(self, status: int, reason: str, expected: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.expected = expected


@dataclass(frozen=True)
class Accepted:
    site_id: str
    seq: int
    kind: str
    sync: dict[str, Any] | None


def _ts(at: object) -> dt.datetime:
    if not isinstance(at, int) or isinstance(at, bool) or not 0 <= at < 1 << 34:
        raise Rejected(400, f"'at' {at!r} is not a UNIX time in seconds")
    return dt.datetime.fromtimestamp(at, dt.UTC).replace(tzinfo=None)


def _int(value: object, what: str, low: int = -(1 << 63), high: int = (1 << 63) - 1) -> int:
    """``value`` as an integer in ``[low, high]`` (64 bits by default), else a 400."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(400, f"{what}: {str(value)[:40]!r} is not an integer")
    if not low <= value <= high:
        raise Rejected(400, f"{what}: {str(value)[:40]} is outside {low}..{high}")
    return value


def _small(value: object, what: str) -> int:
    """A count, index or number that the store keeps in 32 bits (non-negative)."""
    return _int(value, what, 0, INT32)


#: Bounds of one message's data (a site's quota counts bytes; these bound the work and rows one
#: small but well-compressed message can cause): devices in a registration, meters per device.
MAX_DEVICES = 100_000
MAX_METERS = 256
INT32 = (1 << 31) - 1


@dataclass(frozen=True)
class Opened:
    """A message whose signature verified, decoded and checked for form (no store needed)."""

    site_id: str
    key: str
    seq: int
    kind: str
    at: dt.datetime
    data: dict[str, Any]
    message: dict[str, Any]
    size: int


def open_message(envelope: bytes, site_id: str, raw_key: bytes) -> Opened:
    """Verify ``envelope`` with the key enrolled for ``site_id`` and decode it: pure CPU, run
    outside the store's thread. Error handling: :class:`Rejected` (400 or 403)."""
    try:
        kid, payload = open_envelope(envelope, lambda _kid: raw_key)
    except SignatureError as err:
        raise Rejected(400, str(err)) from None
    try:
        message = decode_payload(payload, max_bytes=MAX_PAYLOAD_BYTES)
    except CodecError as err:
        raise Rejected(400, str(err)) from None
    if message.get("site") != site_id:
        raise Rejected(
            403, f"message names site {message.get('site')!r}, its key is enrolled for {site_id!r}"
        )
    seq = _int(message.get("seq"), "seq")
    if seq < 1:
        raise Rejected(400, f"seq {seq}: messages are numbered from 1")
    kind = message.get("kind")
    if kind not in KINDS:
        raise Rejected(400, f"unknown message kind {str(kind)[:40]!r}")
    at = _ts(message.get("at"))
    data = message.get("data")
    if not isinstance(data, dict):
        raise Rejected(400, "'data' is not an object")
    return Opened(site_id, kid.hex(), seq, str(kind), at, data, message, len(envelope))


def receive(store: CollectorStore, envelope: bytes, *, now: dt.datetime) -> Accepted:
    """Verify, check and write one upload (see the module's docstring): :func:`open_message`
    and :func:`store_message` in one call (the server runs them apart)."""
    try:
        kid = envelope_key_id(envelope)
    except SignatureError as err:
        raise Rejected(400, str(err)) from None
    found = public_key(store, kid)
    if found is None:
        raise Rejected(401, f"unknown key {kid.hex()}")
    return store_message(store, open_message(envelope, *found), now=now)


def store_message(store: CollectorStore, opened: Opened, *, now: dt.datetime) -> Accepted:
    """Write an opened message once, in order, in one transaction (the store's thread)."""
    site_id, seq, kind = opened.site_id, opened.seq, opened.kind
    with store.transaction() as con:
        # fetchall: a result left open would refuse the Arrow inserts that follow (duckdb 2). On
        # PostgreSQL the site's row stays locked until the commit: one front end at a time.
        rows = con.execute(
            "SELECT last_seq, key_id, devices_tag FROM sites WHERE site_id = ?" + store.row_lock, [site_id]
        ).fetchall()
        last = int(rows[0][0]) if rows else 0
        if not rows or rows[0][1] != opened.key:
            raise Rejected(401, f"key {opened.key} is no longer enrolled for site {site_id}")
        if seq <= last:
            raise Rejected(
                409, f"duplicate or replayed message {seq} (site {site_id} has up to {last})", last + 1
            )
        if seq > last + 1:
            raise Rejected(409, f"message {seq} out of order (site {site_id} expects {last + 1})", last + 1)
        writer = Writer(store, con, site_id, seq, opened.key, int(rows[0][2] or 0))
        try:
            _write(writer, opened.key, kind, opened.at, opened.data)
        except (
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            AttributeError,
            RecursionError,
            OverflowError,
        ) as err:
            raise Rejected(400, f"message {seq} ({kind}): malformed data: {err!r}"[:500]) from None
        except store.data_errors as err:
            raise Rejected(400, f"message {seq} ({kind}): a value out of range: {err}"[:500]) from None
        con.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
            [site_id, seq, kind, opened.at, now, opened.size, json.dumps(opened.message)],
        )
        con.execute(
            "UPDATE sites SET last_seq = ?, last_seen = ?, devices_tag = ? WHERE site_id = ?",
            [seq, now, writer.tag, site_id],
        )
        sync = sync_for(con, site_id, now, opened.key) if kind in ("sync", "register") else None
    return Accepted(site_id, seq, kind, sync)


@dataclass
class Writer:
    """Where one message's rows go: the store (its bulk insert), the transaction's connection,
    the site, the message's sequence number, the key it was signed with, and the site's
    ``devices_tag`` (read under the site's lock; a registration gives it a new one)."""

    store: CollectorStore
    con: Connection
    site: str
    seq: int
    key: str
    tag: int

    def bulk(
        self, table: str, columns: list[str], rows: list[tuple[Any, ...]], *, replace: bool = False
    ) -> None:
        """Insert ``rows`` in one statement: a message of 10,000 printers is one insert per
        table, not one per value."""
        self.store.bulk(self.con, table, columns, rows, replace=replace)


Known = dict[int, tuple[int, list[Any]]]
DEVICE_COLUMNS = [
    "site_id", "n", "serial", "vendor", "model", "mac", "name", "address", "supplies", "registered_at",
]  # fmt: skip


#: Sites whose device numbers a front end keeps (:func:`_registered`): about 40 kB each for 200
#: printers, so 512 sites are 20 MB; a site's messages of an upload turn come together.
REGISTRY_CACHE_SITES = 512
_registries: weakref.WeakKeyDictionary[CollectorStore, OrderedDict[tuple[str, str], tuple[int, Known]]] = (
    weakref.WeakKeyDictionary()
)


def _cache(store: CollectorStore) -> OrderedDict[tuple[str, str], tuple[int, Known]]:
    cache = _registries.get(store)
    if cache is None:
        cache = _registries[store] = OrderedDict()
    return cache


def _registered(w: Writer) -> Known:
    """The numbers the appliance with ``w.key`` uses for its devices: ``{its n: (the collector's
    n, the supply layout)}``.

    Kept by this process per site and key, with the site's ``devices_tag`` they were read
    under: the tag is read with the site's row, locked, in the message's own transaction, and
    every registration (by any front end) sets a new random one, so a kept entry is used only
    while the store's numbers are still the ones it was made from; else (a registration
    elsewhere, a restore, an entry pushed out) they are read again. An entry is found by the
    site and key of the message being stored (the site its key is enrolled for, checked
    before): a site never sees another's numbers. Tag 0 (no registration since migration 13)
    is never kept."""
    cache = _cache(w.store)
    entry = cache.get((w.site, w.key))
    if entry is not None and entry[0] == w.tag != 0:
        cache.move_to_end((w.site, w.key))
        return entry[1]
    rows = w.con.execute(
        "SELECT k.wire_n, d.n, d.supplies FROM device_keys k JOIN devices d ON d.site_id = k.site_id "
        "AND d.n = k.n WHERE k.site_id = ? AND k.key_id = ?",
        [w.site, w.key],
    ).fetchall()
    known = {int(wire): (int(n), json.loads(sup) if sup else []) for wire, n, sup in rows}
    _keep(w, known)
    return known


def _keep(w: Writer, known: Known) -> None:
    """``known`` kept as the site's numbers under ``w.tag`` (:func:`_registered`). Kept before
    the transaction commits: if it does not, the store keeps its old tag, which this entry
    does not match."""
    cache = _cache(w.store)
    cache.pop((w.site, w.key), None)
    if w.tag == 0:
        return
    cache[(w.site, w.key)] = (w.tag, known)
    while len(cache) > REGISTRY_CACHE_SITES:
        cache.popitem(last=False)


def _known(known: Known, n: object) -> int:
    """The collector's number of the appliance's device ``n``."""
    number = _small(n, "device n")
    if number not in known:
        raise ValueError(f"device {number} is not registered")
    return known[number][0]


def _register(w: Writer, site: str, key: str, at: dt.datetime, data: dict[str, Any]) -> None:
    """Devices of the appliance with ``key``, numbered by the collector on first sight; with
    ``bases`` (a stream restarted: a new key, a collector restored from a backup), the meter
    values the appliance's next deltas start from replace what the collector had."""
    known = _registered(w)
    top = w.con.execute("SELECT coalesce(max(n), 0) FROM device_keys WHERE site_id = ?", [site]).fetchall()
    next_n = int(top[0][0])
    numbers: dict[int, int] = {wire: n for wire, (n, _) in known.items()}
    layouts: dict[int, str] = {}
    rows = []
    new_keys: list[tuple[Any, ...]] = []
    devices = data["devices"]
    if not isinstance(devices, list) or len(devices) > MAX_DEVICES:
        raise ValueError(f"'devices' must be a list of at most {MAX_DEVICES} devices")
    for d in devices:
        wire = _small(d["n"], "device n")
        supplies = d.get("supplies", [])
        if not isinstance(supplies, list) or any(not isinstance(x, list) for x in supplies):
            raise ValueError(f"device {wire}: 'supplies' must be a list of [index, ...] rows")
        if wire not in numbers:
            next_n += 1
            numbers[wire] = next_n
            new_keys.append((site, key, wire, next_n))
        layouts[wire] = json.dumps(supplies)
        rows.append(
            (site, numbers[wire], d.get("serial"), d.get("vendor"), d.get("model"), d.get("mac"),
             d.get("name"), d.get("address"), layouts[wire], at)
        )  # fmt: skip
    # One insert for the new numbers, not one per device (bench/collector_ingest.py: on DuckDB the
    # statement per device was a registration's largest cost).
    w.bulk("device_keys", ["site_id", "key_id", "wire_n", "n"], new_keys)
    w.bulk("devices", DEVICE_COLUMNS, rows, replace=True)
    # The site's numbers changed: a new tag (other front ends' kept numbers no longer match),
    # and this front end keeps them as just written (the layouts as the store gives them back).
    w.tag = secrets.randbits(63) or 1
    renewed = dict(known)
    for wire, text in layouts.items():
        renewed[wire] = (numbers[wire], json.loads(text))
    _keep(w, renewed)
    bases = data.get("bases")
    if bases is None:
        return
    latest = []
    if not isinstance(bases, list) or len(bases) > MAX_DEVICES:
        raise ValueError(f"'bases' must be a list of at most {MAX_DEVICES} devices")
    for wire, meters in bases:
        n = numbers.get(_small(wire, "device n"))
        if n is None:
            raise ValueError(f"bases of device {wire}, which is not registered")
        w.con.execute("DELETE FROM meter_latest WHERE site_id = ? AND n = ?", [site, n])
        latest += [(site, n, str(m), _int(v, f"meter {m!r}"), at) for m, v in _meters(meters).items()]
    w.bulk("meter_latest", ["site_id", "n", "meter", "value", "time"], latest, replace=True)


def _write(w: Writer, key: str, kind: str, at: dt.datetime, data: dict[str, Any]) -> None:
    site, seq, con = w.site, w.seq, w.con
    if kind == "register":
        _register(w, site, key, at, data)
        return
    known = _registered(w)
    if kind == "aggregate":
        _aggregate(w, site, seq, at, data, known)
    elif kind == "billing":
        cycle = _label(data["cycle"])
        # One read per device and cycle: the first one counts, a later one of the same cycle
        # (an appliance replaced mid-cycle, an old one's outbox) is kept in ``messages`` only.
        already = {
            int(r[0])
            for r in con.execute(
                "SELECT DISTINCT n FROM meter_reads WHERE site_id = ? AND source = 'billing' AND cycle = ?",
                [site, cycle],
            ).fetchall()
        }
        _billing(w, site, seq, at, cycle, data["r"], known, already)
    elif kind == "reorder":
        if len(data["t"]) > MAX_METERS * max(1, len(known)):
            raise ValueError(f"{len(data['t'])} reorder triggers for {len(known)} devices")
        triggers = [
            (site, _known(known, n), _small(i, "supply index"), at, _number(p, "percent"), str(why)[:40],
             _number(dte, "days to empty"), seq)
            for n, i, p, why, dte in data["t"]
        ]  # fmt: skip
        columns = ["site_id", "n", "supply_index", "time", "percent", "why", "days_to_empty", "seq"]
        w.bulk("reorders", columns, triggers)
    elif kind == "snapshot":
        n = _known(known, data["n"])
        con.execute(
            "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?)", [site, n, at, json.dumps(data["doc"]), seq]
        )


def _billing(
    w: Writer,
    site: str,
    seq: int,
    at: dt.datetime,
    cycle: str,
    rows: object,
    known: Known,
    already: set[int],
) -> None:
    """A billing message's reads ``[n, {meter: value}, [[name, OID, value], ...]]``: the meters
    into ``meter_reads``, the named counters into ``counter_reads`` (the first read of a device
    and cycle counts). Every row is checked before anything is written."""
    if not isinstance(rows, list) or len(rows) > len(known):
        raise ValueError(f"{len(rows) if isinstance(rows, list) else rows!r} reads for {len(known)} devices")
    reads: list[tuple[Any, ...]] = []
    counters: list[tuple[Any, ...]] = []
    for row in rows:
        if not isinstance(row, list) or len(row) not in (2, 3):
            raise ValueError("a billing read must be [n, meters] or [n, meters, counters]")
        number = _known(known, row[0])
        meters = {str(m): _int(v, f"meter {m!r}") for m, v in _meters(row[1]).items()}
        named = _counters(row[2] if len(row) == 3 else [], number)
        if number in already:
            continue
        reads += [(site, number, m, at, v, "billing", cycle, seq) for m, v in meters.items()]
        counters += [(site, number, name, oid, value, at, cycle, seq) for name, oid, value in named]
    w.bulk("meter_reads", READ_COLUMNS, reads)
    w.bulk("counter_reads", COUNTER_COLUMNS, counters)


COUNTER_COLUMNS = ["site_id", "n", "name", "oid", "value", "time", "cycle", "seq"]
_OID = re.compile(r"^[0-9]+(\.[0-9]+){1,127}$")


def _counters(raw: object, n: int) -> list[tuple[str, str, int]]:
    """A read's named counters: at most :data:`MAX_COUNTERS` rows ``[name, OID, value]`` with a
    name of 1 to :data:`MAX_COUNTER_NAME` characters, a numeric OID and a count."""
    if not isinstance(raw, list) or len(raw) > MAX_COUNTERS:
        raise ValueError(f"device {n}: counters must be a list of at most {MAX_COUNTERS} [name, OID, value]")
    out = []
    for c in raw:
        if not isinstance(c, list) or len(c) != 3:
            raise ValueError(f"device {n}: a counter must be [name, OID, value], not {str(c)[:60]!r}")
        name, oid, value = c
        if not isinstance(name, str) or not 0 < len(name) <= MAX_COUNTER_NAME:
            raise ValueError(f"device {n}: a counter name must be 1 to {MAX_COUNTER_NAME} characters")
        if not isinstance(oid, str) or not _OID.match(oid):
            raise ValueError(f"device {n}: counter {name[:40]!r}: OID {str(oid)[:40]!r} is not numeric")
        out.append((name, oid, _int(value, f"device {n}: counter {name[:40]!r}", 0)))
    return out


def _meters(meters: object) -> dict[str, Any]:
    """A device's meters: an object of at most :data:`MAX_METERS` names."""
    if not isinstance(meters, dict) or len(meters) > MAX_METERS:
        raise ValueError(f"meters must be an object of at most {MAX_METERS} names")
    return meters


def _number(value: object, what: str) -> float | None:
    """A number the store keeps as a double, or null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1e12 < value < 1e12:
        raise ValueError(f"{what}: {str(value)[:40]!r} is not a number in range")
    return float(value)


def _label(cycle: object) -> str:
    """A billing cycle's label as sent: an ISO date (``YYYY-MM-DD``)."""
    if not isinstance(cycle, str) or len(cycle) != 10:
        raise ValueError(f"billing cycle {cycle!r} is not a date YYYY-MM-DD")
    return dt.date.fromisoformat(cycle).isoformat()


READ_COLUMNS = ["site_id", "n", "meter", "time", "value", "source", "cycle", "seq"]


def _aggregate(
    w: Writer,
    site: str,
    seq: int,
    at: dt.datetime,
    data: dict[str, Any],
    known: Known,
) -> None:
    if not isinstance(data["n"], list) or len(data["n"]) > len(known):
        raise ValueError(f"'n' must list at most the {len(known)} registered devices")
    numbers = [_known(known, n) for n in data["n"]]
    if len(set(numbers)) != len(numbers):
        raise ValueError("'n' names a device twice")
    _device_days(w, site, seq, at, data, numbers)
    _aggregate_meters(w, site, seq, at, _meters(data["m"]), numbers)
    _supply_levels(w, site, seq, at, data.get("s"), numbers, dict(known.values()))


def _device_days(
    w: Writer,
    site: str,
    seq: int,
    at: dt.datetime,
    data: dict[str, Any],
    numbers: list[int],
) -> None:
    """An aggregate's polls answered and status letters, one row per device."""
    polls = _small(data["polls"], "polls")
    ups, states = data.get("up"), data.get("st")
    if ups is None and states is None:
        return
    if ups is None or states is None or len(ups) != len(numbers) or len(states) != len(numbers):
        raise ValueError("'up' and 'st' must have one entry per device")
    days = [
        (site, n, at, polls, _small(up, "up"), STATUS_OF_LETTER.get(letter, "unknown"), seq)
        for n, up, letter in zip(numbers, ups, states, strict=True)
    ]
    w.bulk("device_days", ["site_id", "n", "time", "polls", "answered", "status", "seq"], days)


def _aggregate_meters(
    w: Writer,
    site: str,
    seq: int,
    at: dt.datetime,
    m: dict[str, Any],
    numbers: list[int],
) -> None:
    """An aggregate's meter deltas, added to the latest values (exact: delivery is in order)."""
    latest = {
        (int(n), str(meter)): int(v)
        for n, meter, v in w.con.execute(
            "SELECT n, meter, value FROM meter_latest WHERE site_id = ?", [site]
        ).fetchall()
    }
    reads: list[tuple[Any, ...]] = []
    for meter, column in m.items():
        if len(column) != len(numbers):
            raise ValueError(f"meter {meter!r}: {len(column)} values for {len(numbers)} devices")
        for n, delta in zip(numbers, column, strict=True):
            if delta is None:
                continue
            value = _int(latest.get((n, meter), 0) + _int(delta, f"meter {meter!r}"), f"meter {meter!r}")
            latest[(n, meter)] = value
            reads.append((site, n, str(meter), at, value, "aggregate", None, seq))
    w.bulk("meter_reads", READ_COLUMNS, reads)
    w.bulk(
        "meter_latest", ["site_id", "n", "meter", "value", "time"],
        [(r[0], r[1], r[2], r[4], at) for r in reads], replace=True,
    )  # fmt: skip


def _supply_levels(
    w: Writer,
    site: str,
    seq: int,
    at: dt.datetime,
    supplies: Any,
    numbers: list[int],
    layouts: dict[int, list[Any]],
) -> None:
    """An aggregate's supply percents, in each device's registered supply order."""
    if supplies is None:
        return
    if len(supplies) != len(numbers):
        raise ValueError("'s' must have one entry per device")
    levels = []
    for n, percents in zip(numbers, supplies, strict=True):
        layout = layouts[n]
        for k, percent in enumerate(percents):
            index = layout[k][0] if k < len(layout) else k + 1
            levels.append(
                (site, n, index, at, None if percent is None else _int(percent, "percent", -3, 100), seq)
            )
    w.bulk("supply_levels", ["site_id", "n", "supply_index", "time", "percent", "seq"], levels)
