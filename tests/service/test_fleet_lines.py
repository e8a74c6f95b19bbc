"""A device's /metrics lines reused from its previous fleet entry (printwatch.service.exposition
device_lines, appliance.fleet_entry): always the lines made from scratch, whatever changed."""

from __future__ import annotations

import itertools
from typing import Any

from printwatch.service.appliance import fleet_entry
from printwatch.service.exposition import device_lines


def toner(percent: int, state: str | None = "ok") -> dict[str, Any]:
    return {"index": 1, "description": "Black\nToner", "type": "toner", "color": "black", "percent": percent,
            "state": state}  # fmt: skip


def doc(**change: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "target": 'printer "1"\\a',
        "reachable": True,
        "time": "2026-11-30T10:00:00Z",
        "rtt_ms": 1.25,
        "vendor": "hp",
        "model": "M130",
        "serial": "VN1",
        "sys": {"name": "desk"},
        "status": {"device": "running"},
        "meters": {"total": 100, "black": 80},
        "supplies": [
            {
                "index": 1,
                "description": "Black\nToner",
                "type": "toner",
                "color": "black",
                "percent": 40,
                "state": "ok",
            }
        ],
    }
    base.update(change)
    return base


CHANGES: list[dict[str, Any]] = [
    {},
    {"rtt_ms": 2.5},
    {"rtt_ms": None},
    {"serial": None},
    {"serial": "VN2"},
    {"status": {"device": "warning"}},
    {"meters": {"total": 101, "black": 80}},
    {"meters": {}},
    {
        "supplies": [
            {"index": 1, "description": "Black\nToner", "type": "toner", "color": "black", "percent": 39}
        ]
    },
    {"supplies": []},
    {"reachable": False, "rtt_ms": None, "meters": None, "supplies": None},
    {"target": "other"},
]


def test_reused_lines_are_the_lines_made_from_scratch() -> None:
    for before, after in itertools.product(CHANGES, repeat=2):
        previous = fleet_entry(doc(**before))
        entry = fleet_entry(doc(**after), previous)
        assert entry["lines"] == device_lines(fleet_entry(doc(**after))), (before, after)
        assert entry == fleet_entry(doc(**after)), (before, after)


def test_unchanged_parts_are_shared_with_the_previous_entry() -> None:
    previous = fleet_entry(doc())
    entry = fleet_entry(doc(rtt_ms=9.0), previous)
    assert entry["supplies"] is previous["supplies"] and entry["meters"] is previous["meters"]
    assert entry["lines"][3] is previous["lines"][3]
    assert entry["lines"][1] == 'printwatch_device_rtt_seconds{target="printer \\"1\\"\\\\a"} 0.009'
