"""A billing read goes once per billing cycle, exactly, whatever the two clocks say.

Both sides name a cycle by its label (:func:`printwatch.uplink.messages.cycle_label`: the date
of its billing day), the appliance from its local calendar, the collector from its UTC one; no
timestamp of one side is compared with the other's clock. The scenarios run the real uplink
against the real collector (HTTPS, pinned) over simulated months, each side on its own injected
clock: the appliance hours, days or a whole cycle off, in either direction, at UTC+14 and
UTC-12, and a collector outage across a cycle boundary.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from printwatch.collector.enrolment import add_site, new_token
from printwatch.collector.store import CollectorStore
from printwatch.scheduler.schedules import BillingCycle
from printwatch.uplink.messages import cycle_label
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity

from tests.support.collector import RunningCollector, drained, start_collector
from tests.support.fakes import contract_doc
from tests.support.tls import make_certs

DEVICES = [(f"10.7.0.{i}", 161) for i in (1, 2, 3)]
KIRITIMATI = "Pacific/Kiritimati"  # UTC+14
BAKER = "Etc/GMT+12"  # UTC-12 (POSIX signs are inverted)


@pytest.mark.parametrize(
    ("kind", "day", "date", "label"),
    [
        ("monthly", 1, dt.date(2026, 12, 6), "2026-12-01"),
        ("monthly", 1, dt.date(2026, 12, 1), "2026-12-01"),
        ("monthly", 15, dt.date(2026, 12, 14), "2026-11-15"),
        ("monthly", 15, dt.date(2027, 1, 3), "2026-12-15"),
        ("monthly", 28, dt.date(2028, 2, 29), "2028-02-28"),
        ("monthly", 1, dt.date(2028, 2, 29), "2028-02-01"),
        ("monthly", 1, dt.date(2026, 12, 31), "2026-12-01"),
        ("quarterly", 1, dt.date(2026, 12, 31), "2026-10-01"),
        ("quarterly", 1, dt.date(2027, 1, 1), "2027-01-01"),
        ("quarterly", 10, dt.date(2027, 1, 9), "2026-10-10"),
        ("semiannual", 1, dt.date(2027, 6, 30), "2027-01-01"),
        ("semiannual", 5, dt.date(2027, 1, 4), "2026-07-05"),
    ],
)
def test_a_cycle_is_labelled_by_the_date_of_its_billing_day(
    kind: str, day: int, date: dt.date, label: str
) -> None:
    assert cycle_label(kind, day, date) == label


def test_a_bad_schedule_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="billing cycle 'weekly'"):
        cycle_label("weekly", 1, dt.date(2027, 1, 1))
    with pytest.raises(ValueError, match="billing day 29"):
        cycle_label("monthly", 29, dt.date(2027, 1, 1))


@pytest.mark.parametrize("zone", [KIRITIMATI, BAKER, "UTC"])
def test_the_appliance_labels_its_billing_slot_with_its_local_billing_day(zone: str) -> None:
    schedule = BillingCycle("monthly", 1, zone)
    slot = schedule.latest_at_or_before(dt.datetime(2027, 3, 10, tzinfo=dt.UTC))
    local = slot.astimezone(zoneinfo.ZoneInfo(zone)).date()
    assert local == dt.date(2027, 3, 1)
    assert cycle_label("monthly", 1, local) == "2027-03-01"  # the collector's label for March


@dataclass
class World:
    """The collector's clock (naive UTC) and the appliance's (its own, ``skew`` off)."""

    t: dt.datetime
    skew: dt.timedelta

    def collector(self) -> dt.datetime:
        return self.t

    def appliance(self) -> dt.datetime:
        return (self.t + self.skew).replace(tzinfo=dt.UTC)


def billing_reads_sent(store: CollectorStore) -> Counter[tuple[int, str]]:
    """Every (device, cycle) of every billing message the collector received, duplicates kept."""
    sent: Counter[tuple[int, str]] = Counter()
    for (body,) in store.con.execute("SELECT payload FROM messages WHERE kind = 'billing'").fetchall():
        data = json.loads(body)["data"]
        sent.update((int(n), data["cycle"]) for n, _ in data["r"])
    return sent


@pytest.mark.realtime
@pytest.mark.parametrize(
    ("skew_h", "zone", "outage", "collector_cycle"),
    [
        (0, KIRITIMATI, False, "monthly"),
        (0, BAKER, False, "monthly"),
        (-5, KIRITIMATI, False, "monthly"),  # hours behind across a boundary
        (5, BAKER, False, "monthly"),
        (-3 * 24, BAKER, False, "monthly"),  # days behind
        (3 * 24, KIRITIMATI, False, "monthly"),
        (-32 * 24, KIRITIMATI, False, "monthly"),  # a whole cycle behind
        (32 * 24, BAKER, False, "monthly"),  # a whole cycle ahead
        (0, KIRITIMATI, True, "monthly"),  # the collector down for 10 days across a boundary
        (-2 * 24, "UTC", False, "quarterly"),  # the collector's schedule names the cycle
    ],
)
async def test_one_billing_read_per_device_and_cycle_whatever_the_clocks_say(
    tmp_path: Path,
    collector_store: str | Path,
    nursery: trio.Nursery,
    skew_h: int,
    zone: str,
    outage: bool,
    collector_cycle: str,
) -> None:
    world = World(dt.datetime(2026, 11, 20), dt.timedelta(hours=skew_h))
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    add_site(store, "site-a", now=world.t)
    # Billing reads and the daily sync only (the aggregates would only make the test slower).
    services = '{"services": {"aggregates": false, "reorders": false, "snapshots": false}}'
    store.con.execute(
        "UPDATE sites SET billing_cycle = ?, settings = ? WHERE site_id = 'site-a'",
        [collector_cycle, services],
    )
    # The token is checked by the collector's clock: made on its first day, valid for the run.
    token = new_token(store, "site-a", now=world.t, valid_days=120)
    collector: RunningCollector | None = await start_collector(nursery, store, certs, now=world.collector)
    assert collector is not None
    endpoint, port = collector.endpoint(), collector.port
    box = Outbox(tmp_path / "appliance.duckdb", Identity.generate(), "site-a")
    svc = UplinkService(
        box, endpoint, now=world.appliance, token=token, backoff=Backoff(0.01, 0.05), idle_s=0.02
    )
    await nursery.start(svc.serve)
    schedule = BillingCycle("monthly", 1, zone)
    local = zoneinfo.ZoneInfo(zone)
    step = dt.timedelta(hours=24)
    labels_seen: set[str] = set()
    down = (dt.datetime(2026, 12, 25), dt.datetime(2027, 1, 4))
    for k in range(1, 100):  # 100 days
        before = world.appliance()
        world.t += step
        is_down = outage and down[0] <= world.t < down[1]
        if is_down and collector is not None:
            await collector.stop()
            collector = None
        elif not is_down and collector is None:
            collector = await start_collector(nursery, store, certs, now=world.collector, port=port)
        docs = [contract_doc(d, k, world.appliance()) for d in DEVICES]
        await svc.observe(docs)
        await svc.upload(world.appliance())  # a sync once a day
        slot = schedule.latest_at_or_before(world.appliance())
        if before < slot <= world.appliance():
            await svc.billing_cycle(slot.astimezone(local).date(), docs)
        if collector is not None:
            await drained([svc])
            await drained([svc])  # what the sync answer asked for
            labels_seen.add(cycle_label(collector_cycle, 1, world.t.date()))
    sent = billing_reads_sent(store)
    numbers = [int(r[0]) for r in store.con.execute("SELECT n FROM devices ORDER BY n").fetchall()]
    assert len(numbers) == len(DEVICES)
    # Exactly one read per device of every cycle the collector lived through...
    for label in sorted(labels_seen):
        assert [sent[(n, label)] for n in numbers] == [1] * len(numbers), (label, sent)
    # ... and never two of any cycle (an appliance ahead may have sent the next one early).
    assert max(sent.values()) == 1, sent
    stored = store.con.execute(
        "SELECT n, cycle, count(DISTINCT seq) FROM meter_reads WHERE source = 'billing' GROUP BY n, cycle"
    ).fetchall()
    assert all(c == 1 for _, _, c in stored)
    nursery.cancel_scope.cancel()
