"""A hostile or broken collector cannot stop the appliance: answers over real HTTPS (pinned) that
parse into values no float holds, or nest deeper than Python's parser goes, are refused or
ignored with a log line; the uplink keeps its outbox and goes on, and a restart with such an
answer stored starts. Found by a security review: before, each of these raised out of the
uplink's task and took the daemon (poller and dashboard with it) down, on every retry."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
import trio
from printwatch.uplink.enrol import EnrolError, enrol
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.remote import read_settings
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.collector import start_collector
from tests.support.tls import make_certs

T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
HUGE = 10**400
#: 400 KB of nesting: under the uplink's 1 MiB answer cap, far past the JSON parser's recursion.
DEEP = b"[" * 200_000 + b"]" * 200_000
ANSWERS = {
    "a threshold of 400 digits": json.dumps(
        {"ack": 1, "sync": {"sv": 2, "settings": {"thresholds": {"reorder_percent": HUGE}}}}
    ).encode(),
    "a budget of 400 digits": json.dumps(
        {"ack": 1, "sync": {"sv": 2, "settings": {"budget_bytes_per_day": HUGE}}}
    ).encode(),
    "nesting 200,000 deep": DEEP,
    "a sync of the wrong shapes": json.dumps(
        {"ack": 1, "sync": {"billing": {"due": HUGE, "current": []}}}
    ).encode(),
}


def hostile(answer: bytes, asked: list[str]) -> Starlette:
    async def reply(request: Request) -> Response:
        asked.append(request.url.path)
        await request.body()
        return Response(answer, media_type="application/json")

    return Starlette(
        routes=[Route("/v1/upload", reply, methods=["POST"]), Route("/v1/enrol", reply, methods=["POST"])]
    )


def test_a_number_no_float_holds_is_refused_by_name() -> None:
    remote = read_settings(
        {"sv": 2, "settings": {"thresholds": {"reorder_percent": HUGE, "lead_time_days": -HUGE}}}
    )
    assert set(remote.refused) >= {"thresholds.reorder_percent", "thresholds.lead_time_days"}
    assert not remote.values.get("thresholds")


@pytest.mark.realtime
@pytest.mark.parametrize("what", list(ANSWERS))
async def test_the_uplink_outlives_a_hostile_answer_and_goes_on(
    tmp_path: Path, nursery: trio.Nursery, what: str, caplog: pytest.LogCaptureFixture
) -> None:
    certs, asked = make_certs(tmp_path), []
    server = await start_collector(nursery, None, certs, now=lambda: T0, app=hostile(ANSWERS[what], asked))  # type: ignore[arg-type]
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    box.enqueue("sync", {"devices": 1}, T0, devices=[])
    endpoint = server.endpoint()

    def now() -> dt.datetime:  # runs with Trio's clock, so that the retries come due
        return T0 + dt.timedelta(seconds=trio.current_time())

    svc = UplinkService(box, endpoint, now=now, backoff=Backoff(0.05, 0.2), idle_s=0.05)
    with caplog.at_level(logging.WARNING, "printwatch.uplink"), trio.move_on_after(3):
        await svc.serve()  # returns only when the time is up: anything it raised fails the test
    assert len(asked) >= 2, asked  # it went on asking, after the first hostile answer
    assert svc.remote.values.get("thresholds", {}).get("reorder_percent") is None
    if what.startswith("nesting"):  # never acknowledged: the message stays for a better answer
        assert box.pending()[0] == 1
    if what.startswith("a threshold") or what.startswith("a budget"):
        # what was stored of it reads again at the next start (the restart must not fail either)
        box.close()
        again = Outbox(tmp_path / "a.duckdb", box.identity, "site-a")
        restarted = UplinkService(again, endpoint, now=lambda: T0)
        assert restarted.remote.values.get("budget_bytes_per_day") is None
        again.close()


@pytest.mark.realtime
async def test_an_enrolment_answer_nested_too_deep_is_an_enrolment_error(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    certs, asked = make_certs(tmp_path), []
    server = await start_collector(nursery, None, certs, now=lambda: T0, app=hostile(DEEP, asked))  # type: ignore[arg-type]
    box = Outbox(tmp_path / "a.duckdb", Identity.generate(), "site-a")
    endpoint = server.endpoint()
    with pytest.raises(EnrolError, match="not understood"):
        await enrol(box, endpoint, "a-token", now=T0)
    assert asked == ["/v1/enrol"]
