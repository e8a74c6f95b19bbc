"""The engine against real, independent agents — net-snmp's snmpd and snmpsim serving the
LibreNMS printer recordings — compared with pysnmp's answers to the same requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from printwatch.engine import Engine, Plan, Target, TargetResult, poll
from printwatch.poller.plans import STATUS, SYSTEM

from tests.real import pysnmp_peer

Row = tuple[str, str, Any]
# Values that change between two reads of a live agent.
VOLATILE = {"TimeTicks", "Counter32", "Counter64"}


def rows_of(r: TargetResult, root: str) -> list[Row]:
    return [(vb.oid, vb.type, vb.value) for vb in r.walks[root]]


def stable(rows: list[Row]) -> list[Row]:
    return [(oid, kind, None if kind in VOLATILE else value) for oid, kind, value in rows]


@pytest.mark.parametrize("version", ["1", "2c"])
def test_snmpd_answers_as_pysnmp_reads_it(snmpd_port: int, version: str) -> None:
    gets = [*SYSTEM.values()]
    walks = ["1.3.6.1.2.1.1", "1.3.6.1.2.1.2.2", "1.3.6.1.6.3.1.1.6"]
    plan = Plan(gets=gets, walks=walks)
    target = Target("127.0.0.1", snmpd_port, plan=plan, version=version)  # type: ignore[arg-type]
    # Twice with one engine: the second poll's walks sized by the first's (GETBULK), or, in v1,
    # the interface table's columns read side by side (docs/engine.md).
    engine = Engine()
    [first] = poll([target], engine=engine)
    [again] = poll([target], engine=engine)
    want_values, want_tables = pysnmp_peer.read(snmpd_port, "public", version, gets, walks)
    for result in (first, again):
        assert result.status == "ok", result.failures
        assert result.version == version
        got_values = [(vb.oid, vb.type, vb.value) for vb in (result.gets[o] for o in gets)]
        assert stable(got_values) == stable(want_values)
        for root in walks:
            assert stable(rows_of(result, root)) == stable(want_tables[root]), root
        assert len(rows_of(result, "1.3.6.1.2.1.1")) > 10
    assert again.packets_sent <= first.packets_sent


def test_snmpd_v1_fallback_and_missing_scalars(snmpd_port: int) -> None:
    # Auto starts with v2c; snmpd speaks both, so v2c answers. A missing scalar comes back as
    # noSuchObject in v2c and as a noSuchName failure in v1 (the other scalars still read).
    missing = "1.3.6.1.2.1.1.99.0"
    plan = Plan(gets=[SYSTEM["name"], missing])
    auto, v1 = poll(
        [
            Target("127.0.0.1", snmpd_port, plan=plan),
            Target("127.0.0.1", snmpd_port, plan=plan, version="1"),
        ]
    )
    assert auto.version == "2c" and auto.gets[missing].type == "NoSuchObject"
    assert v1.version == "1" and SYSTEM["name"] in v1.gets and missing not in v1.gets
    assert [(op, oid, kind) for op, oid, kind, _ in v1.failures] == [("get", missing, "noSuchName")]


def test_every_recording_through_snmpsim_reads_as_pysnmp_reads_it(
    snmpsim_port: int, recordings: list[Path]
) -> None:
    gets = [*SYSTEM.values(), *STATUS.values()]
    walks = ["1.3.6.1.2.1.43.11.1", "1.3.6.1.2.1.43.10.2", "1.3.6.1.2.1.43.18.1"]
    plan = Plan(gets=gets, walks=walks)
    # One target per recording: same address and port, told apart by community (and request id).
    targets = [
        Target("127.0.0.1", snmpsim_port, plan=plan, community=r.stem, version="2c") for r in recordings
    ]
    engine = Engine(timeout_s=3.0)
    results = poll(targets, engine=engine)
    # Polled again by the same engine: each walk's first request sized by the first poll's
    # walk of the same table (one agent per community here, all at one address).
    again = poll(targets, engine=engine)
    assert engine.known_tables() == len(recordings) * len(walks)
    assert sum(r.bytes_received for r in again) < sum(r.bytes_received for r in results)
    for rec, result, second in zip(recordings, results, again, strict=True):
        want_values, want_tables = pysnmp_peer.read(snmpsim_port, rec.stem, "2c", gets, walks)
        for r in (result, second):
            assert r.reachable, rec.stem
            got = {vb.oid: (vb.oid, vb.type, vb.value) for vb in r.gets.values()}
            assert [got.get(oid) for oid, _, _ in want_values] == want_values, rec.stem
            for root in walks:
                assert rows_of(r, root) == want_tables[root], (rec.stem, root)
        assert second.packets_sent <= result.packets_sent, rec.stem
