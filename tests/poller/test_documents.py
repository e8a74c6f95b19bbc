"""Polling into poll documents (printwatch.poller.documents, the one path of the CLI and the
appliance): sync and Trio, two steps, vendors remembered, against the fleet simulator on loopback."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import trio
import trio.lowlevel
from printwatch.engine import Engine
from printwatch.poller.documents import TwoStepPoller, community_targets, poll_documents, poll_documents_async
from printwatch.sim import Simulator

from tests.support.peers import RECORDINGS

NAMES = ["sharp", "konica_c250i", "jetdirect_m130nw"]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    files = [RECORDINGS / f"{n}.snmprec" for n in NAMES]
    with Simulator(files, count=3, base="127.23.4.1", port=0, identity=False) as s:
        yield s


def addresses(sim: Simulator) -> list[tuple[str, str, int]]:
    return [(f"printer-{i}", f"127.23.4.{i + 1}", sim.port) for i in range(3)] + [
        ("nobody", "127.23.4.99", sim.port)
    ]


def check(docs: list[dict]) -> None:  # type: ignore[type-arg]
    sharp, konica, hp, nobody = docs
    assert [d["target"] for d in docs] == ["printer-0", "printer-1", "printer-2", "nobody"]
    assert (sharp["vendor"], konica["vendor"], hp["vendor"]) == ("sharp", "konica_minolta", "hp")
    # The vendor step read each vendor's own meters.
    assert sharp["meter_evidence"]["color"]["rule"] == "sharp.color"
    assert konica["meter_evidence"]["print_black"]["rule"] == "konica_minolta.print_black"
    assert hp["meters"]["total"] == 15232 and hp["meter_evidence"]["total"]["rule"] == "hp.total"
    assert hp["serial"] == "VNCRC48198"
    assert nobody["reachable"] is False and nobody["error"] == "timeout"
    assert len({d["time"] for d in docs}) == 1  # one poll, one time


def test_poll_documents(sim: Simulator) -> None:
    engine = Engine(timeout_s=0.2, retries=0)
    check(poll_documents(addresses(sim), community_targets("public"), engine=engine))


async def test_poll_documents_async(sim: Simulator) -> None:
    engine = Engine(timeout_s=0.2, retries=0)
    check(await poll_documents_async(addresses(sim), community_targets("public"), engine=engine))


def test_thresholds_reach_the_documents(sim: Simulator) -> None:
    engine = Engine(timeout_s=0.5, retries=0)
    [sharp] = poll_documents([("s", "127.23.4.1", sim.port)], community_targets("public"), engine=engine)
    toner = [x for x in sharp["supplies"] if x["type"] == "toner"]
    assert [x["state"] for x in toner] == ["ok", "ok", "ok", "ok"]  # 55, 19, 40, 34 percent
    [sharp] = poll_documents(
        [("s", "127.23.4.1", sim.port)], community_targets("public"), engine=engine, thresholds={"toner": 20}
    )
    assert [x["state"] for x in sharp["supplies"] if x["type"] == "toner"] == ["ok", "low", "ok", "ok"]


async def test_the_poller_remembers_vendors_and_reads_meters_in_one_step(sim: Simulator) -> None:
    poller = TwoStepPoller(Engine(timeout_s=0.5, retries=0), [community_targets("public")])
    when = dt.datetime(2026, 11, 30, 10, 0, 0, 700_000, tzinfo=dt.UTC)
    first = await poller.poll(addresses(sim)[:3], "meters", when)
    sent = poller.stats.packets_sent
    again = await poller.poll(addresses(sim)[:3], "meters", when)
    assert poller.vendor_of == {"printer-0": "sharp", "printer-1": "konica_minolta", "printer-2": "hp"}
    # Base and vendor GETs in one step the second time: fewer requests than two steps took.
    assert poller.stats.packets_sent - sent < sent
    assert [d["meters"] for d in again] == [d["meters"] for d in first]
    assert {d["time"] for d in first + again} == {"2026-11-30T10:00:00Z"}


async def test_a_status_poll_asks_the_base_plan_only(sim: Simulator) -> None:
    poller = TwoStepPoller(Engine(timeout_s=0.5, retries=0), [community_targets("public")])
    when = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    [status] = await poller.poll(addresses(sim)[2:3], "status", when)
    [full] = await poller.poll(addresses(sim)[2:3], "full", when)
    assert "hp.total" not in str(status.get("meter_evidence"))
    assert full["meter_evidence"]["total"]["rule"] == "hp.total"


class SlowStart:
    """An engine whose start takes ``seconds`` more (in the thread that calls it), keeping the
    batch it returns."""

    def __init__(self, engine: Engine, seconds: float) -> None:
        self.engine, self.seconds, self.batches = engine, seconds, []  # type: ignore[var-annotated]

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)

    def start(self, targets: list[object], **kwargs: object) -> object:
        time.sleep(self.seconds)  # while the caller's scope is cancelled
        batch = self.engine.start(targets, **kwargs)  # type: ignore[arg-type]
        self.batches.append(batch)
        return batch


@pytest.mark.realtime
async def test_a_poll_cancelled_while_its_batch_starts_stops_its_batch(sim: Simulator) -> None:
    """The batch starts in a worker thread, the loop turning meanwhile; a cancel that arrives
    then ends the poll as soon as the batch is in hand, the batch cancelled (no target waits
    out its timeout and two retries, 3 s)."""
    poller = TwoStepPoller(Engine(timeout_s=1.0, retries=2), [community_targets("public")])
    slow = SlowStart(poller.engine, 0.3)
    poller.engine = slow  # type: ignore[assignment]
    silent = [(f"silent-{n}", f"127.23.5.{n % 250 + 1}", sim.port + 1) for n in range(2_000)]
    when = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            await trio.sleep(0.01)
            turns += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        started = trio.current_time()
        with trio.move_on_after(0.05) as scope:
            await poller.poll(silent, "status", when)
        elapsed = trio.current_time() - started
        nursery.cancel_scope.cancel()
    assert scope.cancelled_caught and 0.3 <= elapsed < 1.0
    assert turns >= 10  # the loop ran while the batch started
    [batch] = slow.batches
    with trio.fail_after(1.0):  # cancelled: done within the engine's turn, not in 3 s
        while not batch.done:  # noqa: ASYNC110 (polling the batch's flag)
            await trio.sleep(0.01)
    assert poller.stats.in_flight == 0
    # A poll after it is whole.
    poller.engine = slow.engine
    docs = await poller.poll(addresses(sim), "status", when)
    assert [d["reachable"] for d in docs] == [True, True, True, False]


async def test_a_batch_that_cannot_start_leaves_nothing_in_flight() -> None:
    """A local address the system cannot bind (a documentation address, RFC 5737): the poll
    fails with the engine's OSError before anything is sent (nothing is: the socket is not
    bound), and counts nothing in flight."""
    poller = TwoStepPoller(
        Engine(timeout_s=1.0, retries=0), [community_targets("public")], local_address="192.0.2.1"
    )
    when = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    with pytest.raises(BaseExceptionGroup) as raised:  # (through the poll's nurseries)
        await poller.poll([("p", "127.23.6.1", 161)], "status", when)
    assert raised.group_contains(OSError, match="cannot start the poll")
    assert poller.stats.in_flight == 0
