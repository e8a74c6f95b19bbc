"""The alerts in the running appliance: the real engine polling simulated printers, the history
store, a webhook receiver. The printers answer, then the simulator stops: after the configured
misses, every printer's offline alert opens once and the receiver hears of each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.alerts import AlertService
from printwatch.cli.demo import default_recordings
from printwatch.config.model import Config, Intervals, SnmpConfig, Thresholds, WebhookConfig
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, SystemClock
from printwatch.service.appliance import Appliance
from printwatch.service.daemon import run_until_stopped
from printwatch.service.poller import EnginePoller
from printwatch.service.sinks import StoreSink
from printwatch.sim import Simulator
from printwatch.store import Store

from tests.alerts.servers import http_receiver

COUNT = 12


@pytest.mark.realtime
async def test_printers_going_away_open_one_offline_alert_each_and_a_webhook_hears(tmp_path: Path) -> None:
    sim = Simulator(default_recordings(), count=COUNT, base="127.22.0.1", port=0)
    sim.start()
    try:
        devices = tuple(expand_devices(f"{sim.first}-{sim.last}:{sim.port}"))
        with http_receiver() as rx:
            config = Config(
                snmp=SnmpConfig(timeout_s=0.2, retries=0),
                devices=devices,
                intervals=replace(Intervals(), status_s=1.0, meters_s=600.0, jitter=0.0),
                thresholds=Thresholds(offline_after_misses=2),
                webhooks=(WebhookConfig(url=rx.url),),
            )
            store = Store(tmp_path / "history.duckdb", poll_interval_s=1.0, meter_interval_s=600.0)
            sink = StoreSink(store)
            alerts = AlertService.from_config(store, config)
            app = Appliance(
                config,
                poller=EnginePoller(
                    config.snmp, local_address="127.0.0.1", thresholds=config.thresholds.supply_low()
                ),
                sink=sink,
                alerts=alerts,
                state=MemoryState(),
                clock=SystemClock(max_step_s=0.25),
            )
            docs: list[dict[str, Any]] = []
            cycles = {"answered": 0, "missed": 0}
            done = trio.Event()
            real = alerts.after_status

            async def after_status(batch: Sequence[dict[str, Any]]) -> Any:
                docs.extend(batch)
                outcome = await real(batch)
                if all(d["reachable"] for d in batch):
                    cycles["answered"] += 1
                    if cycles["answered"] == 2:  # unplug the fleet after two good cycles
                        await trio.to_thread.run_sync(sim.stop)
                elif not any(d["reachable"] for d in batch):
                    cycles["missed"] += 1
                    if cycles["missed"] == 3:  # one more than the misses that open an alert
                        done.set()
                return outcome

            alerts.after_status = after_status  # type: ignore[method-assign]

            async def stop_when_done(scope: trio.CancelScope) -> None:
                await done.wait()
                scope.cancel()

            with trio.move_on_after(120) as scope:  # a bound on a loaded machine; done long before
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(stop_when_done, nursery.cancel_scope)
                    await run_until_stopped(app)
            assert not scope.cancelled_caught, f"not done in time: {cycles}"
            received = [json.loads(r.body) for r in rx.received]
        with Store(tmp_path / "history.duckdb") as reread:
            cur = reread.reader().execute("SELECT * FROM alerts ORDER BY alert_id")
            names = [d[0] for d in cur.description or ()]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            [(n_devices,)] = reread.reader().execute("SELECT count(*) FROM devices").fetchall()
    finally:
        sim.stop()
    answered = [d for d in docs if d["reachable"]]
    missed = [d for d in docs if not d["reachable"]]
    assert len(answered) >= 2 * COUNT and len(missed) >= 3 * COUNT
    offline = [r for r in rows if r["kind"] == "offline"]
    # One per device (the registry makes one device of printers that share an identity).
    assert len(offline) == n_devices and len({r["device_id"] for r in offline}) == n_devices
    assert n_devices >= COUNT // 2
    assert all(r["open"] and r["severity"] == "critical" for r in offline)
    # The supply alerts follow the documents' states (the recordings have low and empty supplies).
    low_docs = {
        (d["serial"], s["index"])
        for d in answered
        for s in d["supplies"]
        if s["state"] in ("low", "empty") and s.get("class") != "filled"
    }
    low_rows = {(r["serial"], int(r["subject"])) for r in rows if r["kind"] == "supply_low"}
    assert low_docs and low_rows == low_docs
    # The webhook heard of every alert, once.
    heard = [(a["alert_id"], a["event"]) for p in received for a in p["alerts"]]
    assert sorted(heard) == sorted((r["alert_id"], "opened") for r in rows)
    assert alerts.stats.sent == len(rows) and alerts.stats.failed_tries == 0
