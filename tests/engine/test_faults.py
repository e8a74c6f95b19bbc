"""The engine against agents that misbehave: it never crashes or hangs, reports the right
failure kind for the bad target, counts what it dropped, and the good targets are unaffected.
Every agent is a real UDP socket on loopback (tests/support/hostile.py)."""

from __future__ import annotations

import datetime as dt
import random
import socket
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from printwatch import snmp
from printwatch.engine import Batch, Engine, Plan, Target, TargetResult, collect, poll

from tests.support.hostile import Agent, Running, serving, table

ROOT = "1.3.6.1.2.1.43.11.1"
NAME = "1.3.6.1.2.1.1.5.0"
ROWS = 60


def agent(rows: int = ROWS, **kw: object) -> Agent:
    variables = {NAME: snmp.VarBind(NAME, "OctetString", b"printer"), **table(ROOT, rows)}
    return Agent(variables, **kw)  # type: ignore[arg-type]


PLAN = Plan(gets=[NAME], walks=[ROOT])
FAST = Engine(timeout_s=0.1, retries=1)


def targets(*agents: Running, plan: Plan = PLAN) -> list[Target]:
    return [Target(a.address, a.port, plan=plan) for a in agents]


def assert_complete(r: TargetResult, rows: int = ROWS) -> None:
    assert r.status == "ok", r.failures
    assert r.gets[NAME].value == b"printer"
    walked = r.walks[ROOT]
    assert [vb.oid for vb in walked] == [f"{ROOT}.1.{i}" for i in range(1, rows + 1)]


@pytest.fixture
def good() -> Iterator[Running]:
    with serving(agent(), "127.0.0.9") as running:
        yield running


def run_batch(targets: list[Target], engine: Engine = FAST) -> tuple[list[TargetResult], dict[str, int]]:
    batch: Batch = engine.start(targets)
    return collect(batch), batch.statistics()


def test_a_target_that_never_answers_times_out(good: Running) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        dead = Target("127.0.0.1", silent.getsockname()[1], plan=PLAN)
        (r_dead, r_good), stats = run_batch([dead, *targets(good)])
    assert not r_dead.reachable and r_dead.status == "timeout"
    assert [(op, kind) for op, _, kind, _ in r_dead.failures] == [("get", "timeout"), ("walk", "timeout")]
    assert r_dead.packets_sent == 2  # one request and its retry; the walk was never tried
    assert_complete(r_good)
    assert stats["timeouts"] == 2


def test_answers_from_the_wrong_address_or_port_are_spoofed(good: Running) -> None:
    with ExitStack() as stack:
        other_host = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        other_host.bind(("127.0.0.2", 0))
        other_port = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        other_port.bind(("127.0.0.1", 0))
        a = stack.enter_context(serving(agent(), misbehave=lambda _q, r: [(snmp.encode(r), 0, other_host)]))
        b = stack.enter_context(serving(agent(), misbehave=lambda _q, r: [(snmp.encode(r), 0, other_port)]))
        (ra, rb, rg), stats = run_batch(targets(a, b, good))
    assert ra.status == rb.status == "timeout"
    assert stats["spoofed"] == 4  # two tries each, every answer from the wrong place
    assert_complete(rg)


def with_request_id(resp: snmp.Message, request_id: int) -> snmp.Message:
    p = resp.pdu
    pdu = snmp.Pdu(
        "response", p.varbinds, request_id=request_id, error_status=p.error_status, error_index=p.error_index
    )
    return snmp.Message(resp.version, resp.community, pdu)


def test_wrong_request_ids_and_communities_do_not_count(good: Running) -> None:
    def wrong_id(_q: snmp.Message, r: snmp.Message) -> list[tuple[bytes, float, None]]:
        return [(snmp.encode(with_request_id(r, r.pdu.request_id ^ 0x5A5A)), 0, None)]

    def wrong_community(_q: snmp.Message, r: snmp.Message) -> list[tuple[bytes, float, None]]:
        return [(snmp.encode(snmp.Message(r.version, b"private", r.pdu)), 0, None)]

    with serving(agent(), misbehave=wrong_id) as a, serving(agent(), misbehave=wrong_community) as b:
        (ra, rb, rg), stats = run_batch(targets(a, b, good))
    assert ra.status == rb.status == "timeout"
    assert stats["spoofed"] == 4
    assert_complete(rg)


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x30",
        b"\x30\x82\xff\xff\x02\x01\x01",
        bytes(random.Random(3).randrange(256) for _ in range(200)),
    ],
    ids=["empty", "one-byte", "lying-length", "random"],
)
def test_truncated_and_garbage_answers_are_malformed(good: Running, garbage: bytes) -> None:
    with serving(agent(), misbehave=lambda _q, _r: [(garbage, 0, None)]) as bad:
        (rb, rg), stats = run_batch(targets(bad, good))
    assert rb.status == "malformed" and not rb.reachable
    assert stats["malformed"] == 2
    assert_complete(rg)


