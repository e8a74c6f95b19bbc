"""Printer semantics on the simulator's dynamic printers: jams and open doors appear as alerts
and error bits, pages grow, supplies fall and are replaced, and no reading is ever a negative
count or a percentage out of range."""

from __future__ import annotations

from printwatch.engine import Engine
from printwatch.poller.documents import community_targets, poll_documents
from printwatch.sim import Simulator

from tests.support.peers import RECORDINGS

CALM = {"offline_rate": 0.0, "lossy_share": 0.0, "slow_share": 0.0}


def test_jams_and_doors_become_alerts_and_error_bits() -> None:
    dynamics = {**CALM, "jam_rate": 1.0, "door_rate": 1.0, "alert_period_s": 60.0}
    with Simulator(
        RECORDINGS / "sharp.snmprec", count=1, base="127.23.5.1", port=0, identity=False, dynamics=dynamics
    ) as sim:
        sim.advance(30.0)
        [doc] = poll_documents(
            [("p", "127.23.5.1", sim.port)], community_targets("public"), engine=Engine(timeout_s=0.5)
        )
    codes = {a["code"] for a in doc["alerts"]}
    assert {"jam", "doorOpen"} <= codes, doc["alerts"]
    assert {"jammed", "doorOpen"} <= set(doc["status"]["errors"])
    assert doc["status"]["device"] in ("warning", "down")


def test_pages_grow_and_levels_stay_in_range_over_a_simulated_month() -> None:
    dynamics = {**CALM, "pages_per_hour_min": 100.0, "pages_per_hour_max": 200.0}
    # The simulator grows prtMarkerLifeCount and HP's counters (not Sharp's or Konica
    # Minolta's private ones, which stay as recorded).
    files = [RECORDINGS / f"{n}.snmprec" for n in ("sharp", "ricoh_mpc3002", "jetdirect_m130nw")]
    engine = Engine(timeout_s=0.5)
    addresses = [(f"p{i}", f"127.23.5.{10 + i}", 0) for i in range(3)]
    with Simulator(files, count=3, base="127.23.5.10", port=0, identity=False, dynamics=dynamics) as sim:
        targets = [(name, host, sim.port) for name, host, _ in addresses]
        readings = []
        for _ in range(30):  # a reading a day for a month of simulated time
            readings.append(poll_documents(targets, community_targets("public"), engine=engine))
            sim.advance(86_400.0)
    seen_levels: dict[tuple[int, int], set[float]] = {}
    for day, docs in enumerate(readings):
        for p, doc in enumerate(docs):
            assert doc["reachable"], (day, p)
            assert all(v >= 0 for v in doc["meters"].values())
            for s in doc["supplies"]:
                if s["percent"] is not None:
                    assert 0 <= s["percent"] <= 100
                    seen_levels.setdefault((p, s["index"]), set()).add(s["percent"])
    for p in range(3):
        totals = [docs[p]["meters"]["total"] for docs in readings]
        assert totals == sorted(totals), p
    for p in (1, 2):  # ricoh (prtMarkerLifeCount), hp (its own counter)
        assert readings[-1][p]["meters"]["total"] > readings[0][p]["meters"]["total"] + 10_000
    # At 100-200 pages an hour, cartridges run out and are replaced within a month.
    assert any(len(levels) > 5 for levels in seen_levels.values())
