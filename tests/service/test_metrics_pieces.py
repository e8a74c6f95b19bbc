"""/metrics a piece at a time (printwatch.service.metrics.metrics_chunks, exposition.fleet_chunks):
the pieces join to the exposition whatever their size, and the server sends them as they are
made (chunked), never the fleet's lines joined into one body."""

from __future__ import annotations

import datetime as dt
import http.client
from typing import Any

import pytest
import trio
from printwatch.config.model import Config, Intervals, WebConfig
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, SystemClock
from printwatch.service.appliance import Appliance, fleet_entry
from printwatch.service.daemon import run_until_stopped
from printwatch.service.exposition import FLEET_FAMILIES, fleet_chunks
from printwatch.service.metrics import metrics_chunks, render_metrics
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


def test_a_scrape_is_of_the_fleet_when_it_began_and_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pieces of one scrape are made of the entries there were when it began, whatever the
    loop changes between two pieces; a family's lines come PIECE_DEVICES devices a piece."""
    monkeypatch.setattr("printwatch.service.metrics.PIECE_DEVICES", 4)
    devices = tuple(expand_devices("10.9.0.1-10.9.0.10"))
    app = Appliance(
        Config(devices=devices), poller=FakePoller(), sink=MemorySink(), state=MemoryState(),
        clock=SystemClock(), seed="t",
    )  # fmt: skip
    for entry in fleet(10):
        app.fleet[entry["target"]] = entry
    app.fleet_version += 1
    pieces = metrics_chunks(app)
    head = next(pieces)
    assert head.startswith("# HELP printwatch_job_runs_total")
    first = min(app.fleet)  # a cycle replaces an entry before the next piece is made
    app.fleet[first] = fleet_entry({"target": first, "reachable": False, "time": "2026-11-01T00:05:00Z"})
    app.fleet_version += 1
    rest = list(pieces)
    text = head + "".join(rest)
    assert f'printwatch_device_up{{target="{first}",serial=' in text and text.endswith("\n")
    # 5 families: a header each, then up to 3 pieces of 4 devices' lines (10 devices), then "\n"
    assert len(FLEET_FAMILIES) + 1 < len(rest) <= len(FLEET_FAMILIES) * 4 + 1
    assert all(piece.count("printwatch_device_up{") <= 4 for piece in rest)
    after = render_metrics(app)  # the next scrape: the entry as the cycle left it
    assert f'printwatch_device_up{{target="{first}"}} 0' in after


@pytest.mark.realtime
async def test_the_server_sends_metrics_chunked_and_the_same_as_rendered_whole(
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
