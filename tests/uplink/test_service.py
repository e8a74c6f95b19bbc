"""The uplink service's decisions, on a real store without a network: registrations before use,
reorder triggers once per supply, the byte budget (aggregates thinned first, billing reads held
back only when the day is spent without them), and the appliance's hooks calling it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.uplink.codec import decode_payload
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity, open_envelope
from printwatch.uplink.transport import Endpoint

from tests.support.fakes import contract_doc

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
NOWHERE = Endpoint("https://127.0.0.1:9")  # never used here: nothing is sent


def devices(count: int) -> list[tuple[str, int]]:
    return [(f"10.5.{i // 200}.{i % 200 + 10}", 161) for i in range(count)]


def fleet(count: int, n: int, when: dt.datetime = T0) -> list[dict[str, Any]]:
    return [contract_doc(d, n, when) for d in devices(count)]


def varied(count: int) -> list[dict[str, Any]]:
    """A fleet whose printers differ (pages, toner), as real ones do."""
    return [contract_doc(d, 5 + (i * 37) % 80, T0) for i, d in enumerate(devices(count))]


def make(tmp_path: Path, name: str, budget: int | None = None, **kw: Any) -> UplinkService:
    box = Outbox(tmp_path / f"{name}.duckdb", Identity.generate(), "site")
    return UplinkService(box, NOWHERE, now=lambda: T0, budget_bytes_per_day=budget, **kw)


def messages(svc: UplinkService) -> list[tuple[dict[str, Any], int, dt.datetime]]:
    box = svc.outbox
    keys = {box.identity.key_id: box.identity.public_raw}.get
    rows = box.con.execute("SELECT envelope, next_attempt_at FROM uplink_outbox ORDER BY seq").fetchall()
    return [(decode_payload(open_envelope(bytes(e), keys)[1]), len(bytes(e)), t) for e, t in rows]


async def test_registration_goes_first_once_and_devices_keep_their_numbers(tmp_path: Path) -> None:
    svc = make(tmp_path, "a")
    await svc.observe(fleet(30, 1))
    await svc.upload(T0)
    await svc.observe(fleet(30, 2))
    await svc.upload(T0)
    kinds = [m["kind"] for m, _, _ in messages(svc)]
    assert kinds == ["register", "aggregate", "sync", "aggregate"]  # one sync a day
    register = messages(svc)[0][0]["data"]["devices"]
    assert len(register) == 27 and {d["n"] for d in register} == set(range(1, 28))  # 3 never answered
    assert register[0]["supplies"][0] == [1, "toner", "black", 'Black "Toner"']
    agg2 = messages(svc)[3][0]["data"]
    assert set(agg2["m"]["total"]) == {10}  # 10 pages each since the last aggregate
    svc.outbox.close()
    # Reopened: the same numbers, no new registration.
    box = Outbox(tmp_path / "a.duckdb", svc.outbox.identity, "site")
    again = UplinkService(box, NOWHERE, now=lambda: T0)
    await again.observe(fleet(30, 3))
    await again.upload(T0)
    assert [m["kind"] for m, _, _ in messages(again)][-1] == "aggregate"
    assert len(messages(again)) == 5


async def test_a_reorder_trigger_fires_once_per_supply_until_it_is_replaced(tmp_path: Path) -> None:
    forecast = {"serial:SER00010#1": 3.0}  # SER00010's toner runs out in 3 days: inside the lead time
    svc = make(tmp_path, "r", reorder_percent=20.0, lead_time_days=7.0, forecast=lambda: forecast)
    await svc.observe(fleet(3, 40))  # toner at 50 %
    fired = [m["data"]["t"] for m, _, _ in messages(svc) if m["kind"] == "reorder"]
    assert fired == [[[1, 1, 50.0, "lead_time", 3.0]]]
    forecast.clear()
    await svc.observe(fleet(3, 71))  # 19 %: the others cross the reorder point (one message)
    fired = [m["data"]["t"] for m, _, _ in messages(svc) if m["kind"] == "reorder"]
    assert fired[1] == [[2, 1, 19.0, "reorder_point", None], [3, 1, 19.0, "reorder_point", None]]
    await svc.observe(fleet(3, 75))  # lower still: no new trigger
    await svc.observe(fleet(3, 68))  # back at 22 %, wavering around the point: still none
    await svc.observe(fleet(3, 71))
    assert len([m for m, _, _ in messages(svc) if m["kind"] == "reorder"]) == 2
    await svc.observe(fleet(3, 0))  # replaced (90 %), then low again: new triggers
    await svc.observe(fleet(3, 72))
    fired = [m["data"]["t"] for m, _, _ in messages(svc) if m["kind"] == "reorder"]
    assert len(fired) == 3 and [t[0] for t in fired[2]] == [1, 2, 3]


async def test_the_budget_thins_aggregates_before_holding_back_billing_reads(tmp_path: Path) -> None:
    # What each message costs, with room to spare.
    free = make(tmp_path, "free", budget=1 << 30, reorder_percent=-1.0)
    await free.billing_cycle(T0.date(), varied(120))
    await free.observe(varied(120))
    await free.upload(T0)
    sizes = {m["kind"]: size for m, size, _ in messages(free)}
    full = messages(free)[2][0]["data"]
    assert {"up", "st", "m", "s"} <= set(full)
    # A budget with room for the registration, the billing read, and 85 % of the full aggregate.
    budget = int((sizes["register"] + sizes["billing"] + 0.85 * sizes["aggregate"]) / 0.9)
    tight = make(tmp_path, "tight", budget=budget, reorder_percent=-1.0)
    await tight.billing_cycle(T0.date(), varied(120))
    await tight.observe(varied(120))
    await tight.upload(T0)
    sent = messages(tight)
    assert [m["kind"] for m, _, _ in sent] == ["register", "billing", "aggregate", "sync"]
    thinned = sent[2][0]["data"]
    assert "up" not in thinned and "s" not in thinned and thinned["m"] == full["m"]  # meters kept
    assert all(t == T0.replace(tzinfo=None) for _, _, t in sent)  # nothing held back
    assert sum(size for _, size, _ in sent) <= budget
    _, spent, _, thinned_count, held = tight.outbox.days()[0]
    assert spent == sum(size for _, size, _ in sent) and thinned_count == 1 and held == 0
    # A budget the registration alone spends: the aggregate is thinned away; the sync and the
    # billing read are held back to tomorrow, not dropped.
    broke = make(tmp_path, "broke", budget=sizes["register"] + 10, reorder_percent=-1.0)
    await broke.observe(varied(120))
    await broke.upload(T0)
    await broke.billing_cycle(T0.date(), varied(120))
    sent = messages(broke)
    assert [m["kind"] for m, _, _ in sent] == ["register", "sync", "billing"]
    assert [t for _, _, t in sent] == [
        T0.replace(tzinfo=None),
        dt.datetime(2026, 12, 1),
        dt.datetime(2026, 12, 1),
    ]
    tomorrow, today = broke.outbox.days()  # newest first: (day, bytes, messages, thinned, held)
    assert today[3] == 1 and tomorrow[4] == 2 and today[1] == sent[0][1]


async def test_the_appliance_hands_every_cycle_billing_and_assist_to_the_uplink(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    from printwatch.config.model import Config, Intervals
    from printwatch.scheduler import MemoryState, TrioWallClock
    from printwatch.service.appliance import Appliance
    from printwatch.service.sinks import MemorySink

    from tests.support.fakes import FakePoller

    # The outbox writes in worker threads, which autojump does not wait for (the clock would leap
    # hours while a write is in hand): Trio's clock runs 3,600 times real time instead.
    mock_clock.rate = 3600.0
    clock = TrioWallClock(dt.datetime(2026, 10, 31, 22, 0, tzinfo=dt.UTC))
    config = Config(
        devices=tuple(devices(12)), intervals=Intervals(upload_times=(dt.time(2, 30),), jitter=0.0)
    )
    box = Outbox(tmp_path / "app.duckdb", Identity.generate(), "site")
    svc = UplinkService(box, NOWHERE, now=clock.now)
    app = Appliance(
        config,
        poller=FakePoller(cycle_s=2.0),
        sink=MemorySink(),
        state=MemoryState(),
        clock=clock,
        uplink=svc,
    )
    with trio.move_on_after(5 * 3600):  # to Nov 1, 03:00: the billing cycle at 00:00, the upload at 02:30
        await app.serve()
    await app.assist("10.5.0.12:161")
    kinds = [m["kind"] for m, _, _ in messages(svc)]
    assert kinds[0] == "register" and kinds.count("billing") == 1 and kinds[-1] == "snapshot"
    assert kinds.count("aggregate") == 1  # Nov 1 at 02:30
    agg = next(m for m, _, _ in messages(svc) if m["kind"] == "aggregate")["data"]
    assert agg["polls"] >= 40 and len(agg["n"]) == 11  # every status and meter cycle since the start
    assert svc.pending() == len(kinds)


def test_the_forecast_comes_from_the_history_store(tmp_path: Path) -> None:
    from printwatch.store import Store
    from printwatch.uplink.service import store_forecast

    with Store(tmp_path / "h.duckdb", meter_interval_s=0) as store:
        for day in range(6):
            store.ingest([contract_doc(("10.5.0.10", 161), 10 * day, T0 + dt.timedelta(days=day))])
        forecast = store_forecast(store.reader())
    # 10 points a day from 90 %: at 40 % after 5 days, empty 4 days later.
    assert forecast["serial:SER00010#1"] == pytest.approx(4.0, abs=0.2)
    assert set(forecast) == {"serial:SER00010#1", "target:10.5.0.10#1"}


def test_open_uplink_from_the_configuration(tmp_path: Path) -> None:
    from printwatch.config import parse_config
    from printwatch.uplink.service import DisabledUplink, open_uplink

    base = f'[appliance]\nstate_dir = "{tmp_path}"\n'
    table = '[uplink]\nurl = "https://127.0.0.1:9"\nsite_id = "s1"\npin = "sha256/AAAA"\n'
    assert (
        open_uplink(
            parse_config(base).uplink, parse_config(base).appliance, now=lambda: T0, reorder_percent=20
        )
        is None
    )
    off = parse_config(base + table + "enabled = false\n")
    assert isinstance(
        open_uplink(off.uplink, off.appliance, now=lambda: T0, reorder_percent=20), DisabledUplink
    )
    assert not (tmp_path / "uplink.key").exists()  # off: no key, no outbox
    more = "endpoints = ['https://127.0.0.2:9', 'https://127.0.0.3:9']\n"
    on = parse_config(base + table + "budget_bytes_per_day = 50000\nproxy = 'http://127.0.0.1:3128'\n" + more)
    svc = open_uplink(on.uplink, on.appliance, now=lambda: T0, reorder_percent=20)
    assert isinstance(svc, UplinkService) and svc.budget() == 50000
    assert svc.endpoint.proxy == "http://127.0.0.1:3128" and svc.endpoint.pin == "sha256/AAAA"
    assert svc.endpoint.urls == ("https://127.0.0.1:9", "https://127.0.0.2:9", "https://127.0.0.3:9")
    assert (tmp_path / "uplink.key").stat().st_mode & 0o777 == 0o600
    assert svc.outbox.con.execute("SELECT count(*) FROM uplink_outbox").fetchall() == [(0,)]
    svc.outbox.close()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("pin = 'abc'", "uplink.pin: a pin is sha256/BASE64"),
        ("proxy = 'socks5://x'", "uplink.proxy: the proxy must be http://host:port"),
        ("budget_bytes_per_day = 10", "uplink.budget_bytes_per_day: 10 is out of range"),
        ("enabled = 'no'", "uplink.enabled: expected true or false"),
    ],
)
def test_bad_uplink_settings_name_their_line(line: str, message: str) -> None:
    from printwatch.config import ConfigError, parse_config

    text = f'[uplink]\nurl = "https://c.example"\nsite_id = "s"\n{line}\n'
    with pytest.raises(ConfigError, match=f"<config>:4: {message}"):
        parse_config(text)


async def test_the_daily_upkeep_renews_the_store_with_the_outbox_and_both_work_after(tmp_path: Path) -> None:
    from printwatch.service.sinks import open_sink

    path = tmp_path / "history.duckdb"
    sink = open_sink(path, poll_interval_s=300, meter_interval_s=3600)
    svc = UplinkService(Outbox(path, Identity.generate(), "site"), NOWHERE, now=lambda: T0)
    sink.share_file(svc.outbox, svc.limiter)
    await sink.ingest(fleet(20, 1))
    await svc.observe(fleet(20, 1))
    first = svc.outbox.enqueue("sync", {"sv": 0}, T0)
    with sink.store.reading() as con:
        before = con.execute("SELECT count(*), count(last_poll_at) FROM devices").fetchone()
    old = svc.outbox.con
    await sink.upkeep(T0 + dt.timedelta(hours=1))
    assert sink.store.renewals == 1 + sink.renewals_after_writes and svc.outbox.con is not old
    # Both connections work on the reopened database: the outbox's messages are still there,
    # it numbers on, and the next cycle is written.
    assert [m["seq"] for m, _, _ in messages(svc)] == [first]
    assert svc.outbox.enqueue("sync", {"sv": 0}, T0) == first + 1
    await svc.observe(fleet(20, 2, T0 + dt.timedelta(minutes=5)))
    await sink.ingest(fleet(20, 2, T0 + dt.timedelta(minutes=5)))
    with sink.store.reading() as con:
        assert con.execute("SELECT count(*), count(last_poll_at) FROM devices").fetchone() == before
        assert con.execute("SELECT max(last_poll_at) FROM devices").fetchone() == (
            (T0 + dt.timedelta(minutes=5)).replace(tzinfo=None),
        )
    await sink.close()
    svc.outbox.close()


async def test_an_assist_flood_neither_spends_the_budget_nor_holds_back_billing(tmp_path: Path) -> None:
    # Before: 40 assist calls in a second spent the day's budget, held 25 messages to the next day
    # and the billing read behind them (the stream is in order).
    svc = make(tmp_path, "flood", budget=16384)
    docs = varied(40)
    await svc.observe(docs)
    for doc in docs:  # 40 calls at once, each printer once...
        await svc.snapshot(doc)
    for _ in range(10):  # ... and one printer again and again
        await svc.snapshot(docs[0])
    await svc.billing_cycle(T0.date(), docs)
    sent = messages(svc)
    kinds = [m["kind"] for m, _, _ in sent]
    snapshot_bytes = sum(size for m, size, _ in sent if m["kind"] == "snapshot")
    assert 0 < kinds.count("snapshot") < 40 and snapshot_bytes <= 0.25 * 16384
    assert kinds[-1] == "billing"
    assert all(due <= T0.replace(tzinfo=None) for _, _, due in sent)  # nothing held to tomorrow
    assert svc.outbox.days()[0][4] == 0
    # A second call for one printer within ten minutes is skipped; after them it goes again.
    later = make(tmp_path, "later", budget=16384)
    clock = [T0]
    later.now = lambda: clock[0]
    await later.snapshot(docs[1])
    await later.snapshot(docs[1])
    clock[0] = T0 + dt.timedelta(minutes=11)
    await later.snapshot(docs[1])
    assert [m["kind"] for m, _, _ in messages(later)].count("snapshot") == 2
