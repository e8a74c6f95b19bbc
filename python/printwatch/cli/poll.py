"""``printwatch poll``: one poll of each target, as text or as one JSON object per line."""

from __future__ import annotations

import json
import sys
from typing import Any, Literal, TextIO

from printwatch._core import Engine, Target, TargetResult, V3Credentials, VarBind
from printwatch.engine import parse_target, poll
from printwatch.poller.plans import STATUS, SYSTEM, TABLE_NAMES, raw_plan

Version = Literal["1", "2c", "3", "auto"]
EXCEPTIONS = frozenset({"NoSuchObject", "NoSuchInstance", "EndOfMibView"})


def json_value(vb: VarBind) -> Any:
    """A varbind's value as JSON: text when an octet string is printable UTF-8, else hex."""
    value = vb.value
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
        return text if text.isprintable() else value.hex()
    return value


def result_json(spec: str, r: TargetResult) -> dict[str, Any]:
    """The raw shape of one polled target (issue 4 grows it into DESIGN.md's full shape)."""
    if not r.reachable:
        return {"target": spec, "reachable": False, "error": r.status}
    # Scalars the agent does not have (noSuchObject, ...) are left out, never shown as values.
    gets = {oid: vb for oid, vb in r.gets.items() if vb.type not in EXCEPTIONS}
    sys_group = {name: json_value(gets[oid]) for name, oid in SYSTEM.items() if oid in gets}
    if isinstance(sys_group.get("uptime"), int):
        sys_group["uptime_s"] = sys_group.pop("uptime") // 100
    status = {name: json_value(gets[oid]) for name, oid in STATUS.items() if oid in gets}
    tables = {
        TABLE_NAMES.get(root, root): [[vb.oid, vb.type, json_value(vb)] for vb in rows]
        for root, rows in r.walks.items()
    }
    return {
        "target": spec,
        "reachable": True,
        "version": r.version,
        "rtt_ms": None if r.rtt_ms is None else round(r.rtt_ms, 3),
        "sys": sys_group,
        "status": status,
        "tables": tables,
        "failures": [{"op": op, "oid": oid, "kind": kind, "detail": d} for op, oid, kind, d in r.failures],
        "wire": {
            "packets_sent": r.packets_sent,
            "bytes_sent": r.bytes_sent,
            "bytes_received": r.bytes_received,
        },
    }


def print_text(doc: dict[str, Any], out: TextIO) -> None:
    if not doc["reachable"]:
        print(f"{doc['target']}: no answer ({doc['error']})", file=out)
        return
    print(f"{doc['target']}: answered SNMPv{doc['version']} in {doc['rtt_ms']} ms", file=out)
    for name, value in {**doc["sys"], **doc["status"]}.items():
        print(f"  {name}: {value}", file=out)
    for name, rows in doc["tables"].items():
        print(f"  {name}: {len(rows)} varbinds", file=out)
        for oid, vtype, value in rows:
            print(f"    {oid} = {vtype}: {value}", file=out)
    for f in doc["failures"]:
        print(f"  failed: {f['op']} {f['oid']}: {f['kind']} ({f['detail']})", file=out)


def run_poll(
    specs: list[str],
    *,
    community: str,
    version: Version,
    v3: V3Credentials | None = None,
    as_json: bool,
    engine: Engine,
    out: TextIO = sys.stdout,
) -> int:
    """Polls every target; exit status 0 if any answered, 1 if none did, 2 for a bad target."""
    plan = raw_plan()
    targets = []
    for spec in specs:
        try:
            host, port = parse_target(spec)
        except ValueError as err:
            print(f"printwatch poll: {err}", file=sys.stderr)
            return 2
        targets.append(Target(host, port, plan=plan, community=community, version=version, v3=v3))
    results = poll(targets, engine=engine)
    for spec, r in zip(specs, results, strict=True):
        doc = result_json(spec, r)
        if as_json:
            print(json.dumps(doc, separators=(",", ":")), file=out)
        else:
            print_text(doc, out)
    return 0 if any(r.reachable for r in results) else 1
