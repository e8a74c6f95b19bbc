"""/metrics: the fleet's families made a piece at a time (printwatch.service.metrics,
exposition.fleet_chunks), compressed once per version of the fleet view and kept, a scrape
during a cycle served the last cycle's whole; the server sends them as one gzip member to a
client that takes gzip, else decompressed a piece at a time (chunked), the same text either way."""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import zlib
from typing import Any

import pytest
import trio
from printwatch.config.model import Config, Intervals, WebConfig
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, SystemClock
from printwatch.scheduler.runner import RunContext
from printwatch.service.appliance import Appliance, fleet_entry
from printwatch.service.daemon import run_until_stopped
from printwatch.service.exposition import FLEET_FAMILIES, fleet_chunks
from printwatch.service.gzipped import Deflated
from printwatch.service.metrics import exposition, render_metrics
from printwatch.service.sinks import MemorySink
from printwatch.web import create_app, http_server

from tests.support.fakes import FakePoller, contract_doc

NOV1 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def fleet(count: int) -> list[dict[str, Any]]:
    """Entries of ``count`` devices, every third not answering (its lines mostly empty)."""
    entries = []
    for n, device in enumerate(expand_devices(f"10.9.0.1-10.9.0.{count}")):
        doc = contract_doc(device, 1, NOV1)
        if n % 3 == 2:
            doc = {"target": doc["target"], "reachable": False, "time": doc["time"]}
        entries.append(fleet_entry(doc))
    return sorted(entries, key=lambda e: e["target"])


def spec(ordered: list[dict[str, Any]]) -> list[str]:
    """The fleet's lines as the format says: per family its two header lines, then each
    device's lines of that family, in the devices' order."""
    out = []
    for k, (name, kind, help_text) in enumerate(FLEET_FAMILIES):
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        out += [line for e in ordered for line in e["lines"][k].split("\n") if line]
    return out


