"""``printwatch enrol`` and ``printwatch uplink log``: the appliance side of the uplink."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import trio

from printwatch.cli.reading import open_or_report
from printwatch.config import ConfigError, load_config
from printwatch.uplink import log as txlog
from printwatch.uplink.enrol import EnrolError, enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint


def run_enrol(config_path: Path, token: str | None) -> int:
    """Enrol the appliance of ``config_path`` with the collector (its ``[uplink]`` table).

    Exit status 0 when enrolled, 1 when the collector refused or could not be reached, 2 for a
    configuration without an uplink, or with problems.
    """
    try:
        config = load_config(config_path)
    except ConfigError as err:
        print(f"printwatch enrol: the configuration has problems:\n{err}", file=sys.stderr)
        return 2
    up = config.uplink
    if up is None:
        print(f"printwatch enrol: {config_path} has no [uplink] table", file=sys.stderr)
        return 2
    token = token or up.token
    if not token:
        print("printwatch enrol: no token (give --token, or token in [uplink])", file=sys.stderr)
        return 2
    try:
        identity = Identity.load_or_create(up.key_file or config.appliance.state_dir / "uplink.key")
        outbox = Outbox(config.appliance.store_path, identity, up.site_id)
    except (OSError, ValueError, RuntimeError, duckdb.Error) as err:
        print(f"printwatch enrol: {err}", file=sys.stderr)
        return 1
    endpoint = Endpoint(up.url, pin=up.pin, ca_file=up.ca_file, proxy=up.proxy)
    try:
        key_id = trio.run(lambda: enrol(outbox, endpoint, token, now=dt.datetime.now(dt.UTC)))
    except EnrolError as err:
        print(f"printwatch enrol: {err}", file=sys.stderr)
        return 1
    finally:
        outbox.close()
    print(f"enrolled site {up.site_id} at {up.url} with key {key_id}")
    return 0


def _show(data: bytes) -> str:
    return data.decode("latin-1").encode("unicode_escape").decode("ascii")


def run_log(store: Path, *, show_bytes: bool, as_json: bool, limit: int | None) -> int:
    """Print the transmission log and check its hash chain: exit status 0 when whole, 1 when
    broken (each problem named), 2 for a store that cannot be read."""
    con = open_or_report(store, "printwatch uplink log", prefix_note=False)
    if con is None:
        return 2
    try:
        entries = txlog.entries(con)
        problems = txlog.verify(con)
        pending = con.execute(
            "SELECT count(*), coalesce(sum(octet_length(envelope)), 0) FROM uplink_outbox"
        ).fetchone()
        days = con.execute(
            "SELECT day, bytes, messages, thinned, held FROM uplink_days ORDER BY day DESC LIMIT 7"
        ).fetchall()
    except duckdb.Error as err:
        print(f"printwatch uplink log: {store}: {err}", file=sys.stderr)
        return 2
    finally:
        con.close()
    shown = entries[-limit:] if limit else entries
    for e in shown:
        if as_json:
            row: dict[str, Any] = {
                "n": e.n,
                "time": e.time.isoformat() + "Z",
                "seq": e.seq,
                "kind": e.kind,
                "url": e.url,
                "status": e.status,
                "error": e.error,
                "request_bytes": len(e.request),
                "response_bytes": len(e.response),
                "hash": e.hash.hex(),
            }
            if show_bytes:
                row["request"] = e.request.hex()
                row["response"] = e.response.hex()
            print(json.dumps(row))
            continue
        what = f"HTTP {e.status}" if e.status is not None else "no answer"
        error = f"  ({e.error})" if e.error else ""
        print(
            f"{e.n:6d} {e.time:%Y-%m-%d %H:%M:%S}Z seq {e.seq if e.seq is not None else '-':>6} "
            f"{e.kind or '-':9s} up {len(e.request):7d} B down {len(e.response):6d} B  {what}{error}"
        )
        if show_bytes:
            print(f"       > {_show(e.request)}")
            print(f"       < {_show(e.response)}")
    out = sys.stderr if as_json else sys.stdout
    if pending:
        print(f"outbox: {pending[0]} messages waiting ({pending[1]} bytes)", file=out)
    for day, n_bytes, messages, thinned, held in days:
        print(
            f"{day}: {n_bytes} bytes in {messages} messages, {thinned} aggregates thinned, "
            f"held back {held} times",
            file=out,
        )
    if problems:
        for p in problems:
            print(f"chain broken: {p}", file=sys.stderr)
        return 1
    print(f"chain: {len(entries)} transmissions, whole", file=out)
    return 0
