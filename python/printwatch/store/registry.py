"""The device registry: one device per printer, whatever address it answers on.

Rules (issue 5), applied to every *sighting* — a printer seen at an address, by discovery
(:meth:`Registry.upsert`) or by a poll the store ingests:

* Identity is the normalized serial number (upper case, letters and digits only; placeholders
  such as ``0000000`` or ``UNKNOWN`` count as missing). The MAC address serves only when the
  serial is missing, then the address.
* A known serial (or, without one, a known MAC) at a new address is the same device: it has
  *moved* (its old address is released) unless it was seen at the old address within
  ``multi_home_s`` — then the printer answers on both (wired and wireless) and keeps both.
* A different printer at an address that a device holds takes the address; the device that held
  it, now without any address, is marked *gone* (it keeps its history).
* A device known by its MAC or address that now reports a serial keeps its history: its identity
  is upgraded (a MAC-keyed device only when the MAC matches; an address-keyed one, which never
  had a serial or MAC, when the address matches).
* Manual targets (address or DNS name) are added to what gets polled; exclusions (addresses or
  CIDR ranges) are never probed and sightings inside them are refused.
* Two live addresses that claim one serial in one poll cycle with meters that disagree (any
  meter both give differs by more than ``max_pages_per_minute`` per minute between the reads,
  at least one minute's worth) are a *conflict* (:meth:`Registry.check_claims`): a device on the
  LAN may be answering with a known printer's serial. The address the device held first keeps
  the device; the other gets a device of its own (identity ``conflict:SERIAL@ADDRESS``) that
  takes its reads, apart from the printer's history, until an admin decides
  (:meth:`Registry.resolve_conflict`): the same printer (its second interface), or another
  device (its address excluded). Conflicts are ``registry_events`` rows (``serial_conflict``,
  ``conflict_resolved``).

The registry keeps its devices in memory (a fleet is thousands of rows) and writes what changed
in the writer's transaction (:meth:`Registry.flush`).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar

import duckdb
import pyarrow as pa

Outcome = Literal["new", "known", "moved", "added_address", "identity_upgraded", "excluded", "conflict"]

PLACEHOLDER_SERIALS = frozenset(
    {"", "UNKNOWN", "NONE", "NA", "NULL", "DEFAULT", "SERIAL", "SERIALNUMBER", "XXXXXXXX", "123456789"}
)
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def normalize_serial(serial: str | None) -> str | None:
    """The serial as identity: upper case, letters and digits only; None for placeholders."""
    if serial is None:
        return None
    norm = _NOT_ALNUM.sub("", serial.strip().strip("\x00").upper())
    if norm in PLACEHOLDER_SERIALS or len(norm) < 4 or set(norm) <= {"0"} or set(norm) <= {"F"}:
        return None
    return norm


def normalize_mac(mac: str | None) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from any common spelling; None for missing, zero or broadcast MACs."""
    if not mac:
        return None
    hexdigits = re.sub(r"[^0-9a-f]", "", mac.lower())
    if len(hexdigits) != 12 or hexdigits in ("000000000000", "ffffffffffff"):
        return None
    norm = ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))
    return norm if _MAC.match(norm) else None


