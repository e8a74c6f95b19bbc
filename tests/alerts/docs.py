"""Poll documents (the shared contract) of one printer through time, for the alerts' tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

T0 = dt.datetime(2026, 11, 2, 8, 0, 0)
TARGET = "127.0.0.7:161"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def toner(percent: float | None, state: str | None = None, index: int = 1) -> dict[str, Any]:
    if state is None:
        state = "ok" if percent is None or percent > 20 else ("empty" if percent <= 0 else "low")
    return {
        "index": index,
        "description": "Black Toner Cartridge",
        "type": "toner",
        "class": "consumed",
        "color": "black",
        "unit": "percent",
        "max_capacity": 100,
        "level": -3 if percent is None else int(percent),
        "percent": percent,
        "state": state,
        "coarse": False,
        "flags": [],
    }


def doc(
    when: dt.datetime,
    *,
    supplies: list[dict[str, Any]] | None = None,
    errors: list[str] | None = None,
    alerts: list[dict[str, Any]] | None = None,
    meters: dict[str, int] | None = None,
    target: str = TARGET,
    serial: str = "CNB1234567",
) -> dict[str, Any]:
    return {
        "target": target,
        "reachable": True,
        "version": "2c",
        "rtt_ms": 0.5,
        "time": when.isoformat() + "Z",
        "sys": {
            "descr": "HP LaserJet",
            "object_id": "1.3.6.1.4.1.11.2.3.9.1",
            "name": "lj-lobby",
            "uptime_s": 100,
        },
        "vendor": "hp",
        "model": "LaserJet M507",
        "serial": serial,
        "mac": None,
        "status": {"device": "running", "printer": "idle", "errors": errors or []},
        "meters": {"total": 1000} if meters is None else meters,
        "meter_evidence": {},
        "supplies": [toner(80.0)] if supplies is None else supplies,
        "trays": [],
        "alerts": alerts or [],
        "warnings": [],
    }


def down(when: dt.datetime, target: str = TARGET) -> dict[str, Any]:
    return {"target": target, "reachable": False, "error": "timeout", "time": when.isoformat() + "Z"}
