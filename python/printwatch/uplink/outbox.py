"""The outbox in the history store: every message is written here before it is sent, and
leaves only when the collector acknowledged it.

* Sequence numbers per appliance, from 1, assigned in the transaction that writes the message
  (``uplink_state.next_seq``), so a crash never reuses or skips one.
* Messages are sealed (signed) when written: what is retried is byte for byte what was first
  sent, and the transmission log can show it.
* :meth:`Outbox.acknowledge` deletes every message up to the sequence number the collector
  has; :meth:`Outbox.failed` counts an attempt and sets the next one (the sender's backoff).
* ``uplink_devices`` holds the device numbers and, per device, the meter values the collector
  has (the next aggregate's bases), written in the same transaction as the message that sent them.
* :meth:`Outbox.restart_stream` starts the numbering again where the collector says (a new key
  after a re-enrolment, a collector restored from a backup): the messages waiting are sealed
  again with the new numbers, after a ``register`` of every device that carries the meter
  values their deltas start from, so that the collector rebuilds every meter exactly.
* A message too large for the collector is written as several of the same kind, cut along its
  devices (:mod:`printwatch.uplink.parts`), in one transaction.
* ``uplink_days`` counts the envelope bytes made per UTC day (what the byte budget limits), how
  many aggregates were thinned and how many messages were held back to a later day.

Durability is DuckDB's: each call is one transaction, committed through its write-ahead log,
so ``kill -9`` loses at most the call in flight (and then its message was never sent).

Error handling: ``duckdb.Error`` from the file propagates (the sender logs it and retries
later); a store from a newer printwatch is refused by :func:`printwatch.store.schema.migrate`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from printwatch import __version__
from printwatch.store import DUCKDB_CONFIG, migrate, transaction
from printwatch.uplink.codec import decode_payload, encode_payload
from printwatch.uplink.parts import PART_BYTES, parts
from printwatch.uplink.signing import HEADER_BYTES, Identity, seal

#: Devices per INSERT statement of :meth:`Outbox.enqueue`.
DEVICE_ROWS_PER_STATEMENT = 500


@dataclass(frozen=True)
class Pending:
    """A message waiting in the outbox."""

    seq: int
    kind: str
    envelope: bytes
    attempts: int
    next_attempt_at: dt.datetime
    first_sent_at: dt.datetime | None


@dataclass
class DeviceEntry:
    n: int
    identity: str
    info: dict[str, Any]
    meters: dict[str, int]


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


class Outbox:
    """The outbox, device numbers and budget counters of one appliance (see the module)."""

    def __init__(
        self, path: str | os.PathLike[str], identity: Identity, site_id: str, *, part_bytes: int = PART_BYTES
    ) -> None:
        self.path = path
        self.identity = identity
        self.site_id = site_id
        self.part_bytes = part_bytes  # a message's JSON above this is cut into parts
        # The store's own configuration: in the appliance the store's writer has the same file
        # open in this process, and DuckDB shares one database between the two connections
        # only when their configurations agree.
        self.con = self._connect()
        try:
            migrate(self.con)
        except RuntimeError:
            self.con.close()
            raise
        self.devices: dict[str, DeviceEntry] = {}
        for n, identity_, info, meters in self.con.execute(
            "SELECT n, identity, info, meters FROM uplink_devices ORDER BY n"
        ).fetchall():
            self.devices[identity_] = DeviceEntry(n, identity_, json.loads(info), json.loads(meters))

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path), config=DUCKDB_CONFIG)

    def _first(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, its result read to the end. Not ``fetchone()``: a result
        left unread keeps its (autocommit) transaction open on this connection, and the store's
        upkeep then cannot checkpoint ("there are other write transactions active") until this
        connection runs its next statement (``tests/store/test_checkpoint.py``)."""
        rows = self.con.execute(sql, list(params)).fetchall()
        return rows[0] if rows else None

    def close(self) -> None:
        self.con.close()

    def reopen(self) -> None:
        """A new connection after :meth:`close`: the history store's renewal (``Store.renew``)
        closes this connection with its own, then opens both again, the uplink's limiter held
        meanwhile so that none of its calls runs."""
        self.con = self._connect()

    # -- state ---------------------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        row = self._first("SELECT value FROM uplink_state WHERE key = ?", [key])
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO uplink_state VALUES (?, ?)", [key, value])

    # -- writing messages ----------------------------------------------------------------------

    def number(self, identity: str, info: dict[str, Any]) -> tuple[DeviceEntry, bool]:
        """The device's entry (numbered on first sight, in memory until a message that names it
        is written) and whether its registration must be (re)sent."""
        entry = self.devices.get(identity)
        if entry is None:
            n = max((e.n for e in self.devices.values()), default=0) + 1
            return DeviceEntry(n, identity, info, {}), True
        return entry, entry.info != info

    def enqueue(
        self,
        kind: str,
        data: dict[str, Any],
        at: dt.datetime,
        *,
        devices: Sequence[DeviceEntry] = (),
        thinned: bool = False,
        not_before: dt.datetime | None = None,
        state: dict[str, str] | None = None,
    ) -> int:
        """Seal and write one message (or its parts, when it is too large for the collector:
        :mod:`printwatch.uplink.parts`); ``devices``: entries whose registration or meter bases
        this message carries (written with it); ``not_before``: a message held back to then
        (charged to that day); ``state``: ``uplink_state`` rows written in the same transaction.
        Returns its sequence number (its last part's)."""
        at = _naive(at)
        due = at if not_before is None else _naive(not_before)
        pieces = parts(kind, data, max_bytes=self.part_bytes)
        with transaction(self.con) as con:
            row = self._first("SELECT value FROM uplink_state WHERE key = 'next_seq'")
            seq = int(row[0]) if row else 1
            size = 0
            for piece in pieces:
                message = {
                    "site": self.site_id,
                    "seq": seq,
                    "kind": kind,
                    "at": int(at.replace(tzinfo=dt.UTC).timestamp()),
                    "data": piece,
                }
                envelope = seal(self.identity, encode_payload(message))
                size += len(envelope)
                con.execute(
                    "INSERT INTO uplink_outbox VALUES (?, ?, ?, ?, 0, ?, NULL, NULL)",
                    [seq, kind, at, envelope, due],
                )
                seq += 1
            con.execute("INSERT OR REPLACE INTO uplink_state VALUES ('next_seq', ?)", [str(seq)])
            for key, value in (state or {}).items():
                con.execute("INSERT OR REPLACE INTO uplink_state VALUES (?, ?)", [key, value])
            # A few statements for the devices, not one each (an upload's aggregate carries the
            # meter bases of every device: 300 statements of about 1 ms each in the demo).
            rows = list(
                {e.n: (e.n, e.identity, json.dumps(e.info), json.dumps(e.meters)) for e in devices}.values()
            )
            for k in range(0, len(rows), DEVICE_ROWS_PER_STATEMENT):
                chunk = rows[k : k + DEVICE_ROWS_PER_STATEMENT]
                con.execute(
                    "INSERT OR REPLACE INTO uplink_devices VALUES "
                    + ", ".join(["(?, ?, ?, ?)"] * len(chunk)),
                    [x for row in chunk for x in row],
                )
            con.execute(
                "INSERT INTO uplink_days VALUES (?, ?, ?, ?, ?) ON CONFLICT (day) DO UPDATE SET "
                "bytes = bytes + excluded.bytes, messages = messages + excluded.messages, "
                "thinned = thinned + excluded.thinned, held = held + excluded.held",
                [due.date(), size, len(pieces), int(thinned), len(pieces) * int(not_before is not None)],
            )
        for entry in devices:
            self.devices[entry.identity] = entry
        return seq - 1

    # -- sending -------------------------------------------------------------------------------

    def head(self) -> Pending | None:
        """The oldest message (messages leave in order)."""
        row = self._first(
            "SELECT seq, kind, envelope, attempts, next_attempt_at, first_sent_at FROM uplink_outbox "
            "ORDER BY seq LIMIT 1"
        )
        if row is None:
            return None
        return Pending(int(row[0]), str(row[1]), bytes(row[2]), int(row[3]), row[4], row[5])

    def attempting(self, item: Pending, now: dt.datetime) -> None:
        """Count an attempt."""
        self.con.execute(
            "UPDATE uplink_outbox SET attempts = attempts + 1, "
            "first_sent_at = coalesce(first_sent_at, ?) WHERE seq = ?",
            [_naive(now), item.seq],
        )

    def next_seq(self) -> int:
        """The sequence number the next message written gets."""
        row = self._first("SELECT value FROM uplink_state WHERE key = 'next_seq'")
        return int(row[0]) if row else 1

    def head_seq(self) -> int:
        """The sequence number of the oldest message waiting (else the next one written)."""
        row = self._first("SELECT min(seq) FROM uplink_outbox")
        return int(row[0]) if row and row[0] is not None else self.next_seq()

    def restart_stream(self, first_seq: int, at: dt.datetime) -> int:
        """Number the stream again from ``first_seq``: a ``register`` of every device with the
        meter values the collector must start from (what it had before the messages waiting),
        then every message waiting, sealed again in order. One transaction; returns how many
        messages wait now.

        Error handling: ``ValueError`` for a ``first_seq`` below 1.
        """
        if first_seq < 1:
            raise ValueError(f"a stream starts at 1 or later, not {first_seq}")
        if not self.devices and self.pending()[0] == 0:
            self.con.execute("INSERT OR REPLACE INTO uplink_state VALUES ('next_seq', ?)", [str(first_seq)])
            return 0
        with transaction(self.con) as con:
            waiting = self._waiting(con)
            at = _naive(at)
            register = {
                "appliance": {"version": __version__},
                "devices": [{"n": e.n, **e.info} for e in sorted(self.devices.values(), key=lambda e: e.n)],
                "bases": [
                    [n, {m: v for m, v in sorted(b.items()) if v}]
                    for n, b in sorted(self._bases(waiting).items())
                ],
            }
            unix_at = int(at.replace(tzinfo=dt.UTC).timestamp())
            con.execute("DELETE FROM uplink_outbox")
            seq = first_seq
            registers = [
                ("register", {"at": unix_at, "data": piece}, at)
                for piece in parts("register", register, max_bytes=self.part_bytes)
            ]
            for kind, message, due in [*registers, *waiting]:
                sealed = {**message, "site": self.site_id, "seq": seq, "kind": kind}
                envelope = seal(self.identity, encode_payload(sealed))
                created = dt.datetime.fromtimestamp(message["at"], dt.UTC).replace(tzinfo=None)
                con.execute(
                    "INSERT INTO uplink_outbox VALUES (?, ?, ?, ?, 0, ?, NULL, NULL)",
                    [seq, kind, created, envelope, due],
                )
                seq += 1
            con.execute("INSERT OR REPLACE INTO uplink_state VALUES ('next_seq', ?)", [str(seq)])
            # The billing labels on their way are the waiting reads' only: what the collector
            # acknowledged before may be lost with it (restored from a backup), and its "due"
            # answer must be able to ask for them again.
            sent = _billing_labels(waiting)
            con.execute("INSERT OR REPLACE INTO uplink_state VALUES ('billing_sent', ?)", [json.dumps(sent)])
        return len(waiting) + len(registers)

    @staticmethod
    def _waiting(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dict[str, Any], dt.datetime]]:
        """The messages waiting, decoded, in order, less an earlier restart's unsent register."""
        rows = con.execute(
            "SELECT seq, kind, envelope, next_attempt_at FROM uplink_outbox ORDER BY seq"
        ).fetchall()
        waiting = [(str(k), decode_payload(bytes(e)[HEADER_BYTES:]), due) for _, k, e, due in rows]
        if waiting and waiting[0][0] == "register" and "bases" in waiting[0][1]["data"]:
            # An earlier restart's, still unsent: the new one says the same (its bases are
            # where the waiting deltas start), so a collector that keeps asking for restarts
            # does not grow the outbox.
            waiting = waiting[1:]
        return waiting

    def _bases(self, waiting: list[tuple[str, dict[str, Any], dt.datetime]]) -> dict[int, dict[str, int]]:
        """The bases before the waiting deltas: the latest values sent less what waits."""
        bases = {e.n: dict(e.meters) for e in self.devices.values()}
        for kind, message, _ in waiting:
            if kind != "aggregate":
                continue
            data = message["data"]
            for meter, column in data.get("m", {}).items():
                for n, delta in zip(data["n"], column, strict=True):
                    if delta is not None and meter in bases.get(n, {}):
                        bases[n][meter] -= delta
        return bases

    def acknowledge(self, through_seq: int) -> int:
        """Drop every message the collector has (``seq <= through_seq``); returns how many."""
        row = self.con.execute(
            "DELETE FROM uplink_outbox WHERE seq <= ? RETURNING seq", [through_seq]
        ).fetchall()
        return len(row)

    def failed(self, seq: int, error: str, next_attempt_at: dt.datetime) -> None:
        self.con.execute(
            "UPDATE uplink_outbox SET last_error = ?, next_attempt_at = ? WHERE seq = ?",
            [error[:500], _naive(next_attempt_at), seq],
        )

    def thinned_away(self, day: dt.date) -> None:
        """Count an aggregate the budget left no room for at all."""
        self.con.execute(
            "INSERT INTO uplink_days VALUES (?, 0, 0, 1, 0) "
            "ON CONFLICT (day) DO UPDATE SET thinned = thinned + 1",
            [day],
        )

    # -- counting ------------------------------------------------------------------------------

    def pending(self) -> tuple[int, int]:
        """``(messages, envelope bytes)`` waiting."""
        row = self._first("SELECT count(*), coalesce(sum(octet_length(envelope)), 0) FROM uplink_outbox")
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def spent(self, day: dt.date) -> int:
        """Envelope bytes made for ``day`` (UTC): what the byte budget counts."""
        row = self._first("SELECT bytes FROM uplink_days WHERE day = ?", [day])
        return int(row[0]) if row else 0

    def days(self, limit: int = 14) -> list[tuple[dt.date, int, int, int, int]]:
        """``(day, bytes, messages, thinned, held)``, newest first."""
        return [
            (r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]))
            for r in self.con.execute(
                "SELECT day, bytes, messages, thinned, held FROM uplink_days ORDER BY day DESC LIMIT ?",
                [limit],
            ).fetchall()
        ]

    # -- reorder triggers ----------------------------------------------------------------------

    def reorder_state(self) -> dict[tuple[str, int], tuple[float | None, bool]]:
        """Per ``(identity, supply index)``: the last percent seen and whether a trigger is out."""
        return {
            (str(r[0]), int(r[1])): (r[2], r[3] is not None)
            for r in self.con.execute(
                "SELECT identity, supply_index, percent, triggered_at FROM uplink_reorders"
            ).fetchall()
        }

    def save_reorder_state(
        self, rows: list[tuple[str, int, float | None, dt.datetime | None, str | None]]
    ) -> None:
        # The last change of each supply wins; two statements per cycle through Arrow, not two
        # per supply (1,200 supplies: 2 s one by one, 0.27 s as multi-row VALUES, whose
        # thousands of parameters DuckDB plans slowly).
        last = {(r[0], r[1]): (r[0], r[1], r[2], None if r[3] is None else _naive(r[3]), r[4]) for r in rows}
        changed = list(last.values())
        if not changed:
            return
        table = pa.table(
            {
                "identity": pa.array([r[0] for r in changed], pa.string()),
                "supply_index": pa.array([r[1] for r in changed], pa.int32()),
                "percent": pa.array([r[2] for r in changed], pa.float64()),
                "triggered_at": pa.array([r[3] for r in changed], pa.timestamp("us")),
                "why": pa.array([r[4] for r in changed], pa.string()),
            }
        )
        with transaction(self.con) as con:
            con.register("pw_reorders", table)
            try:
                con.execute(
                    "DELETE FROM uplink_reorders USING pw_reorders v WHERE uplink_reorders.identity = "
                    "v.identity AND uplink_reorders.supply_index = v.supply_index"
                )
                con.execute("INSERT INTO uplink_reorders SELECT * FROM pw_reorders")
            finally:
                con.unregister("pw_reorders")


def _billing_labels(waiting: list[tuple[str, dict[str, Any], dt.datetime]]) -> dict[str, list[str]]:
    """Device number -> the cycle labels of the billing reads among ``waiting``."""
    sent: dict[str, list[str]] = {}
    for kind, message, _ in waiting:
        if kind == "billing":
            for n, *_read in message["data"]["r"]:  # [n, meters(, counters)]
                sent.setdefault(str(n), []).append(str(message["data"]["cycle"]))
    return sent