def test_a_truncated_real_answer_is_malformed(good: Running) -> None:
    with serving(agent(), misbehave=lambda _q, r: [(snmp.encode(r)[:-3], 0, None)]) as bad:
        (rb, rg), _ = run_batch(targets(bad, good))
    assert rb.status == "malformed"
    assert_complete(rg)


def endless(q: snmp.Message, r: snmp.Message) -> list[tuple[bytes, float, None]]:
    """GETBULK that never ends: always more rows after the one asked for."""
    if q.pdu.type != "getbulk":
        return [(snmp.encode(r), 0, None)]
    last = int(q.pdu.varbinds[0].oid.split(".")[-1]) if q.pdu.varbinds[0].oid != ROOT else 0
    rows = [
        snmp.VarBind(f"{ROOT}.1.{last + i}", "Integer", last + i)
        for i in range(1, (q.pdu.max_repetitions or 1) + 1)
    ]
    return [(snmp.encode(with_varbinds(r, rows)), 0, None)]


def backwards(q: snmp.Message, r: snmp.Message) -> list[tuple[bytes, float, None]]:
    """GETBULK that goes back to the first rows once it has given them."""
    if q.pdu.type != "getbulk":
        return [(snmp.encode(r), 0, None)]
    rows = [snmp.VarBind(f"{ROOT}.1.{i}", "Integer", i) for i in (1, 2, 3)]
    return [(snmp.encode(with_varbinds(r, rows)), 0, None)]


def with_varbinds(r: snmp.Message, varbinds: list[snmp.VarBind]) -> snmp.Message:
    return snmp.Message(r.version, r.community, snmp.Pdu("response", varbinds, request_id=r.pdu.request_id))


def test_a_walk_that_never_ends_stops_at_the_row_cap(good: Running) -> None:
    with serving(agent(), misbehave=endless) as bad:
        (rb, rg), _ = run_batch(targets(bad, good), Engine(timeout_s=0.2, max_rows=500))
    assert rb.status == "rowCap"
    assert len(rb.walks[ROOT]) == 500 and rb.gets[NAME].value == b"printer"
    assert_complete(rg)


def test_a_walk_that_goes_backwards_is_a_loop(good: Running) -> None:
    with serving(agent(), misbehave=backwards) as bad:
        (rb, rg), _ = run_batch(targets(bad, good))
    assert rb.status == "loop"
    assert [vb.oid for vb in rb.walks[ROOT]] == [f"{ROOT}.1.{i}" for i in (1, 2, 3)]
    assert_complete(rg)


def test_too_big_lowers_max_repetitions_and_splits_gets(good: Running) -> None:
    # Answers above 700 bytes are refused with tooBig: the 25-row GETBULKs and a GET of 40
    # long scalars must shrink until they fit, and every row still arrives once.
    scalars = {
        f"1.3.6.1.4.1.99.{i}.0": snmp.VarBind(f"1.3.6.1.4.1.99.{i}.0", "OctetString", b"x" * 40)
        for i in range(40)
    }
    small = agent(max_size=700)
    small.variables.update(scalars)
    small.__post_init__()
    plan = Plan(gets=[NAME, *scalars], walks=[ROOT])
    with serving(small) as bad:
        (rb, rg), _ = run_batch([*targets(bad, plan=plan), *targets(good)])
    assert rb.status == "ok", rb.failures
    assert len(rb.gets) == 41
    assert [vb.oid for vb in rb.walks[ROOT]] == [f"{ROOT}.1.{i}" for i in range(1, ROWS + 1)]
    assert_complete(rg)


