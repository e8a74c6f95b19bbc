"""Poll documents in the shared contract's shape, for the store's tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 1, 0, 0, 0)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def doc(
    address: str,
    t: datetime,
    *,
    serial: str | None = "XRX123456",
    mac: str | None = None,
    total: int | None = 1000,
    black: int | None = None,
    toner: float | None = 80.0,
    vendor: str = "xerox",
    reachable: bool = True,
    port: int = 161,
) -> dict[str, Any]:
    """One printer's poll: a 'total' meter with evidence and one black toner in percent."""
    if not reachable:
        return {"target": f"{address}:{port}", "reachable": False, "error": "timeout", "time": iso(t)}
    meters: dict[str, int] = {}
    evidence: dict[str, dict[str, Any]] = {}
    if total is not None:
        meters["total"] = total
        evidence["total"] = {"oid": "1.3.6.1.2.1.43.10.2.1.4.1.1", "raw": total, "rule": "prtMarkerLifeCount"}
    if black is not None:
        meters["black"] = black
        evidence["black"] = {
            "oid": "1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.34",
            "raw": black,
            "rule": "xerox.black",
        }
    supplies = []
    if toner is not None:
        supplies.append(
            {"index": 1, "description": "Black Toner Cartridge", "type": "toner", "class": "consumed",
             "color": "black", "unit": "percent", "max_capacity": 100, "level": round(toner),
             "percent": float(round(toner)), "state": "low" if toner < 10 else "ok", "coarse": False,
             "flags": []}
        )  # fmt: skip
    return {
        "target": f"{address}:{port}", "reachable": True, "version": "2c", "rtt_ms": 0.4, "time": iso(t),
        "sys": {"descr": "Xerox WorkCentre", "object_id": "1.3.6.1.4.1.253.8.62.1", "name": f"p-{address}",
                "uptime_s": 1234, "contact": "", "location": "2nd floor"},
        "vendor": vendor, "model": "WorkCentre 7855", "serial": serial, "mac": mac,
        "status": {"device": "running", "printer": "idle", "errors": []},
        "meters": meters, "meter_evidence": evidence, "supplies": supplies,
        "trays": [{"index": 1, "name": "Tray 1", "media": "A4", "level": 120, "max_capacity": 250,
                   "percent": 48.0, "state": "ok"}],
        "alerts": [], "warnings": [], "failures": [], "wire": {},
    }  # fmt: skip


def every(minutes: int, count: int, start: datetime = T0) -> list[datetime]:
    return [start + timedelta(minutes=minutes * i) for i in range(count)]
