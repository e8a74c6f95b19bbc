"""Status polls leave the colorant and input tray tables out (printwatch.poller.documents): each
document is made with the parts the device's last walk of them gave, and is the document a poll
of all five tables gives while they are unchanged; they are walked again for a new device, when
another printer answers at the address, once in each device's own stretches of SLOW_REFRESH_S
of the polls' clock, and at meter reads. Through the real engine against the fleet simulator (every
recording) and a table-driven agent on loopback."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from printwatch import snmp
from printwatch.engine import Engine, poll
from printwatch.mib import interpret
from printwatch.poller.documents import SLOW_REFRESH_S, Address, TwoStepPoller, community_targets
from printwatch.poller.plans import base_plan, slow_plan, status_plan
from printwatch.sim import Simulator

from tests.support.hostile import Agent, Misbehaviour, serving
from tests.support.mibdata import COLORANTS, INPUTS, i, s, supply

WHEN = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
SERIAL = "1.3.6.1.2.1.43.5.1.1.17.1"
TRAY_LEVEL = f"{INPUTS}.10.1.1"


def same(doc: dict[str, Any]) -> dict[str, Any]:
    """A document without what is this poll's own (the round trip and the wire counts)."""
    return {**doc, "rtt_ms": None, "wire": None, "failures": None}


def test_the_status_plan_is_the_base_plan_without_the_slow_tables() -> None:
    assert status_plan().gets == base_plan().gets
    assert sorted([*status_plan().walks, *slow_plan().walks]) == sorted(base_plan().walks)
    assert slow_plan().gets == [] and len(slow_plan().walks) == 2


@pytest.mark.timeout(120)
async def test_every_recording_gives_the_documents_of_a_poll_of_every_table(
    sim: Simulator, recordings: list[str]
) -> None:
    devices = [(name, sim.printer(n)["address"], sim.port) for n, name in enumerate(recordings)]
    engine = Engine(timeout_s=1.0, retries=1)
    make = community_targets("public")
    full = poll([make(ip, port, base_plan()) for _, ip, port in devices], engine=engine)
    stamp = "2026-11-30T10:00:00Z"
    expected = [same(interpret(r, target=d[0], time=stamp)) for d, r in zip(devices, full, strict=True)]
    assert all(r.reachable for r in full)

    poller = TwoStepPoller(engine, [community_targets("public")])
    sent = []
    minutes = SLOW_REFRESH_S // 60
    for k in range(minutes + 1):  # a poll a minute
        docs = await poller.poll(devices, "status", WHEN + dt.timedelta(minutes=k))
        assert [same({**d, "time": stamp}) for d in docs] == expected, f"status poll {k + 1}"
        sent.append(sum(d["wire"]["packets_sent"] for d in docs))
    # The first poll walked the slow tables of every device; each later one, of those whose
    # stretch began (about a tenth), and every device was walked again within the stretch.
    assert max(sent[1:]) < sent[0]
    assert sum(sent[1:]) < minutes * sent[0] * 0.8
    walked = {poller.slow_parts[name].walked_at for name, _, _ in devices}
    assert min(walked) > WHEN.timestamp()
    # Unchanged answers with the same kept parts: the cache serves them.
    assert poller.answers.hits >= len(devices) * (minutes - 1)


def printer(serial: str, tray_level: int, colorant: str = "black") -> dict[str, snmp.VarBind]:
    cells = [
        s("1.3.6.1.2.1.1.1.0", "HP LaserJet test"),
        snmp.VarBind("1.3.6.1.2.1.1.2.0", "ObjectIdentifier", "1.3.6.1.4.1.11.2.3.9.1"),
        i("1.3.6.1.2.1.1.3.0", 100, "TimeTicks"),
        s("1.3.6.1.2.1.1.5.0", "front-desk"),
        s(SERIAL, serial),
        *supply(1, "Toner Cartridge", level=80, capacity=100, colorant=1),
        i(f"{COLORANTS}.2.1.1", 1),
        i(f"{COLORANTS}.3.1.1", 3),
        s(f"{COLORANTS}.4.1.1", colorant),
        i(f"{INPUTS}.9.1.1", 250),
        i(TRAY_LEVEL, tray_level),
        s(f"{INPUTS}.13.1.1", "Tray 1"),
    ]
    return {vb.oid: vb for vb in cells}


def set_value(agent: Agent, vb: snmp.VarBind) -> None:
    agent.by_key[tuple(int(p) for p in vb.oid.split("."))] = vb


@contextmanager
def polling(
    agent: Agent, misbehave: Misbehaviour | None = None, timeout_s: float = 1.0, retries: int = 1
) -> Iterator[tuple[TwoStepPoller, list[Address]]]:
    """``agent`` served on loopback as the one device ``p``, and a poller of its own."""
    with serving(agent, misbehave=misbehave) as running:
        engine = Engine(timeout_s=timeout_s, retries=retries)
        yield TwoStepPoller(engine, [community_targets("public")]), [("p", running.address, running.port)]