def test_an_agent_too_small_for_one_row_fails_with_too_big(good: Running) -> None:
    with serving(agent(max_size=60)) as bad:
        (rb, rg), _ = run_batch(targets(bad, good))
    assert {kind for _, _, kind, _ in rb.failures} == {"tooBig"}
    assert_complete(rg)


def test_duplicates_and_late_answers_are_counted_and_dropped(good: Running) -> None:
    twice = serving(
        agent(), misbehave=lambda _q, r: [(snmp.encode(r), 0, None), (snmp.encode(r), 0.01, None)]
    )
    late = serving(agent(), misbehave=lambda _q, r: [(snmp.encode(r), 0.25, None)])
    slow = serving(agent(), misbehave=lambda _q, r: [(snmp.encode(r), 0.08, None)])
    with twice as a, late as b, slow as c:
        (ra, rb, rc, rg), stats = run_batch(targets(a, b, c, good), Engine(timeout_s=0.1, retries=0))
    assert_complete(ra)
    assert rb.status == "timeout"
    assert_complete(rc)  # 80 ms a request, 4 requests: keeps the batch open for the late answer
    assert_complete(rg)
    assert stats["duplicate"] >= 3 and stats["late"] >= 1


def test_v1_only_agents_are_walked_with_getnext(good: Running) -> None:
    with serving(agent(speaks_v2c=False)) as v1:
        (r1, rg), _ = run_batch(targets(v1, good))
    assert r1.version == "1"
    assert_complete(r1)
    assert_complete(rg)


def test_twenty_percent_loss_is_retried_through() -> None:
    rng = random.Random(20)

    def lossy(_q: snmp.Message, r: snmp.Message) -> list[tuple[bytes, float, None]]:
        return [] if rng.random() < 0.2 else [(snmp.encode(r), 0, None)]

    with ExitStack() as stack:
        agents = [
            stack.enter_context(serving(agent(), f"127.0.3.{i}", misbehave=lossy)) for i in range(1, 21)
        ]
        results, stats = run_batch(targets(*agents), Engine(timeout_s=0.05, retries=4, backoff=1.5))
    ok = [r for r in results if r.status == "ok"]
    for r in ok:
        assert_complete(r)
    assert {r.status for r in results} <= {"ok", "timeout"}
    assert len(ok) >= 19 and stats["retries"] > 0


def test_poll_returns_results_in_target_order(good: Running) -> None:
    results = poll(targets(good, good, good), engine=FAST)
    assert [r.index for r in results] == [0, 1, 2]


async def test_what_hostile_agents_send_is_counted_in_the_appliance_metrics(good: Running) -> None:
    # Before: 1,875 hostile datagrams left no trace in /metrics.
    from printwatch.config.model import Config, SnmpConfig
    from printwatch.scheduler import MemoryState, TrioWallClock
    from printwatch.service.appliance import Appliance
    from printwatch.service.metrics import render_metrics
    from printwatch.service.poller import EnginePoller
    from printwatch.service.sinks import MemorySink

    when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    garbage = serving(agent(), misbehave=lambda _q, _r: [(b"\x30\x82\xff\xff\x02\x01\x01", 0, None)])
    twice = serving(
        agent(), misbehave=lambda _q, r: [(snmp.encode(r), 0, None), (snmp.encode(r), 0.01, None)]
    )
    poller = EnginePoller(SnmpConfig(timeout_s=0.2, retries=0), local_address="127.0.0.1")
    with garbage as g, twice as t:
        docs = await poller.poll(
            [(g.address, g.port), (t.address, t.port), (good.address, good.port)], "status", when
        )
    assert [d["reachable"] for d in docs] == [False, True, True]
    dropped = poller.statistics().dropped
    assert dropped["malformed"] >= 1 and dropped["duplicate"] >= 1
    app = Appliance(
        Config(), poller=poller, sink=MemorySink(), state=MemoryState(), clock=TrioWallClock(when)
    )
    lines = render_metrics(app).splitlines()
    for reason in ("malformed", "duplicate", "late", "spoofed", "unexpected"):
        assert f'printwatch_poll_answers_dropped_total{{reason="{reason}"}} {dropped[reason]}' in lines
    assert "printwatch_poll_send_errors_total 0" in lines