@pytest.mark.parametrize("per_chunk", [1, 2, 3, 7, 500])
def test_the_pieces_join_to_the_families_whatever_their_size(per_chunk: int) -> None:
    ordered = fleet(20)
    pieces = list(fleet_chunks(ordered, per_chunk=per_chunk))
    assert "".join(pieces).split("\n") == spec(ordered)
    # a piece holds the lines of at most per_chunk devices (or a family's header)
    longest = max(len([e for e in ordered if e["lines"][k]]) for k in range(len(FLEET_FAMILIES)))
    assert len(pieces) >= len(FLEET_FAMILIES) + -(-longest // per_chunk)
    for piece in pieces:
        if not piece.lstrip("\n").startswith("# HELP"):
            assert piece.startswith("\n") and piece.count("\n") <= per_chunk * 6  # (a device: <= 6 lines)


def test_an_empty_fleet_has_its_headers_only() -> None:
    assert "".join(fleet_chunks([], per_chunk=1)).split("\n") == spec([])


def appliance(devices: str = "10.9.0.1-10.9.0.10") -> Appliance:
    return Appliance(
        Config(devices=tuple(expand_devices(devices))), poller=FakePoller(), sink=MemorySink(),
        state=MemoryState(), clock=SystemClock(), seed="t",
    )  # fmt: skip


def fleet_part(text: str) -> str:
    return text[text.index("# HELP printwatch_device_up ") :]


async def test_a_scrape_gets_the_fleet_as_the_last_cycle_left_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fleet's families are made once per version of the fleet view and kept; a scrape while
    a cycle replaces entries gets the last complete version's; the next version is made anew."""
    monkeypatch.setattr("printwatch.service.metrics.PIECE_DEVICES", 4)  # several pieces a family
    app = appliance()
    for entry in fleet(10):
        app.fleet[entry["target"]] = entry
    app.fleet_version += 1
    head, fleet_text = await exposition(app)
    assert head.startswith("# HELP printwatch_job_runs_total") and head.endswith("\n")
    complete = fleet_text.text()
    assert complete == fleet_part(render_metrics(app)) and complete.endswith("\n")
    assert (await exposition(app))[1] is fleet_text  # kept: not made again

    first = min(app.fleet)  # a cycle begins replacing entries
    app.fleet_writers += 1
    app.fleet[first] = fleet_entry({"target": first, "reachable": False, "time": "2026-11-01T00:05:00Z"})
    assert (await exposition(app))[1] is fleet_text  # the cycle before's, whole
    app.fleet_version += 1
    app.fleet_writers -= 1
    after = (await exposition(app))[1].text()
    assert after == fleet_part(render_metrics(app)) != complete
    assert f'printwatch_device_up{{target="{first}"}} 0' in after


async def test_a_scrape_in_a_cycle_with_nothing_kept_is_of_the_entries_then_and_not_kept() -> None:
    app = appliance()
    entries = fleet(10)
    for entry in entries:
        app.fleet[entry["target"]] = entry
    app.fleet_version += 1
    app.fleet_writers += 1  # the first scrape comes while the next cycle replaces entries
    first = min(app.fleet)
    app.fleet[first] = fleet_entry({"target": first, "reachable": False, "time": "2026-11-01T00:05:00Z"})
    mixed = (await exposition(app))[1]
    assert mixed.text() == fleet_part(render_metrics(app))
    assert (await exposition(app))[1] is not mixed  # not kept: made again while changing
    app.fleet_writers += 1  # a second poll (an assist) begins, the first ends: still changing
    app.fleet_version += 1
    app.fleet_writers -= 1
    assert (await exposition(app))[1] is not (await exposition(app))[1]  # not kept
    app.fleet_version += 1
    app.fleet_writers -= 1
    kept = (await exposition(app))[1]
    assert (await exposition(app))[1] is kept


async def test_scrapes_at_once_wait_for_one_build(monkeypatch: pytest.MonkeyPatch) -> None:
    app = appliance()
    for entry in fleet(10):
        app.fleet[entry["target"]] = entry
    app.fleet_version += 1
    builds: list[int] = []

    def counted(pieces: Any) -> Deflated:
        builds.append(1)
        return Deflated(pieces)

    monkeypatch.setattr("printwatch.service.metrics.Deflated", counted)
    got: list[Deflated] = []

    async def scrape() -> None:
        got.append((await exposition(app))[1])

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(scrape)
    assert len(builds) == 1 and len(got) == 10 and all(g is got[0] for g in got)


async def test_a_cycle_cancelled_half_way_still_makes_a_new_version() -> None:
    """The entries a cancelled cycle replaced are not hidden behind the kept text."""
    app = appliance("10.9.0.1-10.9.2.200")  # 710 devices: the cycle gives way every 200
    app.poller = FakePoller(0.0)
    await exposition(app)  # the empty fleet's text, kept
    with trio.CancelScope() as scope:

        class CancellingSink(MemorySink):
            async def ingest(self, docs: list[dict[str, Any]]) -> None:
                await super().ingest(docs)
                scope.cancel()  # (the write is shielded: the cancel lands at the fleet's give_way)

        app.sink = CancellingSink()
        await app.poll_status(RunContext("status", NOV1, "schedule"))
    assert 0 < len(app.fleet) < 710 and app.fleet_version == 1 and app.fleet_writers == 0
    text = (await exposition(app))[1].text()
    assert text.count("printwatch_device_up{") == len(app.fleet)


@pytest.mark.realtime
async def test_the_server_sends_metrics_chunked_or_gzipped_and_the_same_as_rendered_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("printwatch.service.metrics.PIECE_DEVICES", 500)
    devices = tuple(expand_devices("10.9.0.1-10.9.4.200"))  # 1,220 devices: 3 pieces a family
    config = Config(
        devices=devices, intervals=Intervals(status_s=3600, meters_s=3600, jitter=0), web=WebConfig(port=0)
    )
    app = Appliance(
        config, poller=FakePoller(0.05), sink=MemorySink(), state=MemoryState(), clock=SystemClock(), seed="t"
    )
    got: dict[str, Any] = {}

    def get(port: int) -> None:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        con.request("GET", "/metrics")
        r = con.getresponse()
        got.update(status=r.status, headers=dict(r.getheaders()), body=r.read().decode())
        con.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})  # as Prometheus asks
        r = con.getresponse()
        got.update(gz_headers=dict(r.getheaders()), gz_body=r.read())
        con.request("HEAD", "/metrics")
        r = con.getresponse()
        got.update(head=(r.status, r.getheader("content-type"), r.read()))
        con.close()

    async def client(address: tuple[str, int]) -> None:
        with trio.fail_after(20):
            while len(app.fleet) < len(devices):  # noqa: ASYNC110 (polling the fleet view)
                await trio.sleep(0.05)
        await trio.to_thread.run_sync(get, address[1])
        got["whole"] = render_metrics(app)
        nursery.cancel_scope.cancel()  # done: the server stops

    async with trio.open_nursery() as nursery:

        def started(address: tuple[str, int] | None) -> None:
            assert address is not None
            nursery.start_soon(client, address)

        await run_until_stopped(
            app, http=http_server(create_app(app), config.web), duration_s=30.0, on_started=started
        )
    assert got["status"] == 200
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    status, ctype, empty = got["head"]  # HEAD: the type, no pieces made
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4") and empty == b""
    body, whole = got["body"], got["whole"]
    assert body.endswith("\n") and body.count("printwatch_device_up{") == len(devices)
    # The fleet's part is the same byte for byte (the appliance's own values, memory and job
    # figures, move between the two reads).
    fleet_at = "# HELP printwatch_device_up "
    assert body[body.index(fleet_at) :] == whole[whole.index(fleet_at) :]
    assert body[: body.index(fleet_at)].count("\n") == whole[: whole.index(fleet_at)].count("\n")
    assert headers["vary"] == "Accept-Encoding"
    # gzip: one member (a reader that stops after the first member reads it whole), its length
    # given, the same exposition
    gz_headers = {k.lower(): v for k, v in got["gz_headers"].items()}
    assert gz_headers["content-encoding"] == "gzip" and gz_headers["vary"] == "Accept-Encoding"
    assert int(gz_headers["content-length"]) == len(got["gz_body"]) < len(body) / 5
    one = zlib.decompressobj(zlib.MAX_WBITS | 16)
    unzipped = one.decompress(got["gz_body"]).decode()
    assert one.eof and one.unused_data == b""
    assert unzipped == gzip.decompress(got["gz_body"]).decode()
    assert unzipped[unzipped.index(fleet_at) :] == body[body.index(fleet_at) :]
