"""An unchanged document costs (almost) nothing past the poller, and changes nothing: the same
cycles through two whole appliances (history store, uplink with its outbox, alerts, fleet view),
one given plain documents (every one new: the old path), the other the poller's
:class:`~printwatch.mib.interpret.Documents` (documents served by a real
:class:`~printwatch.mib.interpret.AnswerCache`, sharing its answers' parts, with the answer of
each), hold the same rows, messages, alerts and state after every cycle.

The fleet's printers move at different paces (some every cycle, most now and then), some do not
answer now and then, one for a while (an offline alert opens and closes), toners cross the
reorder point and the low-supply alert's threshold, some are replaced (their level jumps back),
one printer answers at two addresses, meter reads and an upload come between the status cycles,
one printer lists a supply index twice, and the reorder point moves once (the uplink's reorder
rules' inputs change: a supply out below 20% is armed again when the point goes to 5%)."""

from __future__ import annotations

import copy
import datetime as dt
import marshal
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.cli.assembly import Assembled, assemble
from printwatch.config.model import ApplianceConfig, Config, Intervals, SnmpConfig, UplinkConfig, WebConfig
from printwatch.mib.interpret import OWN_KEYS, Answer, AnswerCache, Documents
from printwatch.scheduler import MemoryState
from printwatch.scheduler.runner import RunContext
from printwatch.service.poller import Device, PollerStats, PollKind
from printwatch.uplink.codec import decode_payload
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import HEADER_BYTES

from tests.support.fakes import contract_doc
from tests.support.store_tables import table_rows

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
COUNT = 48
DEVICES: tuple[Device, ...] = (
    *((f"10.9.0.{i}", 161) for i in range(1, COUNT + 1)),
    ("10.9.1.5", 161),  # printer 10.9.0.5 at a second address: the same serial, other documents
)


class Clock:
    """The appliance's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.at = T0

    def now(self) -> dt.datetime:
        return self.at

    async def sleep_until(self, when: dt.datetime) -> None:  # pragma: no cover - never scheduled
        raise AssertionError("the test calls the hooks itself")


class Fleet:
    """Each device's document of each poll, the same for both appliances."""

    def __init__(self) -> None:
        self.polls = 0
        self.pace: dict[int, int] = {}  # device index -> how far its pages and toner moved

    def documents(self, devices: Sequence[Device], kind: PollKind, when: dt.datetime) -> list[dict[str, Any]]:
        self.polls += 1
        k = self.polls
        docs = []
        for i, device in enumerate(devices):
            moves = i % 4 == 0 or (k + i) % 5 == 0  # a quarter every poll, the rest now and then
            self.pace[i] = self.pace.get(i, 0) + (2 if moves else 0)
            n = 45 + i % 30 + self.pace[i]
            if i % 6 == 1 and k >= 7:
                n -= 60  # replaced: the toner back near full
            if i == 11:
                n = 73  # never moves, its toner at 17%: out below 20%, armed again below 5%
            doc = contract_doc(device, n, when)
            if doc["reachable"] and doc["supplies"][0]["percent"] < 20:
                doc["supplies"][0]["state"] = "low" if doc["supplies"][0]["percent"] else "empty"
            if doc["reachable"] and i == 7:  # two supplies of one index (an odd agent)
                doc["supplies"].append({**doc["supplies"][0], "percent": 10.0, "level": 10, "state": "low"})
            if doc["reachable"] and ((i % 3 == 0 and (k + i) % 7 == 0) or (i == 2 and 4 <= k < 12)):
                doc = {"target": doc["target"], "reachable": False, "error": "timeout", "time": doc["time"]}
            if doc["reachable"]:
                doc["rtt_ms"] = round(0.3 + (k * 31 + i * 17) % 40 / 10, 3)  # a poll's own
                doc["sys"]["uptime_s"] = 1000 * k + i
                if kind != "status":
                    doc["counters"] = [{"name": "copies", "oid": "1.3.6.1.4.1.9.1.1", "value": 10 * n}]
            docs.append(doc)
        return docs


def answer_key(doc: dict[str, Any]) -> bytes:
    """What an answer's digest stands for: every part of the document that is not the poll's own."""
    parts = {k: v for k, v in doc.items() if k not in OWN_KEYS}
    parts["sys"] = {k: v for k, v in doc["sys"].items() if k != "uptime_s"}
    return marshal.dumps(parts)


