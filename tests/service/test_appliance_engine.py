"""The appliance on the real engine, the simulator and hypercorn, on the real clock: every cycle
polls every simulated printer, /health, /metrics and assist answer over HTTP."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.cli.demo import default_recordings
from printwatch.config.model import Config, Intervals, SnmpConfig, WebConfig
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, SystemClock
from printwatch.service.appliance import Appliance
from printwatch.service.daemon import run_until_stopped
from printwatch.service.poller import EnginePoller
from printwatch.service.sinks import StoreSink
from printwatch.sim import Simulator
from printwatch.store import Store
from printwatch.web import create_app, http_server


def http(method: str, url: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read(), r.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("content-type", "")


@pytest.mark.realtime
async def test_scheduled_cycles_on_the_engine_poll_every_simulated_printer(tmp_path: Path) -> None:
    with Simulator(default_recordings(), count=60, base="127.21.0.1", port=0) as sim:
        devices = tuple(expand_devices(f"{sim.first}-{sim.last}:{sim.port}"))
        config = Config(
            snmp=SnmpConfig(timeout_s=0.5, retries=1),
            devices=devices,
            intervals=replace(Intervals(), status_s=1.0, meters_s=3.0, jitter=0.1),
            web=WebConfig(port=0),
        )
        sink = StoreSink(Store(tmp_path / "history.duckdb", poll_interval_s=1.0, meter_interval_s=3.0))
        app = Appliance(
            config,
            poller=EnginePoller(config.snmp, local_address="127.0.0.1"),
            sink=sink,
            state=MemoryState(),
            clock=SystemClock(max_step_s=0.5),
        )
        got: dict[str, object] = {}

        async def client(address: tuple[str, int]) -> None:
            base = f"http://{address[0]}:{address[1]}"
            await trio.sleep(3.2)
            got["health"] = await trio.to_thread.run_sync(http, "GET", f"{base}/health")
            got["metrics"] = await trio.to_thread.run_sync(http, "GET", f"{base}/metrics")
            got["assist"] = await trio.to_thread.run_sync(
                http, "POST", f"{base}/api/assist/{sim.first}:{sim.port}"
            )
            got["unknown"] = await trio.to_thread.run_sync(http, "POST", f"{base}/api/assist/10.1.2.3")

        async with trio.open_nursery() as nursery:

            def started(address: tuple[str, int] | None) -> None:
                assert address is not None
                nursery.start_soon(client, address)

            docs: list[dict[str, Any]] = []
            real_ingest = sink.ingest

            async def ingest(batch: Sequence[dict[str, Any]]) -> None:
                docs.extend(batch)
                await real_ingest(batch)

            sink.ingest = ingest  # type: ignore[method-assign]
            await run_until_stopped(
                app, http=http_server(create_app(app), config.web), duration_s=6.0, on_started=started
            )
    cycles = app.scheduler.stats["status"].runs + app.scheduler.stats["meters"].runs
    assert app.scheduler.stats["status"].runs >= 2
    assert len(docs) == 60 * cycles + 1  # every cycle, every printer, and the assist call
    # ... and the history store holds them: one device per printer, its supplies and meters.
    with Store(tmp_path / "history.duckdb") as store:
        con = store.reader()
        # (the registry makes one device of printers that share an identity: see "History store")
        serials = {d["serial"] for d in docs if d["serial"]}
        devices_stored = con.execute("SELECT count(*) FROM devices").fetchone()[0]  # type: ignore[index]
        assert len(serials) <= devices_stored <= 60
        assert con.execute("SELECT count(DISTINCT device_id) FROM supply_history").fetchone()[0] >= 20  # type: ignore[index]
        assert con.execute("SELECT count(*) FROM meter_history").fetchone()[0] > 0  # type: ignore[index]
    assert all(d["reachable"] for d in docs)
    assert {d["target"] for d in docs} == {f"{h}:{p}" for h, p in devices}
    assert docs[0]["sys"]["descr"] and docs[0]["time"].endswith("Z")
    # the printer semantics' documents: supplies, meters (with the vendor step on meter reads)
    with_supplies: dict[str, set[int]] = {}
    for d in docs:
        with_supplies.setdefault(d["target"], set()).add(len(d["supplies"]))
    assert all(len(counts) == 1 for counts in with_supplies.values())  # the same every cycle
    assert sum(1 for counts in with_supplies.values() if counts != {0}) >= 20
    assert any(d["meters"].get("total") for d in docs)
    assert {d["serial"] for d in docs if d["serial"]} and all("status" in d for d in docs)
    code, body, ctype = got["health"]  # type: ignore[misc]
    health = json.loads(body)
    assert code == 200 and ctype.startswith("application/json")
    assert health["status"] == "ok" and health["devices"] == 60 and health["answering"] == 60
    assert health["jobs"]["status"]["runs"] >= 1
    code, body, ctype = got["metrics"]  # type: ignore[misc]
    text = body.decode()
    assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
    assert text.count("printwatch_device_up{") == 60
    assert "printwatch_poll_packets_sent_total " in text and "printwatch_poll_timeouts_total 0" in text
    assert "printwatch_supply_percent{" in text and 'printwatch_pages_total{target="' in text
    assert 'state="running"} 1' in text
    code, body, _ = got["assist"]  # type: ignore[misc]
    assert code == 200 and json.loads(body)["target"] == f"{sim.first}:{sim.port}"
    code, body, _ = got["unknown"]  # type: ignore[misc]
    assert code == 404 and "no such device" in json.loads(body)["error"]
