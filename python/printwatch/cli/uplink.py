"""``printwatch uplink log``: every transmission to the collector, and the hash chain checked."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import duckdb

from printwatch.cli.options import Subparsers, history_store
from printwatch.cli.reading import open_or_report
from printwatch.store.query import default_store
from printwatch.uplink import log as txlog


def _show(data: bytes) -> str:
    return data.decode("latin-1").encode("unicode_escape").decode("ascii")


def _json_line(e: txlog.Entry, show_bytes: bool) -> str:
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
    return json.dumps(row)


def _text_lines(e: txlog.Entry, show_bytes: bool) -> str:
    what = f"HTTP {e.status}" if e.status is not None else "no answer"
    error = f"  ({e.error})" if e.error else ""
    line = (
        f"{e.n:6d} {e.time:%Y-%m-%d %H:%M:%S}Z seq {e.seq if e.seq is not None else '-':>6} "
        f"{e.kind or '-':9s} up {len(e.request):7d} B down {len(e.response):6d} B  {what}{error}"
    )
    if show_bytes:
        line += f"\n       > {_show(e.request)}\n       < {_show(e.response)}"
    return line


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
        print(_json_line(e, show_bytes) if as_json else _text_lines(e, show_bytes))
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


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Print every transmission (time, message, bytes up and down, answer), the "
        "outbox and the bytes spent per day, and check the hash chain. Exit status 0 when the "
        "chain is whole, 1 when a row is missing or was edited, 2 for a store that cannot be read.",
        parents=[history_store()],
    )
    parser.add_argument("action", choices=["log"])
    parser.add_argument("--bytes", action="store_true", help="also print each request and response")
    parser.add_argument("--json", action="store_true", help="one JSON object per transmission")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="only the last N")
    return parser


def run(args: argparse.Namespace) -> int:
    return run_log(args.store or default_store(), show_bytes=args.bytes, as_json=args.json, limit=args.limit)