class ScriptedPoller:
    """The appliance's poller over :class:`Fleet`: plain documents (``cached`` False), or the
    status documents through an :class:`AnswerCache` as the engine poller serves them."""

    def __init__(self, fleet: Fleet, cached: bool) -> None:
        self.fleet = fleet
        self.cached = cached
        self.cache = AnswerCache()
        self.stats = PollerStats()
        self.next: list[dict[str, Any]] = []

    def statistics(self) -> PollerStats:
        return self.stats

    async def poll(
        self, devices: Sequence[Device], kind: PollKind, when: dt.datetime
    ) -> list[dict[str, Any]]:
        plain = self.next
        assert [d["target"] for d in plain] == [f"{h}:{p}" for h, p in devices]
        if not self.cached:
            return copy.deepcopy(plain)
        docs, answers = [], []
        for doc in plain:
            answer: Answer | None = None
            if doc["reachable"] and kind == "status":
                key = answer_key(doc)
                answer = self.cache.get(doc["target"], key) or self.cache.put(doc["target"], key, doc)
            if answer is None:
                docs.append(copy.deepcopy(doc))
            else:
                served = answer.document(
                    doc["target"],
                    version=doc["version"],
                    rtt_ms=doc["rtt_ms"],
                    time=doc["time"],
                    uptime_s=doc["sys"]["uptime_s"],
                )
                served["failures"], served["wire"] = copy.deepcopy(doc["failures"]), dict(doc["wire"])
                assert served == doc
                docs.append(served)
            answers.append(answer)
        return Documents(docs, answers)


def appliance(tmp_path: Path, name: str, clock: Clock, poller: ScriptedPoller) -> Assembled:
    config = Config(
        appliance=replace(ApplianceConfig(), state_dir=tmp_path / name),
        snmp=SnmpConfig(timeout_s=0.2, retries=0),
        devices=DEVICES,
        intervals=replace(Intervals(), status_s=60, meters_s=900),
        # Nothing is sent (a closed port; the sender does not run): the outbox is compared.
        uplink=UplinkConfig(url="https://127.0.0.1:9/api", site_id="same", token="t" * 24),
        web=WebConfig(port=0),
    )
    parts = assemble(config, clock=clock, state=MemoryState(), seed="same")
    parts.appliance.poller = poller
    return parts


def store_rows(parts: Assembled) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the appliance's file (history, alerts, uplink), its rows in order; an
    outbox message as its payload (the two appliances sign with keys of their own)."""
    with parts.sink.store.reading() as con:
        out = table_rows(con)
    out["uplink_outbox"] = [
        tuple(decode_payload(bytes(v)[HEADER_BYTES:]) if isinstance(v, bytes) else v for v in r)
        for r in out["uplink_outbox"]
    ]
    return out


def uplink_state(parts: Assembled) -> tuple[Any, ...]:
    uplink = parts.uplink
    assert isinstance(uplink, UplinkService)
    return uplink.polls, uplink.part, uplink.latest, uplink._reorders


@pytest.mark.timeout(180)
def test_unchanged_documents_leave_the_same_store_outbox_alerts_and_fleet(tmp_path: Path) -> None:
    clock = Clock()
    fleet = Fleet()
    plain_poller, cached_poller = ScriptedPoller(fleet, cached=False), ScriptedPoller(fleet, cached=True)
    old = appliance(tmp_path, "old", clock, plain_poller)
    new = appliance(tmp_path, "new", clock, cached_poller)
    steps = ["meters", *["status"] * 5, "upload", *["status"] * 3, "point", "status", "status", "meters"]
    steps += [*["status"] * 4, "upload", "status", "status"]

    async def run() -> None:
        for step in steps:
            clock.at += dt.timedelta(seconds=60)
            if step == "point":  # the reorder rules' inputs change: every supply judged again
                for parts in (old, new):  # (those fired below 20% and now 10 above 5% are armed again)
                    assert isinstance(parts.uplink, UplinkService)
                    parts.uplink.configured_reorder_percent = 5.0
                continue
            ctx = RunContext(step, clock.at, "schedule")
            if step != "upload":
                kind: PollKind = "status" if step == "status" else "meters"
                plain_poller.next = cached_poller.next = fleet.documents(DEVICES, kind, clock.at)
            for parts in (old, new):
                app = parts.appliance
                if step == "status":
                    await app.poll_status(ctx)
                elif step == "meters":
                    await app.read_meters(ctx)
                else:
                    await app.upload(ctx)
            assert uplink_state(new) == uplink_state(old), step
            assert new.appliance.fleet == old.appliance.fleet, step
            assert new.appliance.answering == old.appliance.answering
        assert store_rows(new) == store_rows(old)

    try:
        trio.run(run)
        rows = store_rows(new)
        # The cycles did what they are for: unchanged documents, and every path taken.
        assert cached_poller.cache.hits > cached_poller.cache.misses > 0
        assert new.sink.store.ingestor.settled_answers and new.appliance.fleet_answers
        assert isinstance(new.uplink, UplinkService) and new.uplink._tallied and new.uplink._judged
        assert any(r[1] == "reorder" for r in rows["uplink_outbox"])
        assert any(r[1] == "aggregate" for r in rows["uplink_outbox"])
        kinds = {r[2] for r in rows["alert_log"]}
        assert {"offline", "supply_low"} <= kinds and any(r[6] is not None for r in rows["alert_log"])
        assert rows["supply_events"] and rows["status_changes"]
    finally:
        old.sink.store.close()
        new.sink.store.close()