def slim_at(poller: TwoStepPoller, name: str, after: dt.datetime) -> dt.datetime:
    """The first minute after ``after`` at which a status poll does not walk ``name``'s slow
    tables (its kept ones being of the same printer)."""
    for k in range(1, SLOW_REFRESH_S // 60 + 2):
        when = after + dt.timedelta(minutes=k)
        if not poller.slow_due(name, when):
            return when
    raise AssertionError(f"every minute after {after} walks the slow tables")


@pytest.mark.timeout(60)
async def test_a_tray_level_shows_within_the_refresh_time() -> None:
    agent = Agent(printer("CN1", tray_level=200))
    with polling(agent) as (poller, devices):
        [first] = await poller.poll(devices, "status", WHEN)
        assert first["trays"][0]["level"] == 200
        assert first["supplies"][0]["color"] == "black"  # from the colorant table
        set_value(agent, i(TRAY_LEVEL, 50))  # paper used
        levels = []
        for k in range(1, SLOW_REFRESH_S // 60 + 1):  # a poll a minute
            [doc] = await poller.poll(devices, "status", WHEN + dt.timedelta(minutes=k))
            levels.append(doc["trays"][0]["level"])
            assert doc["supplies"][0]["color"] == "black"  # walked or kept, the colorants hold
        assert 50 in levels, levels  # walked again within SLOW_REFRESH_S
        turn = levels.index(50)
        assert levels[:turn] == [200] * turn and set(levels[turn:]) == {50}


@pytest.mark.timeout(60)
async def test_polls_further_apart_than_the_refresh_time_walk_every_time() -> None:
    agent = Agent(printer("CN1", tray_level=200))
    with polling(agent) as (poller, devices):
        for k in range(4):
            set_value(agent, i(TRAY_LEVEL, 200 - k))
            [doc] = await poller.poll(devices, "status", WHEN + dt.timedelta(seconds=k * SLOW_REFRESH_S))
            assert doc["trays"][0]["level"] == 200 - k


@pytest.mark.timeout(60)
async def test_a_meter_read_walks_the_slow_tables_for_the_status_polls_after_it() -> None:
    agent = Agent(printer("CN1", tray_level=200))
    with polling(agent) as (poller, devices):
        await poller.poll(devices, "status", WHEN)
        set_value(agent, i(TRAY_LEVEL, 120))
        when = slim_at(poller, "p", WHEN)
        [read] = await poller.poll(devices, "meters", when)
        assert read["trays"][0]["level"] == 120
        [doc] = await poller.poll(devices, "status", when)
        assert doc["trays"][0]["level"] == 120


@pytest.mark.timeout(60)
async def test_another_printer_at_the_address_is_read_whole_at_once() -> None:
    agent = Agent(printer("CN1", tray_level=200, colorant="black"))
    with polling(agent) as (poller, devices):
        await poller.poll(devices, "status", WHEN)
        when = slim_at(poller, "p", WHEN)
        [slim] = await poller.poll(devices, "status", when)
        assert slim["wire"]["packets_sent"] == 4  # a GET and three walks of one request each
        # Another printer: another serial, other trays and colorants, at a poll that would not
        # walk them otherwise.
        for vb in printer("CN2", tray_level=10, colorant="cyan").values():
            set_value(agent, vb)
        [doc] = await poller.poll(devices, "status", when)
        assert doc["serial"] == "CN2"
        assert doc["trays"][0]["level"] == 10 and doc["supplies"][0]["color"] == "cyan"
        assert doc["wire"]["packets_sent"] > slim["wire"]["packets_sent"]  # the slow step


class DropTrayWalks:
    """Answers every request but, while ``on``, the walks of prtInputTable (their requests are
    dropped: the walk times out)."""

    def __init__(self) -> None:
        self.on = False

    def __call__(
        self, request: snmp.Message, response: snmp.Message
    ) -> list[tuple[bytes, float, socket.socket | None]]:
        walking = request.pdu.type in ("getnext", "getbulk")
        if self.on and walking and any(vb.oid.startswith(INPUTS[:-2]) for vb in request.pdu.varbinds):
            return []
        return [(snmp.encode(response), 0.0, None)]


@pytest.mark.timeout(60)
async def test_a_failed_tray_walk_is_not_kept() -> None:
    drop = DropTrayWalks()
    agent = Agent(printer("CN1", tray_level=200))
    with polling(agent, drop, timeout_s=0.2, retries=0) as (poller, devices):
        [first] = await poller.poll(devices, "status", WHEN)
        when = slim_at(poller, "p", WHEN)
        drop.on = True
        [read] = await poller.poll(devices, "meters", when)  # its tray walk times out
        assert read["trays"] == [] and any(f["kind"] == "timeout" for f in read["failures"])
        drop.on = False
        [doc] = await poller.poll(devices, "status", when)
        assert doc["trays"] == first["trays"] and doc["failures"] == []  # the kept walk's trays
        # The same in the slow step: a new printer whose tray walk fails is not kept either.
        for vb in printer("CN2", tray_level=10).values():
            set_value(agent, vb)
        drop.on = True
        [doc] = await poller.poll(devices, "status", when)
        assert doc["serial"] == "CN2" and doc["trays"] == [] and doc["failures"]
        drop.on = False
        [doc] = await poller.poll(devices, "status", when)  # walked again: nothing kept of CN2
        assert doc["trays"][0]["level"] == 10 and doc["failures"] == []


@pytest.mark.timeout(60)
async def test_a_device_no_longer_polled_leaves_no_parts() -> None:
    agent = Agent(printer("CN1", tray_level=200))
    with polling(agent) as (poller, devices):
        both = [*devices, ("q", *devices[0][1:])]
        await poller.poll(both, "status", WHEN)
        assert set(poller.slow_parts) == {"p", "q"}
        await poller.poll(both[:1], "status", WHEN)
        assert set(poller.slow_parts) == {"p"}
