"""The appliance with its dashboard, on the simulator and a real DuckDB store, served by hypercorn
in a Trio run on a thread of its own (so that a synchronous client, Playwright or httpx, drives
it from the test's thread).

Before it starts, the store gets ten days of history for the simulated printers: the printers are
polled once for real, and copies of those documents dated 12 hours apart back to ten days ago,
with supplies fuller and meters lower the further back, are ingested first, so that supply
forecasts (which need a day of falling levels) exist when the browser looks.

Its time is real time from a fixed date (``START``), the same clock for the first polls, the
appliance and the dashboard's pages: nothing here reads the real date.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import trio
from printwatch.config.model import Config, Intervals, SnmpConfig, WebConfig
from printwatch.config.targets import expand_devices
from printwatch.scheduler import MemoryState, ShiftedClock
from printwatch.service.appliance import Appliance
from printwatch.service.poller import EnginePoller
from printwatch.service.sinks import StoreSink
from printwatch.sim import Simulator
from printwatch.store import Store
from printwatch.web.dashboard.serving import WebSetup, web_setup
from printwatch.web.server import serve_http

from tests.support.recordings import built_in_fleet

HISTORY_DAYS = 10
#: When the appliance starts: any date will do, and one in the past makes a page that dates its
#: reads by the real clock show none (a leap day's evening: the history crosses a month's end).
START = dt.datetime(2024, 2, 29, 21, 30, tzinfo=dt.UTC)
#: The simulated printer (its index) that the browser opens: a colour MFP of the built-in fleet
#: (FUJIFILM's Apeos C3570), with vendor meters and toner levels; its address (127.22.0.5) is
#: no prefix of another's, so that filtering the fleet by it finds it alone.
METERED = 4


@dataclass
class Running:
    url: str
    first_password: str
    sim: Simulator
    store: Store
    setup: WebSetup
    appliance: Appliance
    state_dir: Path


def backdated(docs: list[dict[str, Any]], now: dt.datetime) -> list[list[dict[str, Any]]]:
    """Cycles of ``docs`` dated every 12 h back to HISTORY_DAYS ago (oldest first)."""
    cycles = []
    for k in range(HISTORY_DAYS * 2, 0, -1):
        when = now - dt.timedelta(hours=12 * k)
        batch = []
        for doc in docs:
            if not doc.get("reachable"):
                continue
            d = copy.deepcopy(doc)
            d["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            for s in d.get("supplies") or []:
                if isinstance(s.get("percent"), (int, float)):
                    pct = min(100.0, s["percent"] + 2.5 * k)
                    s["percent"] = pct
                    cap = s.get("max_capacity")
                    if isinstance(cap, int) and cap > 0:
                        s["level"] = round(cap * pct / 100)
                    s["state"] = "ok" if pct > 20 else "low"
            d["meters"] = {m: max(0, v - 400 * k) for m, v in (d.get("meters") or {}).items()}
            for name, ev in (d.get("meter_evidence") or {}).items():
                if name in d["meters"] and isinstance(ev, dict):
                    ev["raw"] = d["meters"][name]
            batch.append(d)
        cycles.append(batch)
    return cycles


@contextmanager
def running_appliance(state_dir: Path, *, count: int = 20, base: str = "127.22.0.1") -> Iterator[Running]:
    sim = built_in_fleet(count=count, base=base, port=0, dynamics=True, time_scale=60.0)
    sim.start()
    try:
        devices = tuple(expand_devices(f"{sim.first}-{sim.last}:{sim.port}"))
        config = Config(
            snmp=SnmpConfig(timeout_s=0.5, retries=1),
            devices=devices,
            intervals=replace(Intervals(), status_s=20.0, meters_s=60.0, jitter=0.1),
            # The dashboard's sweeps may cover the simulator's /27 (with 'public' only).
            web=WebConfig(
                port=0, tls="off", sweep_networks=(ipaddress.IPv4Network(f"{base}/27", strict=False),)
            ),
        )
        store = Store(state_dir / "history.duckdb", poll_interval_s=20.0)
        poller = EnginePoller(config.snmp, local_address="127.0.0.1")
        clock = ShiftedClock(START, max_step_s=0.5)
        # the first poll learns each printer's vendor, the second reads its vendor meters
        trio.run(poller.poll, devices, "full", clock.now() - dt.timedelta(minutes=2))
        first = trio.run(poller.poll, devices, "full", clock.now() - dt.timedelta(minutes=1))
        for batch in backdated(first, clock.now().replace(microsecond=0)):
            store.ingest(batch)
        store.ingest(first)
        appliance = Appliance(config, poller=poller, sink=StoreSink(store), state=MemoryState(), clock=clock)
        setup = web_setup(appliance, store, config.web, state_dir)
        assert setup.first_password is not None
        started: queue.Queue[tuple[str, trio.lowlevel.TrioToken, trio.Event] | BaseException] = queue.Queue()

        async def main() -> None:
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                address = await nursery.start(partial(serve_http, setup.app, "127.0.0.1", 0))
                await nursery.start(appliance.serve)
                started.put((setup.url(address), trio.lowlevel.current_trio_token(), stop))
                await stop.wait()
                nursery.cancel_scope.cancel()

        def thread_main() -> None:
            try:
                trio.run(main)
            except BaseException as err:
                started.put(err)

        thread = threading.Thread(target=thread_main, name="appliance", daemon=True)
        thread.start()
        got = started.get(timeout=30)
        if isinstance(got, BaseException):
            raise got
        url, token, stop = got
        try:
            yield Running(url, setup.first_password, sim, store, setup, appliance, state_dir)
        finally:
            trio.from_thread.run_sync(stop.set, trio_token=token)
            thread.join(timeout=15)
            setup.dashboard.sessions.save()
            store.close()
    finally:
        sim.stop()
