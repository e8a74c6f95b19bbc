"""The readable form of a poll document (``printwatch poll`` without ``--json``)."""

from __future__ import annotations

from typing import Any, TextIO


def _fmt_level(level: Any, capacity: Any) -> str:
    if level is None:
        return "-"
    names = {-1: "other", -2: "unknown", -3: "some left"}
    text = names.get(level, str(level))
    return f"{text}/{names.get(capacity, capacity)}" if capacity is not None else text


def _pct(percent: Any) -> str:
    return "-" if percent is None else f"{percent:.0f}%"


def _table(rows: list[list[str]], out: TextIO, indent: str = "    ") -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )


def print_text(doc: dict[str, Any], out: TextIO) -> None:
    """Prints one poll document as a short report with tables."""
    if not doc["reachable"]:
        print(f"{doc['target']}: no answer ({doc['error']})", file=out)
        return
    print(f"{doc['target']}: answered SNMPv{doc['version']} in {doc['rtt_ms']} ms at {doc['time']}", file=out)
    who = [doc["model"] or doc["sys"].get("descr") or "unknown model"]
    who += [f"{k} {doc[k]}" for k in ("vendor", "serial", "mac") if doc.get(k)]
    print("  " + ", ".join(who), file=out)
    st = doc["status"]
    errors = ", ".join(st["errors"]) or "none"
    print(f"  status: device {st['device']}, printer {st['printer']}, errors: {errors}", file=out)
    if doc["meters"]:
        print("  meters: " + ", ".join(f"{k} {v:,}" for k, v in doc["meters"].items()), file=out)
    if doc["supplies"]:
        print("  supplies:", file=out)
        rows = [["#", "description", "type", "color", "level", "percent", "state"]]
        for s in doc["supplies"]:
            state = s["state"] + (" (coarse)" if s["coarse"] else "") + "".join(f" [{f}]" for f in s["flags"])
            rows.append(
                [
                    str(s["index"]),
                    s["description"] or "-",
                    s["type"] or "-",
                    s["color"] or "-",
                    _fmt_level(s["level"], s["max_capacity"]),
                    _pct(s["percent"]),
                    state,
                ]
            )
        _table(rows, out)
    if doc["trays"]:
        print("  trays:", file=out)
        rows = [["#", "name", "media", "level", "percent", "state"]]
        for t in doc["trays"]:
            rows.append(
                [
                    str(t["index"]),
                    t["name"] or "-",
                    t["media"] or "-",
                    _fmt_level(t["level"], t["max_capacity"]),
                    _pct(t["percent"]),
                    t["state"],
                ]
            )
        _table(rows, out)
    for a in doc["alerts"]:
        print(f"  alert: {a['severity']} {a['code']} ({a['group']}): {a['description'] or ''}", file=out)
    for w in doc.get("warnings", []):
        print(f"  warning: {w}", file=out)
    for f in doc.get("failures", []):
        print(f"  failed: {f['op']} {f['oid']}: {f['kind']} ({f['detail']})", file=out)
