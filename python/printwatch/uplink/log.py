"""Every transmission, kept byte for byte and chained by hashes (``printwatch uplink log``).

Each attempt to send (and each enrolment) is a row of ``uplink_log``: the exact bytes of the
HTTP request as written to the connection (inside TLS) and of the response as read, the
sequence number and kind of the message, the HTTP status or the error. Row ``n``'s ``hash`` is
SHA-256 over the previous row's hash and this row's fields (the request and response through
their own SHA-256), the first row chaining to 32 zero bytes. :func:`verify` recomputes the
chain: a row edited, deleted (a gap in ``n``) or inserted shows as the first row where it breaks.

Error handling: ``duckdb.Error`` from the file propagates to the caller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import duckdb

GENESIS = bytes(32)


@dataclass(frozen=True)
class Entry:
    n: int
    time: dt.datetime
    seq: int | None
    kind: str | None
    url: str
    status: int | None
    error: str | None
    request: bytes
    response: bytes
    prev_hash: bytes
    hash: bytes


def entry_hash(
    prev_hash: bytes,
    n: int,
    time: dt.datetime,
    seq: int | None,
    kind: str | None,
    url: str,
    status: int | None,
    error: str | None,
    request: bytes,
    response: bytes,
) -> bytes:
    h = hashlib.sha256(prev_hash)
    fields = [str(n), time.isoformat(), str(seq), str(kind), url, str(status), str(error)]
    h.update("\x1f".join(fields).encode())
    h.update(hashlib.sha256(request).digest())
    h.update(hashlib.sha256(response).digest())
    return h.digest()


def append(
    con: duckdb.DuckDBPyConnection,
    *,
    time: dt.datetime,
    seq: int | None,
    kind: str | None,
    url: str,
    status: int | None,
    error: str | None,
    request: bytes,
    response: bytes,
) -> int:
    """Append one transmission (in the caller's transaction, if any); returns its ``n``."""
    time = time.astimezone(dt.UTC).replace(tzinfo=None) if time.tzinfo else time
    time = time.replace(microsecond=time.microsecond)  # DuckDB keeps microseconds
    row = con.execute("SELECT n, hash FROM uplink_log ORDER BY n DESC LIMIT 1").fetchone()
    n, prev = (int(row[0]) + 1, bytes(row[1])) if row else (1, GENESIS)
    digest = entry_hash(prev, n, time, seq, kind, url, status, error, request, response)
    con.execute(
        "INSERT INTO uplink_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [n, time, seq, kind, url, status, error, request, response, prev, digest],
    )
    return n


def entries(con: duckdb.DuckDBPyConnection, *, since_n: int = 0, limit: int | None = None) -> list[Entry]:
    sql = "SELECT * FROM uplink_log WHERE n > ? ORDER BY n"
    params: list[object] = [since_n]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [
        Entry(
            int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7]), bytes(r[8]), bytes(r[9]), bytes(r[10])
        )
        for r in con.execute(sql, params).fetchall()
    ]


def verify(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Problems in the chain (empty when it is whole), each naming the row."""
    problems: list[str] = []
    prev, expected_n = GENESIS, 1
    for e in entries(con):
        if e.n != expected_n:
            problems.append(f"row {e.n}: rows {expected_n}..{e.n - 1} are missing (a gap)")
        if e.prev_hash != prev:
            problems.append(f"row {e.n}: does not chain to the row before it")
        digest = entry_hash(
            e.prev_hash, e.n, e.time, e.seq, e.kind, e.url, e.status, e.error, e.request, e.response
        )
        if digest != e.hash:
            problems.append(f"row {e.n}: its content does not match its hash (edited)")
        prev, expected_n = e.hash, e.n + 1
    return problems