def resolve_ipv4(target: str) -> tuple[str, str | None]:
    """``(address, name)`` of an address or DNS name (name None for an address); blocks on DNS.

    Error handling: a name that does not resolve raises :class:`ValueError` naming it.
    """
    try:
        return str(ipaddress.ip_address(target)), None
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(target, None, socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as err:
        raise ValueError(f"manual target {target!r}: does not resolve ({err})") from err
    return str(infos[0][4][0]), target


def target_address(target: str) -> str:
    """The address part of a ``host[:port]`` target (the registry keys addresses without port)."""
    host, sep, port = target.rpartition(":")
    return host if sep and port.isdigit() and host else target


@dataclass(frozen=True)
class Sighting:
    """A printer seen at an address: what discovery identified, or what a poll read."""

    address: str
    time: datetime
    serial: str | None = None
    mac: str | None = None
    vendor: str | None = None
    model: str | None = None
    sys_name: str | None = None
    site: str | None = None


@dataclass(frozen=True)
class UpsertResult:
    """What the registry made of a sighting: the device (None if refused) and how it matched."""

    address: str
    device_id: int | None
    outcome: Outcome
    displaced_device_id: int | None = None


@dataclass
class Device:
    device_id: int
    identity: str
    identity_kind: str
    first_seen: datetime
    last_seen: datetime
    serial: str | None = None
    mac: str | None = None
    vendor: str | None = None
    model: str | None = None
    sys_name: str | None = None
    address: str | None = None
    site: str | None = None
    gone_at: datetime | None = None
    gone_reason: str | None = None
    manual: bool = False
    # address -> [first_seen, last_seen, released_at]
    addresses: dict[str, list[datetime | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Conflict:
    """An address claiming the serial of ``device_id``, its reads kept in ``claimant_id``."""

    serial: str
    address: str
    device_id: int
    claimant_id: int
    opened_at: datetime
    detail: str


DEVICE_COLUMNS = [
    "device_id", "identity", "identity_kind", "serial", "mac", "vendor", "model", "sys_name",
    "address", "site", "first_seen", "last_seen", "gone_at", "gone_reason", "manual",
]  # fmt: skip
DEVICE_SCHEMA = pa.schema(
    [
        ("device_id", pa.int32()), ("identity", pa.string()), ("identity_kind", pa.string()),
        ("serial", pa.string()), ("mac", pa.string()), ("vendor", pa.string()), ("model", pa.string()),
        ("sys_name", pa.string()), ("address", pa.string()), ("site", pa.string()),
        ("first_seen", pa.timestamp("us")), ("last_seen", pa.timestamp("us")),
        ("gone_at", pa.timestamp("us")), ("gone_reason", pa.string()), ("manual", pa.bool_()),
    ]
)  # fmt: skip


_V = TypeVar("_V")
_REVISIONS = itertools.count(1)
_ABSENT = object()


class _Tracked(dict[str, _V]):
    """A dict whose ``revision`` changes (to a number no other such dict ever had) with each
    change of its keys or values: what :meth:`Registry.targets` compares instead of building
    and comparing two sets of every address on each call (a few ms at 10,000 printers, asked by
    every ``/health`` and ``/metrics``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.revision = next(_REVISIONS)

    def _touch(self) -> None:
        self.revision = next(_REVISIONS)

    def __setitem__(self, key: str, value: _V) -> None:
        # Every sighting sets its address again: only a new key or another value is a change.
        old = self.get(key, _ABSENT)
        super().__setitem__(key, value)
        if old is _ABSENT or old != value:
            self._touch()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._touch()

    def pop(self, key: str, *default: Any) -> Any:
        self._touch()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, _V]:
        self._touch()
        return super().popitem()

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._touch()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._touch()

    def clear(self) -> None:
        super().clear()
        self._touch()

    def __ior__(self, other: Any) -> _Tracked[_V]:  # type: ignore[override,misc]
        super().__ior__(other)
        self._touch()
        return self


class Registry:
    """Devices, their addresses, manual targets and exclusions, kept by the store's writer.

    Use it through :class:`printwatch.store.Store` (``store.registry``): sightings change the
    in-memory registry at once and reach the file in the writer's next transaction.
    """

    def __init__(self, multi_home_s: float = 900.0) -> None:
        self.multi_home_s = multi_home_s
        self.devices: dict[int, Device] = {}
        self.by_serial: dict[str, int] = {}
        self.by_mac: dict[str, int] = {}
        self.by_address: _Tracked[int] = _Tracked()
        self.exclusions: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str | None]] = []
        self.manual: _Tracked[str | None] = _Tracked()
        self._dirty: set[int] = set()
        self._events: list[tuple[datetime, str, int | None, int | None, str | None, str | None]] = []
        self._new_manual: list[tuple[str, str | None, datetime]] = []
        self._new_exclusions: list[tuple[str, str | None, datetime]] = []
        self.conflicts: dict[tuple[str, str], Conflict] = {}  # open ones, by (serial, address)
        self.accepted: set[tuple[str, str]] = set()  # (serial, address) an admin said is the printer
        self._next_id = 1
        # targets(): ((the address dicts' revisions, how many exclusions), the sorted targets)
        self._targets: tuple[tuple[int, int, int], list[str]] | None = None

    # -- loading and writing -------------------------------------------------------------------

    def load(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read the registry from the store (on open, and after a failed write is rolled back)."""
        self.__init__(self.multi_home_s)  # type: ignore[misc]
        for row in con.execute(f"SELECT {', '.join(DEVICE_COLUMNS)} FROM device_registry").fetchall():
            dev = Device(**dict(zip(DEVICE_COLUMNS, row, strict=True)))
            self.devices[dev.device_id] = dev
            self._index(dev)
            self._next_id = max(self._next_id, dev.device_id + 1)
        for device_id, address, first, last, released in con.execute(
            "SELECT device_id, address, first_seen, last_seen, released_at FROM device_addresses"
        ).fetchall():
            self.devices[device_id].addresses[address] = [first, last, released]
            if released is None and self.devices[device_id].gone_at is None:
                self.by_address[address] = device_id
        for network, reason in con.execute("SELECT network, reason FROM exclusions").fetchall():
            self.exclusions.append((ipaddress.ip_network(network, strict=False), reason))
        for address, name in con.execute("SELECT address, name FROM manual_targets").fetchall():
            self.manual[address] = name
        for at, kind, device_id, other, address, detail in con.execute(
            "SELECT time, kind, device_id, other_device_id, address, detail FROM registry_events "
            "WHERE kind IN ('serial_conflict', 'conflict_resolved') ORDER BY time, kind DESC"
        ).fetchall():
            claimant = self.devices.get(other)
            if claimant is None or not claimant.serial:
                continue
            if kind == "serial_conflict":
                self.conflicts[(claimant.serial, address)] = Conflict(
                    claimant.serial, address, device_id, other, at, detail or ""
                )
            else:
                self.conflicts.pop((claimant.serial, address), None)
                if (detail or "").startswith("same printer"):
                    self.accepted.add((claimant.serial, address))

    def _index(self, dev: Device) -> None:
        if dev.identity_kind == "conflict":  # a claimant: never found by the serial it claims
            return
        if dev.serial and normalize_serial(dev.serial):
            self.by_serial[normalize_serial(dev.serial) or ""] = dev.device_id
        if dev.mac:
            self.by_mac[dev.mac] = dev.device_id

    def flush(self, con: duckdb.DuckDBPyConnection) -> int:
        """Write what changed since the last flush, inside the caller's transaction."""
        dirty = sorted(self._dirty)
        if dirty:
            rows = [self.devices[i] for i in dirty]
            table = pa.Table.from_pylist(
                [{c: getattr(d, c) for c in DEVICE_COLUMNS} for d in rows], schema=DEVICE_SCHEMA
            )
            ids = pa.table({"device_id": pa.array(dirty, pa.int32())})
            con.register("pw_dirty_ids", ids)
            con.register("pw_dirty_devices", table)
            con.execute("DELETE FROM device_registry WHERE device_id IN (SELECT device_id FROM pw_dirty_ids)")
            con.execute("INSERT INTO device_registry BY NAME SELECT * FROM pw_dirty_devices")
            addresses = pa.Table.from_pylist(
                [
                    {"device_id": d.device_id, "address": a, "first_seen": v[0], "last_seen": v[1],
                     "released_at": v[2]}
                    for d in rows for a, v in d.addresses.items()
                ],
                schema=pa.schema([("device_id", pa.int32()), ("address", pa.string()),
                                  ("first_seen", pa.timestamp("us")), ("last_seen", pa.timestamp("us")),
                                  ("released_at", pa.timestamp("us"))]),
            )  # fmt: skip
            con.register("pw_dirty_addresses", addresses)
            con.execute(
                "DELETE FROM device_addresses WHERE device_id IN (SELECT device_id FROM pw_dirty_ids)"
            )
            con.execute("INSERT INTO device_addresses BY NAME SELECT * FROM pw_dirty_addresses")
            for name in ("pw_dirty_ids", "pw_dirty_devices", "pw_dirty_addresses"):
                con.unregister(name)
        _append(con, "registry_events", self._events, EVENT_SCHEMA)
        _append(con, "manual_targets", self._new_manual, MANUAL_SCHEMA)
        _append(con, "exclusions", self._new_exclusions, EXCLUSION_SCHEMA)
        self._dirty.clear()
        self._events.clear()
        self._new_manual.clear()
        self._new_exclusions.clear()
        return len(dirty)

    # -- the rules -----------------------------------------------------------------------------

    def excluded(self, address: str) -> bool:
        """Whether an address is inside an exclusion (a name that is not an address never is)."""
        if not self.exclusions:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net, _ in self.exclusions)

    def device_at(self, address: str) -> int | None:
        """The device that holds an address now, if any."""
        return self.by_address.get(address)

    def observe(self, s: Sighting) -> UpsertResult:
        """Apply the registry's rules to one sighting (see the module's docstring)."""
        if self.excluded(s.address):
            return UpsertResult(s.address, None, "excluded")
        serial, mac = normalize_serial(s.serial), normalize_mac(s.mac)
        conflict = self.conflicts.get((serial, s.address)) if serial and self.conflicts else None
        if conflict is not None:  # kept apart until an admin decides
            claimant = self.devices[conflict.claimant_id]
            _, displaced = self._place(claimant, s.address, s.time)
            self._refresh(claimant, s)
            return UpsertResult(s.address, claimant.device_id, "conflict", displaced)
        device_id, outcome = self._match(s, serial, mac)
        if device_id is None:
            return self._create(s, serial, mac)
        dev = self.devices[device_id]
        if outcome == "identity_upgraded":
            self._set_identity(dev, serial, mac, s.time)
        elif mac and not dev.mac:
            dev.mac = mac
            self.by_mac[mac] = dev.device_id
            self._dirty.add(dev.device_id)
        placed, displaced = self._place(dev, s.address, s.time)
        if outcome == "known" and placed != "known":
            outcome = placed
        self._refresh(dev, s)
        return UpsertResult(s.address, dev.device_id, outcome, displaced)

    def _match(self, s: Sighting, serial: str | None, mac: str | None) -> tuple[int | None, Outcome]:
        """The known device a sighting is (by serial, then MAC, then address), and whether it
        upgrades a device known only by its MAC or address to its serial."""
        if not serial:
            return (self.by_mac.get(mac) if mac else self.by_address.get(s.address)), "known"
        device_id = self.by_serial.get(serial)
        if device_id is not None:
            return device_id, "known"
        candidate = self.by_mac.get(mac) if mac else None
        if candidate is None:
            holder = self.by_address.get(s.address)
            if holder is not None and self.devices[holder].identity_kind == "address":
                candidate = holder
        if candidate is not None and not self.devices[candidate].serial:
            return candidate, "identity_upgraded"
        return None, "known"

    def _create(self, s: Sighting, serial: str | None, mac: str | None) -> UpsertResult:
        device_id = self._next_id
        self._next_id += 1
        kind, key = ("serial", serial) if serial else ("mac", mac) if mac else ("address", s.address)
        dev = Device(device_id, f"{kind}:{key}", kind, s.time, s.time, serial=serial, mac=mac)
        dev.manual = s.address in self.manual
        self.devices[device_id] = dev
        self._index(dev)
        self._dirty.add(device_id)
        self._events.append((s.time, "new", device_id, None, s.address, dev.identity))
        _, displaced = self._place(dev, s.address, s.time)
        self._refresh(dev, s)
        return UpsertResult(s.address, device_id, "new", displaced)

    def _set_identity(self, dev: Device, serial: str | None, mac: str | None, at: datetime) -> None:
        old = dev.identity
        dev.serial = serial
        dev.mac = mac or dev.mac
        dev.identity, dev.identity_kind = f"serial:{serial}", "serial"
        self._index(dev)
        self._dirty.add(dev.device_id)
        self._events.append(
            (at, "identity_upgraded", dev.device_id, None, dev.address, f"{old} -> {dev.identity}")
        )

    def _place(self, dev: Device, address: str, at: datetime) -> tuple[Outcome, int | None]:
        """Put a device at an address; returns how (known, moved, added_address) and who lost it."""
        outcome: Outcome = "known"
        displaced = None
        holder = self.by_address.get(address)
        if holder is not None and holder != dev.device_id:
            displaced = holder
            self._release(self.devices[holder], address, at, taken_by=dev.device_id)
        entry = dev.addresses.get(address)
        if entry is None or entry[2] is not None:
            current = [a for a, v in dev.addresses.items() if v[2] is None and a != address]
            recent = [
                a for a in current if (at - (dev.addresses[a][1] or at)).total_seconds() <= self.multi_home_s
            ]
            for old in current:
                if old not in recent:
                    self._release(dev, old, at, taken_by=None)
            if current:
                outcome = "added_address" if recent else "moved"
                self._events.append((at, outcome, dev.device_id, None, address, ",".join(current)))
            dev.addresses[address] = [entry[0] if entry else at, at, None]
            self._dirty.add(dev.device_id)
        else:
            entry[1] = at
        self.by_address[address] = dev.device_id
        if dev.address != address and (dev.address is None or dev.address not in self.by_address
                                       or self.by_address[dev.address] != dev.device_id):  # fmt: skip
            dev.address = address
            self._dirty.add(dev.device_id)
        if dev.gone_at is not None:
            dev.gone_at, dev.gone_reason = None, None
            self._events.append((at, "back", dev.device_id, None, address, None))
            self._dirty.add(dev.device_id)
        return outcome, displaced

    def _release(self, dev: Device, address: str, at: datetime, taken_by: int | None) -> None:
        entry = dev.addresses.get(address)
        if entry is not None and entry[2] is None:
            entry[2] = at
        if self.by_address.get(address) == dev.device_id:
            del self.by_address[address]
        self._dirty.add(dev.device_id)
        remaining = [a for a, v in dev.addresses.items() if v[2] is None]
        if dev.address == address:
            dev.address = remaining[0] if remaining else address
        if taken_by is not None and not remaining and dev.gone_at is None:
            dev.gone_at, dev.gone_reason = at, f"address {address} taken by device {taken_by}"
            self._events.append((at, "gone", dev.device_id, taken_by, address, dev.gone_reason))

    def _refresh(self, dev: Device, s: Sighting) -> None:
        changed = False
        for name in ("vendor", "model", "sys_name", "site"):
            value = getattr(s, name)
            if value and getattr(dev, name) != value:
                setattr(dev, name, value)
                changed = True
        if changed or (s.time - dev.last_seen).total_seconds() >= 86_400:
            self._dirty.add(dev.device_id)
        dev.last_seen = max(dev.last_seen, s.time)

    # -- serial conflicts ----------------------------------------------------------------------

    def check_claims(self, docs: Sequence[object], max_pages_per_minute: float) -> list[Conflict]:
        """Open a conflict for each address of a cycle's poll documents that claims a known
        serial held by another live address of the same cycle with meters that disagree (see
        the module's docstring); returns the new conflicts. Call it before the cycle's sightings."""
        # First only who claims what (a cycle's serials are nearly all claimed once, and a
        # serial claimed by one address opens nothing); times and meters for the rest.
        claimed: dict[str, list[tuple[int, object]]] = {}
        for n, doc in enumerate(docs):
            serial = self._serial_of(doc)
            if serial is not None:
                claimed.setdefault(serial, []).append((n, doc))
        claims: list[tuple[int, str, dict[str, tuple[datetime, dict[str, int]]]]] = []
        for serial, of_serial in claimed.items():
            if len(of_serial) < 2:
                continue
            by_address: dict[str, tuple[datetime, dict[str, int]]] = {}
            first = None
            for n, doc in of_serial:
                claim = self._claim_of(doc)
                if claim is not None:
                    _, address, at, values = claim
                    by_address[address] = (at, values)
                    first = n if first is None else first
            if first is not None:
                claims.append((first, serial, by_address))
        opened = []
        for _, serial, by_address in sorted(claims, key=lambda c: c[0]):  # in the order of the documents
            if len(by_address) >= 2:
                opened.extend(self._claims_apart(serial, by_address, max_pages_per_minute))
        return opened

    def _serial_of(self, doc: object) -> str | None:
        """The known serial a reachable document with meters names (what :meth:`_claim_of`
        reads first)."""
        if not isinstance(doc, dict) or doc.get("reachable") is not True:
            return None
        serial = normalize_serial(doc.get("serial") if isinstance(doc.get("serial"), str) else None)
        if not serial or serial not in self.by_serial or not isinstance(doc.get("meters"), dict):
            return None
        return serial

    def _claim_of(self, doc: object) -> tuple[str, str, datetime, dict[str, int]] | None:
        """(serial, address, time, meters) of a reachable document naming a known serial."""
        serial = self._serial_of(doc)
        if serial is None or not isinstance(doc, dict):
            return None
        meters, target, when = doc["meters"], doc.get("target"), doc.get("time")
        if not isinstance(target, str) or not isinstance(when, str):
            return None
        try:
            at = datetime.fromisoformat(when.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return None  # the ingest refuses it with its reason
        values = {k: v for k, v in meters.items() if isinstance(v, int) and not isinstance(v, bool)}
        return serial, target_address(target), at, values

    def _claims_apart(
        self,
        serial: str,
        by_address: dict[str, tuple[datetime, dict[str, int]]],
        max_pages_per_minute: float,
    ) -> list[Conflict]:
        """Conflicts for the addresses claiming ``serial`` whose meters disagree with its home's."""
        dev = self.devices[self.by_serial[serial]]
        held = [a for a in by_address if a in dev.addresses and dev.addresses[a][2] is None]
        if not held:
            return []
        home = min(held, key=lambda a: (dev.addresses[a][0] or datetime.max, a))
        home_at, home_meters = by_address[home]
        opened = []
        for address, (at, values) in by_address.items():
            key = (serial, address)
            if address == home or key in self.conflicts or key in self.accepted or self.excluded(address):
                continue
            allowed = max_pages_per_minute * max(abs((at - home_at).total_seconds()) / 60, 1.0)
            apart = [
                m for m in values.keys() & home_meters.keys() if abs(values[m] - home_meters[m]) > allowed
            ]
            if apart:
                m = sorted(apart)[0]
                detail = (
                    f"{address} claims serial {serial} of device {dev.device_id} ({home}): "
                    f"meter {m} {values[m]} there, {home_meters[m]} at {home}"
                )
                opened.append(self._open_conflict(dev, serial, address, at, detail))
        return opened

    def _open_conflict(self, dev: Device, serial: str, address: str, at: datetime, detail: str) -> Conflict:
        claimant_id = self._next_id
        self._next_id += 1
        claimant = Device(claimant_id, f"conflict:{serial}@{address}", "conflict", at, at, serial=serial)
        self.devices[claimant_id] = claimant
        self._dirty.add(claimant_id)
        if self.by_address.get(address) == dev.device_id:
            self._release(dev, address, at, taken_by=None)
        _, _displaced = self._place(claimant, address, at)
        conflict = Conflict(serial, address, dev.device_id, claimant_id, at, detail)
        self.conflicts[(serial, address)] = conflict
        self._events.append((at, "serial_conflict", dev.device_id, claimant_id, address, detail))
        return conflict

    def resolve_conflict(self, address: str, at: datetime, *, same_printer: bool) -> Conflict:
        """An admin's decision on the conflict at ``address``: ``same_printer`` (its second
        interface: from now on its reads are the printer's; the claimant device, with the reads
        it kept, is marked gone) or not (another device: the address is excluded).

        Error handling: an address without an open conflict raises :class:`ValueError`.
        """
        found = [c for c in self.conflicts.values() if c.address == address]
        if not found:
            raise ValueError(f"no open serial conflict at {address}")
        conflict = found[0]
        del self.conflicts[(conflict.serial, address)]
        claimant = self.devices[conflict.claimant_id]
        if same_printer:
            decision = f"same printer as device {conflict.device_id}"
            self.accepted.add((conflict.serial, address))
            self._release(claimant, address, at, taken_by=None)
            claimant.gone_at, claimant.gone_reason = at, f"conflict resolved: {decision}"
            self._dirty.add(claimant.device_id)
        else:
            decision = f"not device {conflict.device_id}: {address} excluded"
            self.exclude(address, at, f"claimed serial {conflict.serial} of device {conflict.device_id}")
        self._events.append(
            (at, "conflict_resolved", conflict.device_id, conflict.claimant_id, address, decision)
        )
        return conflict

    # -- manual targets and exclusions ---------------------------------------------------------

    def add_manual(self, target: str, at: datetime, address: str | None = None) -> str:
        """Add a printer by address or DNS name; returns the address.

        A name is resolved to IPv4 now (:func:`resolve_ipv4`) unless the caller resolved it
        already and gives ``address`` (so that no lookup runs while the store's writer waits).

        Error handling: a name that does not resolve raises :class:`ValueError` naming it; an
        excluded address raises :class:`ValueError` naming the exclusion.
        """
        if address is None:
            address, name = resolve_ipv4(target)
        else:
            name = None if address == target else target
        if self.excluded(address):
            raise ValueError(f"manual target {target!r}: {address} is excluded")
        if address not in self.manual:
            self.manual[address] = name
            self._new_manual.append((address, name, at))
        return address

    def exclude(self, network: str, at: datetime, reason: str | None = None) -> None:
        """Never probe an address or range (``10.0.0.5``, ``10.0.0.0/24``).

        Error handling: anything that is not an address or network raises :class:`ValueError`.
        """
        try:
            net = ipaddress.ip_network(network, strict=False)
        except ValueError as err:
            raise ValueError(f"exclusion {network!r}: not an address or CIDR range") from err
        self.exclusions.append((net, reason))
        self._new_exclusions.append((str(net), reason, at))

    def targets(self) -> list[str]:
        """Addresses to poll: every address a device holds, and the manual targets; none excluded.

        ``/health`` asks on every request: the sorted list is kept and made again only when the
        addresses or the exclusions changed (the revisions of :class:`_Tracked`; building and
        comparing two sets of 10,000 addresses on each call was a few ms; the sort with its
        exclusion checks, forty)."""
        key = (self.by_address.revision, self.manual.revision, len(self.exclusions))
        if self._targets is None or self._targets[0] != key:
            found = set(self.by_address) | set(self.manual)
            ordered = sorted((a for a in found if not self.excluded(a)), key=_address_order)
            self._targets = (key, ordered)
        return list(self._targets[1])

    def snapshot(self, device_id: int) -> Device:
        """A copy of one device's record (for tests and callers that must not change it)."""
        return replace(self.devices[device_id], addresses=dict(self.devices[device_id].addresses))


EVENT_SCHEMA = pa.schema(
    [("time", pa.timestamp("us")), ("kind", pa.string()), ("device_id", pa.int32()),
     ("other_device_id", pa.int32()), ("address", pa.string()), ("detail", pa.string())]
)  # fmt: skip
MANUAL_SCHEMA = pa.schema([("address", pa.string()), ("name", pa.string()), ("added_at", pa.timestamp("us"))])
EXCLUSION_SCHEMA = pa.schema(
    [("network", pa.string()), ("reason", pa.string()), ("added_at", pa.timestamp("us"))]
)


def _append(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[object, ...]], schema: pa.Schema
) -> None:
    """Append rows to a table in one Arrow batch."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    batch = pa.table([pa.array(c, t) for c, t in zip(columns, schema.types, strict=True)], schema=schema)
    con.register("pw_append", batch)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM pw_append")
    con.unregister("pw_append")


def _address_order(address: str) -> tuple[int, str]:
    try:  # dotted IPv4 first: ten times cheaper than ipaddress (/health sorts every target)
        return int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big"), ""
    except OSError:
        pass
    try:
        return int(ipaddress.ip_address(address)), ""
    except ValueError:
        return 1 << 129, address
