"""The appliance built from a configuration, in one place: ``printwatch run`` and ``printwatch
demo`` (and anything else that runs the whole appliance) assemble it here.

What it wires: glibc's malloc for a long run (:func:`~printwatch.service.memory.configure_allocator`)
and pyarrow's buffers from it (:func:`~printwatch.service.memory.configure_arrow_pool`),
the history store (:func:`~printwatch.service.sinks.open_sink`), the uplink on
the same file (its outbox shares the store's database), the alerts on the store, the poller on
the Rust engine, discovery, the scheduler's appliance, and the web server with the dashboard.
What differs between callers is an argument: the clock, the scheduler's state, the poller's
local address, the discovery port, the seed that spreads start times.

Error handling: ``OSError``, ``ValueError``, ``RuntimeError``, :class:`~printwatch.store.StoreError`
and :class:`~printwatch.PrintwatchError` naming what could not be opened; the store is closed
again when a later part fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from printwatch.alerts import AlertService
from printwatch.config.model import Config
from printwatch.scheduler import RunState, WallClock
from printwatch.service.appliance import Appliance
from printwatch.service.discoverer import NetworkDiscoverer
from printwatch.service.memory import configure_allocator, configure_arrow_pool
from printwatch.service.poller import EnginePoller
from printwatch.service.sinks import StoreSink, open_sink
from printwatch.uplink.service import DisabledUplink, UplinkService, open_uplink
from printwatch.web.dashboard.serving import WebSetup, web_setup


@dataclass(frozen=True)
class Assembled:
    """The parts of a running appliance its caller reports on and closes."""

    appliance: Appliance
    sink: StoreSink
    uplink: UplinkService | DisabledUplink | None
    alerts: AlertService
    web: WebSetup  # the app with the dashboard; web.serve is the HTTP server run_until_stopped starts


def assemble(
    config: Config,
    *,
    clock: WallClock,
    state: RunState,
    seed: str,
    local_address: str = "0.0.0.0",
    discovery_port: int = 161,
) -> Assembled:
    """The whole appliance of ``config`` (see the module's docstring)."""
    configure_allocator()  # before the store's threads and the loop's workers
    configure_arrow_pool()
    config.appliance.state_dir.mkdir(parents=True, exist_ok=True)
    sink = open_sink(
        config.appliance.store_path,
        poll_interval_s=config.intervals.status_s,
        meter_interval_s=config.intervals.meters_s,
        memory_limit_mb=config.appliance.store_memory_mb,
    )
    try:
        uplink = open_uplink(
            config.uplink,
            config.appliance,
            now=clock.now,
            reorder_percent=config.thresholds.supply_low_percent,
            billing_schedule=(config.intervals.billing_cycle, config.intervals.billing_day),
        )
        if isinstance(uplink, UplinkService):  # its outbox lives in the store's file
            sink.share_file(uplink.outbox, uplink.limiter)
        alerts = AlertService.from_config(sink.store, config)
        appliance = Appliance(
            config,
            poller=EnginePoller(
                config.snmp, local_address=local_address, thresholds=config.thresholds.supply_low()
            ),
            sink=sink,
            state=state,
            clock=clock,
            uplink=uplink,
            alerts=alerts,
            discoverer=NetworkDiscoverer(sink, port=discovery_port, local_address=local_address),
            seed=seed,
        )
        web = web_setup(appliance, sink.store, config.web, config.appliance.state_dir)
    except BaseException:
        sink.store.close()
        raise
    return Assembled(appliance, sink, uplink, alerts, web)
