"""A pure-Python poller for the appliance's tests on Trio's MockClock: contract-shaped poll
documents (see docs/mib.md), each cycle taking ``cycle_s`` of Trio time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import trio
from printwatch.poller.documents import poll_time
from printwatch.service.poller import Device, PollerStats, PollKind, spec_of


def contract_doc(device: Device, n: int, when: dt.datetime) -> dict[str, Any]:
    """Printer ``device``'s ``n``-th poll: pages grow, toner falls, one printer in 10 is down."""
    spec = spec_of(device)
    last_octet = int(device[0].rsplit(".", 1)[-1]) if device[0][-1].isdigit() else 0
    if last_octet % 10 == 9:
        return {"target": spec, "reachable": False, "error": "timeout", "time": poll_time(when)}
    return {
        "target": spec,
        "reachable": True,
        "version": "2c",
        "rtt_ms": 0.4,
        "time": poll_time(when),
        "sys": {"descr": "Fake MFP", "object_id": "1.3.6.1.4.1.253.8.62.1", "name": f"mfp-{last_octet}"},
        "vendor": "xerox",
        "model": "Fake 7835",
        "serial": f"SER{last_octet:05d}",
        "mac": None,
        "status": {"device": "running", "printer": "idle", "errors": []},
        "meters": {"total": 1000 + 10 * n, "black": 800 + 7 * n, "color": 200 + 3 * n},
        "meter_evidence": {},
        "supplies": [
            {
                "index": 1,
                "description": 'Black "Toner"',
                "type": "toner",
                "class": "consumed",
                "color": "black",
                "unit": "percent",
                "max_capacity": 100,
                "level": max(0, 90 - n),
                "percent": float(max(0, 90 - n)),
                "state": "ok",
                "coarse": False,
                "flags": [],
            },
            {
                "index": 2,
                "description": "Waste",
                "type": "wasteToner",
                "class": "filled",
                "color": None,
                "unit": "percent",
                "max_capacity": -2,
                "level": -3,
                "percent": None,
                "state": "some_remaining",
                "coarse": True,
                "flags": [],
            },
        ],
        "trays": [],
        "alerts": [],
        "warnings": [],
        "failures": [],
        "wire": {"packets_sent": 4, "bytes_sent": 300, "bytes_received": 1000},
    }


class FakePoller:
    """Polls nothing: returns :func:`contract_doc` for each device after ``cycle_s``."""

    def __init__(self, cycle_s: float = 2.0) -> None:
        self.cycle_s = cycle_s
        self.calls: list[tuple[PollKind, int, dt.datetime]] = []
        self.stats = PollerStats()
        self.running = 0
        self.max_running = 0

    def statistics(self) -> PollerStats:
        return self.stats

    async def poll(
        self, devices: Sequence[Device], kind: PollKind, when: dt.datetime
    ) -> list[dict[str, Any]]:
        self.calls.append((kind, len(devices), when))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.stats.in_flight = len(devices)
        try:
            await trio.sleep(self.cycle_s if len(devices) > 1 else 0.1)
        finally:
            self.running -= 1
            self.stats.in_flight = 0
        docs = [contract_doc(d, len(self.calls), when) for d in devices]
        self.stats.cycles += 1
        self.stats.targets += len(devices)
        self.stats.answered += sum(d["reachable"] for d in docs)
        self.stats.timeouts += sum(not d["reachable"] for d in docs)
        return docs
