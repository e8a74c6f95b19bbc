"""The appliance: the scheduler's jobs wired to the poller, the sink and the uplink hooks.

Each poll job (``status``, ``meters``, ``billing``) polls every known device, then writes the
cycle's documents to the sink. The write is shielded from cancellation: at shutdown (SIGTERM)
the poll in flight is cancelled, but a write that has begun finishes, and then the sink is
flushed and closed (:meth:`Appliance.aclose`).

After a status cycle's write, the alerts (:mod:`printwatch.alerts`, when given) are evaluated
and their notifications sent.

A poller's :class:`~printwatch.mib.interpret.Documents` say which documents are unchanged since
the device's last (the poller's answer cache): the fleet view, the store, the uplink and the
alerts each skip there what such a document cannot change.

Devices are the configured ones plus those the last discovery found. The uplink sees every
cycle's documents and gets the daily upload, the billing cycle's reads and the snapshot of an
assist call (:class:`Uplink`: :class:`printwatch.uplink.service.UplinkService`, or
:class:`PendingUplink`, which logs and counts, when no uplink is configured).

Error handling: a failing poll or write fails that run only (the scheduler logs it and keeps the
schedule); :meth:`Appliance.assist` raises ``LookupError`` for a device it does not know.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio
import trio.lowlevel

from printwatch.alerts.service import AlertStats
from printwatch.config.model import Config
from printwatch.mib.interpret import Answer, answers_of
from printwatch.scheduler.clock import WallClock
from printwatch.scheduler.jobs import appliance_jobs
from printwatch.scheduler.runner import RunContext, Scheduler
from printwatch.scheduler.schedules import FollowedBillingCycle, FollowedDailyAt
from printwatch.scheduler.state import RunState
from printwatch.service.exposition import device_lines
from printwatch.service.fairness import gc_paused, give_way
from printwatch.service.poller import Device, Poller, PollKind, spec_of
from printwatch.service.sinks import Sink

log = logging.getLogger(__name__)


class Uplink(Protocol):
    """The uplink (:class:`printwatch.uplink.service.UplinkService`): every cycle's documents
    (reorder triggers, the day's aggregate), the daily package, a billing cycle, an assist
    snapshot, and the task that sends (``serve``)."""

    async def observe(self, docs: Sequence[dict[str, Any]]) -> None: ...

    async def upload(self, slot: dt.datetime) -> None: ...

    async def billing_cycle(self, day: dt.date, docs: Sequence[dict[str, Any]]) -> None:
        """The billing job of the local calendar ``day`` (the billing day of a cycle)."""
        ...

    async def snapshot(self, doc: dict[str, Any]) -> None: ...

    def pending(self) -> int:
        """Items waiting to be sent (a queue length for /metrics)."""
        ...

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None: ...


class PendingUplink:
    """No uplink yet: every call is logged and counted as pending (see the module's docstring)."""

    def __init__(self) -> None:
        self.uploads: list[dt.datetime] = []
        self.cycles: list[dt.date] = []
        self.snapshots: list[str] = []

    async def observe(self, docs: Sequence[dict[str, Any]]) -> None:
        return None

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()

    async def upload(self, slot: dt.datetime) -> None:
        self.uploads.append(slot)
        log.info("upload slot %s: no uplink in this build; the package stays pending", slot.isoformat())

    async def billing_cycle(self, day: dt.date, docs: Sequence[dict[str, Any]]) -> None:
        self.cycles.append(day)
        log.info("billing cycle %s closed with %d meter reads (pending upload)", day.isoformat(), len(docs))

    async def snapshot(self, doc: dict[str, Any]) -> None:
        self.snapshots.append(doc["target"])
        log.info("assist snapshot of %s (pending upload)", doc["target"])

    def pending(self) -> int:
        return len(self.uploads) + len(self.cycles) + len(self.snapshots)


#: What the fleet view keeps of a device's latest document (what /metrics, /health and the
#: device lookup read): strings, numbers and tuples of them only, which the garbage collector
#: stops tracking, so that its walks stay short however large the fleet.
FLEET_KEYS = ("target", "reachable", "time", "rtt_ms", "vendor", "model", "serial")
SUPPLY_KEYS = ("index", "description", "type", "color", "percent", "state")


def fleet_entry(doc: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """``doc`` slimmed down: ``sys_name``, ``device_state``, ``meters`` as ``((name, count),
    ...)``, ``supplies`` as tuples in the order of :data:`SUPPLY_KEYS`, and ``lines``, the
    device's /metrics lines (:func:`printwatch.service.exposition.device_lines`, reusing those of
    the device's ``previous`` entry where they come out the same)."""
    entry = {k: doc[k] for k in FLEET_KEYS if k in doc}
    name = doc.get("sys", {}).get("name")
    if isinstance(name, str):
        entry["sys_name"] = name
    status = doc.get("status", {})
    if isinstance(status.get("device"), str):
        entry["device_state"] = status["device"]
    meters = doc.get("meters") or {}
    entry["meters"] = tuple((k, v) for k, v in meters.items() if isinstance(v, int))
    entry["supplies"] = tuple(tuple(map(s.get, SUPPLY_KEYS)) for s in doc.get("supplies") or ())
    if previous is not None:  # the same tuples once, not a copy per poll
        for key in ("meters", "supplies"):
            if previous.get(key) == entry[key]:
                entry[key] = previous[key]
    entry["lines"] = device_lines(entry, previous)  # its /metrics lines, made once per poll
    return entry


def fleet_entry_again(doc: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """:func:`fleet_entry` of a document whose answer is that of the device's ``previous``
    entry's document (:class:`printwatch.mib.interpret.Answer`): only the poll's time and
    round trip differ from it (its name, state, serial, meters and supplies are the answer's)."""
    entry = dict(previous)
    entry["time"] = doc["time"]
    if "rtt_ms" in doc:
        entry["rtt_ms"] = doc["rtt_ms"]
    entry["lines"] = device_lines(entry, previous)
    return entry


class Alerts(Protocol):
    """What :class:`printwatch.alerts.AlertService` does for the appliance."""

    async def after_status(self, docs: Sequence[dict[str, Any]]) -> object:
        """Evaluates a poll's documents (written already) and sends what is due."""
        ...

    def statistics(self) -> AlertStats: ...


class Discoverer(Protocol):
    async def discover(self, config: Config) -> list[Device]:
        """Printers found on the configured networks."""
        ...


@dataclass
class SinkStats:
    writes: int = 0
    documents: int = 0
    pending: int = 0  # documents polled and waiting for their write
    last_write_s: float = 0.0


class Appliance:
    """See the module's docstring."""

    def __init__(
        self,
        config: Config,
        *,
        poller: Poller,
        sink: Sink,
        state: RunState,
        clock: WallClock,
        uplink: Uplink | None = None,
        discoverer: Discoverer | None = None,
        alerts: Alerts | None = None,
        seed: str = "",
    ) -> None:
        self.config = config
        self.poller = poller
        self.sink = sink
        self.clock = clock
        self.uplink: Uplink = uplink or PendingUplink()
        self.discoverer = discoverer
        self.alerts = alerts
        self.discovered: list[Device] = []
        # devices(): (configured, discovered, known addresses) it was made of, and the list
        self._devices: tuple[Sequence[Device], list[Device], list[str], list[Device]] | None = None
        self.discovery_done = trio.Event()  # set when this run's first discovery has ended
        self.fleet: dict[str, dict[str, Any]] = {}  # fleet_entry of the latest document per target
        self.fleet_answers: dict[str, Answer] = {}  # the answer of the fleet entry's document
        self.fleet_version = 0  # counts changes of the fleet view (the metrics cache's key)
        self.fleet_writers = 0  # polls replacing the fleet view's entries now (a meter read, an
        # assist and a status cycle may overlap)
        self.answering = 0  # entries of the fleet view that answered (kept for /health)
        self.sink_stats = SinkStats()
        self.started = clock.now()
        self.scheduler = Scheduler(
            appliance_jobs(config.intervals, self), clock=clock, state=state, seed=seed
        )
        # The upload and billing jobs follow the upload times and the billing cycle the
        # collector's sync sets (where the customer did not lock them).
        follow = getattr(self.uplink, "follow_schedules", None)
        schedules = {job.name: job.schedule for job in self.scheduler.jobs}
        upload, cycle = schedules.get("upload"), schedules.get("billing")
        if (
            follow is not None
            and isinstance(upload, FollowedDailyAt)
            and isinstance(cycle, FollowedBillingCycle)
        ):
            follow(upload, cycle)

    # -- what is polled

    def devices(self) -> list[Device]:
        """The configured devices, those discovery found, and the addresses the history's device
        registry knows (a printer that moved, a manual target) on port 161 unless the address
        is already polled on another port."""
        known = self.sink.known_addresses()
        kept = self._devices
        # /health and /metrics ask on every request: the list is made again only when one of
        # its three sources differs (equal lists of the same objects compare in well under a
        # millisecond at 10,000; making it, several).
        if kept is None or kept[0] != self.config.devices or kept[1] != self.discovered or kept[2] != known:
            devices = list(dict.fromkeys([*self.config.devices, *self.discovered]))
            hosts = {host for host, _ in devices}
            devices.extend((a, 161) for a in known if a not in hosts)
            kept = self._devices = (tuple(self.config.devices), list(self.discovered), known, devices)
        return list(kept[3])

    async def _poll_and_write(self, kind: PollKind, devices: Sequence[Device]) -> list[dict[str, Any]]:
        docs = await self.poller.poll(devices, kind, self.clock.now())
        self.sink_stats.pending = len(docs)
        with trio.CancelScope(shield=True):  # the write in hand finishes, even at shutdown
            t0 = trio.current_time()
            try:
                await self.sink.ingest(docs)
            finally:
                self.sink_stats.pending = 0
            self.sink_stats.last_write_s = trio.current_time() - t0
        self.sink_stats.writes += 1
        self.sink_stats.documents += len(docs)
        answers = answers_of(docs)
        self.fleet_writers += 1
        try:
            for n, doc in enumerate(docs):
                target = doc["target"]
                previous = self.fleet.get(target)
                answer = answers[n] if answers is not None else None
                if answer is not None and previous is not None and self.fleet_answers.get(target) is answer:
                    entry = self.fleet[target] = fleet_entry_again(doc, previous)  # unchanged
                else:
                    entry = self.fleet[target] = fleet_entry(doc, previous)
                    if answer is not None:
                        self.fleet_answers[target] = answer
                    else:
                        self.fleet_answers.pop(target, None)
                self.answering += bool(entry.get("reachable")) - bool(previous and previous.get("reachable"))
                if n % 200 == 199:
                    await give_way()
        finally:  # (cancelled half way: the entries replaced so far are a new version too)
            self.fleet_version += 1
            self.fleet_writers -= 1
        await self._after_write(docs)
        return docs

    async def _after_write(self, docs: list[dict[str, Any]]) -> None:
        """The uplink's tally and the alerts over a poll's documents, side by side: both read
        the documents and the store (the alerts' rules read its views, so after the write), and
        each writes its own tables, so a poll's tail is the longer of the two, not their sum.
        Every poll is evaluated: a meter read asks the status plan and the vendor's counters,
        so its documents say all a status poll's do. One failing does not stop the other; its
        error is raised once both are done."""
        errors: list[Exception] = []

        async def run(step: Callable[[list[dict[str, Any]]], Awaitable[object]]) -> None:
            try:
                await step(docs)
            except Exception as err:  # raised below, once the other step is done
                errors.append(err)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, self.uplink.observe)
            if self.alerts is not None:
                nursery.start_soon(run, self.alerts.after_status)
        try:
            if len(errors) == 1:
                raise errors[0]
            if errors:
                raise ExceptionGroup("the uplink's tally and the alerts both failed", errors)
        finally:
            # The errors' tracebacks hold run()'s frames, whose cells hold this list: emptied, the
            # list closes no reference cycle that would keep the cycle's documents alive (until
            # a collection) once the error is handled.
            errors.clear()

    # -- the scheduler's hooks (printwatch.scheduler.jobs.Hooks)

    async def poll_status(self, ctx: RunContext) -> None:
        await self._await_first_discovery()
        with gc_paused():
            docs = await self._poll_and_write("status", self.devices())
            # Gone before the collection that ends the pause: alive, the cycle's documents made
            # it walk 2,000 documents (a 30-40 ms stall of the loop at 2,000 printers).
            del docs

    async def read_meters(self, ctx: RunContext) -> None:
        await self._await_first_discovery()
        with gc_paused():
            await self._poll_and_write("meters", self.devices())
        await self.sink.publish()  # a fresh snapshot for readers in other processes

    async def close_billing_cycle(self, ctx: RunContext) -> None:
        with gc_paused():
            docs = await self._poll_and_write("meters", self.devices())
            # The local calendar date of the slot: the billing day wherever the site is.
            day = ctx.slot.astimezone(zoneinfo.ZoneInfo(self.config.intervals.timezone)).date()
            await self.uplink.billing_cycle(day, docs)
            del docs

    async def upload(self, ctx: RunContext) -> None:
        await self.uplink.upload(ctx.slot)

    async def discover(self, ctx: RunContext) -> None:
        try:
            if self.discoverer is not None:
                self.discovered = await self.discoverer.discover(self.config)
        finally:
            self.discovery_done.set()

    async def _await_first_discovery(self) -> None:
        """A poll cycle waits for the first discovery of this run (the devices it finds), for at
        most one status interval."""
        if self.discoverer is not None and self.config.networks:
            with trio.move_on_after(self.config.intervals.status_s):
                await self.discovery_done.wait()

    async def upkeep(self, ctx: RunContext) -> None:
        await self.sink.upkeep(self.clock.now())

    # -- on demand

    def find_device(self, name: str) -> Device:
        """``host[:port]``, an address, a serial number or a sysName of a known device.

        Error handling: ``LookupError`` naming ``name`` when no known device matches.
        """
        devices = self.devices()
        for device in devices:
            if name in (spec_of(device), device[0]):
                return device
        for device in devices:
            doc = self.fleet.get(spec_of(device), {})
            if name and name in (doc.get("serial"), doc.get("sys_name")):
                return device
        raise LookupError(f"{name!r}: no such device (give host[:port], a serial number or a sysName)")

    async def assist(self, name: str) -> dict[str, Any]:
        """Call for assistance: an immediate full poll of one device, written and handed to the
        uplink as a snapshot. Runs beside the schedule (it does not wait for a cycle)."""
        device = self.find_device(name)
        [doc] = await self._poll_and_write("full", [device])
        await self.uplink.snapshot(doc)
        return doc

    # -- running

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Runs the schedule until cancelled."""
        await self.scheduler.serve(task_status=task_status)

    async def aclose(self) -> None:
        """Flushes and closes the sink (after :meth:`serve` ended)."""
        with trio.CancelScope(shield=True):
            await self.sink.close()
