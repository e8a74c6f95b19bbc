"""The answer cache (printwatch.mib.interpret.AnswerCache, kept by the TwoStepPoller): an answer
the same as a device's last one gives the same document without a second interpretation; any
changed varbind is interpreted again. Against the fleet simulator and a table-driven agent on
loopback, through the real engine."""

from __future__ import annotations

import datetime as dt

import pytest
from printwatch import snmp
from printwatch._core import Target, TargetResult
from printwatch.engine import Engine, poll
from printwatch.mib import interpret
from printwatch.mib.interpret import AnswerCache
from printwatch.poller.documents import TwoStepPoller, _vendor, community_targets
from printwatch.poller.plans import base_plan, full_plan
from printwatch.sim import Simulator

from tests.support.hostile import Agent, serving
from tests.support.mibdata import SUPPLIES, i, s, supply

UPTIME = "1.3.6.1.2.1.1.3.0"


def poll_all(sim: Simulator, count: int, plan_of: object) -> list[TargetResult]:
    targets = [
        Target(sim.printer(n)["address"], sim.port, plan=plan_of, community="public")  # type: ignore[arg-type]
        for n in range(count)
    ]
    return poll(targets, engine=Engine(timeout_s=1.0, retries=1))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("vendor", [None, "hp"], ids=["base plan", "full plan"])
def test_every_recording_gives_the_same_document_from_the_cache(
    sim: Simulator, recordings: list[str], vendor: str | None
) -> None:
    plan = base_plan() if vendor is None else full_plan(vendor)
    results = poll_all(sim, len(recordings), plan)
    assert sum(r.reachable for r in results) == len(recordings)
    cache = AnswerCache()
    when = "2026-11-30T10:00:00Z"
    for name, r in zip(recordings, results, strict=True):
        plain = interpret(r, target=name, time=when)
        first = interpret(r, target=name, time=when, cache=cache)
        again = interpret(r, target=name, time=when, cache=cache)
        assert first == plain, name
        assert again == plain, name
        assert list(again) == list(plain) and list(first) == list(plain), name  # the keys' order
        # A document of its own, sharing the answer's parts (read-only): no copy per poll.
        assert again is not first and again["sys"] is not first["sys"]
        assert again["supplies"] is first["supplies"] and again["meters"] is first["meters"]
        third = interpret(r, target=name, time=when, cache=cache)
        assert third["model"] is again["model"] or third["model"] is None  # strings shared
    assert (cache.misses, cache.hits, len(cache)) == (len(recordings), 2 * len(recordings), len(recordings))


@pytest.mark.timeout(60)
def test_a_two_step_poll_is_cached_as_both_its_results(sim: Simulator) -> None:
    [base] = poll_all(sim, 1, base_plan())
    [vendor] = poll_all(sim, 1, full_plan("hp"))
    cache = AnswerCache()
    plain = interpret(base, vendor, target="p", time="t")
    assert interpret(base, vendor, target="p", time="t", cache=cache) == plain
    assert interpret(base, vendor, target="p", time="t", cache=cache) == plain
    # The base result alone is another answer: interpreted, not served as the pair's document.
    assert interpret(base, target="p", time="t", cache=cache) == interpret(base, target="p", time="t")
    assert (cache.hits, cache.misses) == (1, 2)


def printer(level: int, ticks: int) -> dict[str, snmp.VarBind]:
    cells = [
        s("1.3.6.1.2.1.1.1.0", "HP LaserJet test"),
        snmp.VarBind("1.3.6.1.2.1.1.2.0", "ObjectIdentifier", "1.3.6.1.4.1.11.2.3.9.1"),
        i(UPTIME, ticks, "TimeTicks"),
        s("1.3.6.1.2.1.1.5.0", "front-desk"),
        *supply(1, "Black Toner", level=level, capacity=100, colorant=1),
    ]
    return {vb.oid: vb for vb in cells}


def set_value(agent: Agent, vb: snmp.VarBind) -> None:
    agent.by_key[tuple(int(p) for p in vb.oid.split("."))] = vb


