"""The engine under Trio: results arrive while the loop keeps running, and cancelling the scope
stops the batch's sending within 100 ms."""

from __future__ import annotations

import socket
import time

import pytest
import trio
from printwatch import snmp
from printwatch.engine import Engine, Plan, Target, poll_async

from tests.support.hostile import Agent, serving

pytestmark = pytest.mark.realtime

NAME = "1.3.6.1.2.1.1.5.0"
PLAN = Plan(gets=[NAME])


async def test_poll_async_reads_while_the_loop_runs() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0.005)

    slow = Agent({NAME: snmp.VarBind(NAME, "OctetString", b"p1")})
    with serving(slow, misbehave=lambda _q, r: [(snmp.encode(r), 0.2, None)]) as a:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            [result] = await poll_async([Target(a.address, a.port, plan=PLAN)])
            nursery.cancel_scope.cancel()
    assert result.gets[NAME].value == b"p1"
    assert ticks >= 10, "the Trio loop kept running during the 200 ms poll"


async def test_cancelling_the_scope_stops_sending_within_100_ms() -> None:
    # A silent listener counts what arrives; the engine would retry for seconds without cancel.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.setblocking(False)
        port = sink.getsockname()[1]
        targets = [Target("127.0.0.1", port, plan=PLAN) for _ in range(2000)]
        engine = Engine(timeout_s=0.05, retries=10, backoff=1.0, max_pps=20_000)
        # The scope is cancelled at its deadline; the clock starts there, not when poll_async
        # gets round to returning.
        cancelled_at = time.monotonic() + 0.3
        with trio.move_on_after(0.3):
            await poll_async(targets, engine=engine)
        arrivals: list[float] = []
        deadline = cancelled_at + 0.5
        while time.monotonic() < deadline:
            try:
                while True:
                    sink.recv(2048)
                    arrivals.append(time.monotonic())
            except BlockingIOError:
                await trio.sleep(0.005)
    assert arrivals, "the engine was still sending when cancelled (test precondition)"
    assert max(arrivals) - cancelled_at < 0.1, (
        f"last packet {max(arrivals) - cancelled_at:.3f} s after cancel"
    )