@pytest.mark.timeout(60)
async def test_a_changed_answer_is_interpreted_again_and_uptime_is_always_read() -> None:
    agent = Agent(printer(level=80, ticks=100_000))
    with serving(agent) as running:
        poller = TwoStepPoller(Engine(timeout_s=1.0, retries=1), [community_targets("public")])
        devices = [("p", running.address, running.port)]
        when = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
        polled = await poller.poll(devices, "status", when)
        [first], [answer] = polled, polled.answers
        set_value(agent, i(UPTIME, 200_000, "TimeTicks"))
        polled = await poller.poll(devices, "status", when + dt.timedelta(minutes=1))
        [second] = polled
        assert (poller.answers.misses, poller.answers.hits) == (1, 1)  # only uptime changed
        assert answer is not None and polled.answers == [answer]  # the consumers' "unchanged"
        assert (first["sys"]["uptime_s"], second["sys"]["uptime_s"]) == (1000, 2000)
        assert second["time"] == "2026-11-30T10:01:00Z"
        assert second["supplies"] == first["supplies"] and first["supplies"][0]["percent"] == 80

        set_value(agent, i(f"{SUPPLIES}.9.1.1", 7))  # the toner runs low
        polled = await poller.poll(devices, "status", when + dt.timedelta(minutes=2))
        [third] = polled
        assert poller.answers.misses == 2 and polled.answers[0] not in (None, answer)
        assert third["supplies"][0]["percent"] == 7 and third["supplies"][0]["state"] != "ok"

        set_value(agent, snmp.VarBind(UPTIME, "NoSuchObject"))  # uptime gone: read apart, not cached
        [fourth] = await poller.poll(devices, "status", when + dt.timedelta(minutes=3))
        assert poller.answers.hits == 2 and fourth["sys"]["uptime_s"] is None
        assert fourth["supplies"] == third["supplies"]


@pytest.mark.timeout(60)
async def test_other_thresholds_are_another_answer() -> None:
    agent = Agent(printer(level=15, ticks=100))
    with serving(agent) as running:
        [result] = poll(
            [Target(running.address, running.port, plan=base_plan(), community="public")],
            engine=Engine(timeout_s=1.0, retries=1),
        )
    cache = AnswerCache()
    assert interpret(result, cache=cache, thresholds={"toner": 10})["supplies"][0]["state"] == "ok"
    assert interpret(result, cache=cache, thresholds={"toner": 20})["supplies"][0]["state"] == "low"
    assert (cache.hits, cache.misses) == (0, 2)


@pytest.mark.timeout(60)
async def test_meter_reads_are_not_cached_and_leave_the_status_answers() -> None:
    agent = Agent(printer(level=80, ticks=100))
    with serving(agent) as running:
        poller = TwoStepPoller(Engine(timeout_s=1.0, retries=1), [community_targets("public")])
        devices = [("p", running.address, running.port)]
        when = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
        [status] = await poller.poll(devices, "status", when)
        await poller.poll(devices, "meters", when)
        assert (await poller.poll(devices, "meters", when)).answers == [None]  # never "unchanged"
        [again] = await poller.poll(devices, "status", when)
        assert (poller.answers.misses, poller.answers.hits) == (1, 1)
        assert {**again, "rtt_ms": None, "wire": None} == {**status, "rtt_ms": None, "wire": None}
        # The first status poll walked the colorant and tray tables too; the meter reads kept
        # them fresh, so this one did not.
        assert again["wire"]["packets_sent"] < status["wire"]["packets_sent"]


@pytest.mark.timeout(60)
async def test_a_huge_sysdescr_is_read_but_not_memoised() -> None:
    """A printer sending a 3 KB sysDescr (hostile or odd) still gets its vendor, and the bounded
    vendor memo does not keep it (each entry there is at most 1 KB)."""
    variables = printer(level=50, ticks=100)
    huge = s("1.3.6.1.2.1.1.1.0", "HP LaserJet " + "x" * 3000)
    variables[huge.oid] = huge
    agent = Agent(variables)
    with serving(agent) as running:
        poller = TwoStepPoller(Engine(timeout_s=1.0, retries=1), [community_targets("public")])
        before = _vendor.cache_info().currsize
        [doc] = await poller.poll(
            [("p", running.address, running.port)], "status", dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
        )
        assert poller.vendor_of == {"p": "hp"} and doc["vendor"] == "hp"
        assert _vendor.cache_info().currsize == before
