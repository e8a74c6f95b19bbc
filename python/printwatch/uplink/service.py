"""The uplink inside the appliance: the scheduler's hooks make messages, a task sends them.

* :meth:`UplinkService.observe` sees every poll cycle's documents: it keeps the part of the day
  for the next aggregate and fires a **reorder trigger** at once when a supply crosses its
  reorder point (``reorder_percent``) or its forecast (the store's ``supply_forecast``) runs out
  inside ``lead_time_days``; one trigger per supply until it is replaced (its percent rises
  :data:`REARM_PERCENT` above the reorder point), all of a cycle's triggers in one message.
* :meth:`upload` (the ``upload`` job, 1 to 4 times a day): the **aggregate** of the part of the
  day, thinned to the day's byte budget (:data:`printwatch.uplink.messages.THIN_LEVELS`; a tenth
  of the budget stays reserved for billing reads and reorder triggers), and once a day a
  **sync** request.
* :meth:`billing_cycle` (the ``billing`` job): the cycle's **billing** meter reads, absolute,
  labelled with the cycle (:func:`~printwatch.uplink.messages.cycle_label` of the local date of
  the billing day, by the collector's schedule once a sync gave it, else the appliance's). One
  read per device and label goes out, whichever comes first: this job, or the collector's sync
  saying the read of its current cycle is due (``uplink_state.billing_sent`` keeps the labels
  sent per device). No timestamp of one side is compared with the other's clock.
* :meth:`snapshot` (a call for assistance): the device's poll document, at most one per device
  every :data:`SNAPSHOT_EVERY_S` and :data:`SNAPSHOT_SHARE` of the day's budget in all; one
  beyond either is skipped (logged), never held back: a held message would wait at the head of
  the in-order stream with the billing reads and reorder triggers behind it.
* A device's **registration** goes out before the first message that names it.
* :meth:`serve` runs the :class:`~printwatch.uplink.sender.Sender` until cancelled: enrols
  first if the appliance holds a token and is not enrolled, then drains the outbox, sleeping
  until the next attempt is due or a new message is written. The sync answer is applied
  (``uplink_state.sync``): billing reads the collector says are due (for a cycle label not
  sent yet) are sent from the latest documents, and services it disabled (``aggregates``,
  ``billing``, ``reorders``, ``assist``) stop. Its settings (:mod:`printwatch.uplink.remote`:
  each value checked, a refused one named) apply where the customer's ``[uplink] locked`` list
  does not keep the appliance's own: upload times (the ``upload`` job follows them from its
  next slot), byte budget (a configured ``budget_bytes_per_day`` always wins), billing
  schedule, reorder point and lead time. When what it applied differs from what it last
  reported, a ``sync`` message with the report goes out at once (``{"sv", "applied",
  "locked", "refused"}``): the collector keeps it and shows it.

Error handling: a message that cannot be written (``duckdb.Error``) is logged and the hook
fails (the scheduler logs the run as failed); network failures are the sender's (retries).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import duckdb
import trio

from printwatch import __version__
from printwatch.config.model import ApplianceConfig, UplinkConfig
from printwatch.mib.interpret import Answer, answers_of
from printwatch.scheduler.schedules import FollowedBillingCycle, FollowedDailyAt
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.enrol import EnrolError, enrol
from printwatch.uplink.messages import (
    THIN_LEVELS,
    DeviceDay,
    aggregate_data,
    billing_data,
    billing_read,
    cycle_label,
    device_identity,
    device_info,
    reorder_data,
    reorder_reason,
    snapshot_data,
)
from printwatch.uplink.outbox import DeviceEntry, Outbox
from printwatch.uplink.remote import Remote, locks, read_settings, report
from printwatch.uplink.sender import Backoff, Sender
from printwatch.uplink.signing import HEADER_BYTES, Identity
from printwatch.uplink.transport import Endpoint, endpoint_of

log = logging.getLogger(__name__)

#: A supply whose trigger is out is armed again only when it rises this far above the reorder
#: point (a replacement; the store's replacement jump), not when its level wavers around it.
REARM_PERCENT = 10.0
#: Without a configured budget: this many bytes per device and day (and at least the floor).
AUTO_BUDGET_PER_DEVICE = 256
AUTO_BUDGET_FLOOR = 16384
#: Billing cycle labels remembered per device (a few cycles back: a label is only ever asked
#: for again while it is current, so older ones can go).
BILLING_LABELS_KEPT = 4
#: Assist snapshots: one per device this often, and this share of the day's budget in all.
SNAPSHOT_EVERY_S = 600.0
SNAPSHOT_SHARE = 0.25
#: The long loops over a cycle's documents let other Trio tasks (the HTTP server) run this often.
YIELD_EVERY = 200
#: The most device numbers of a sync answer's due list looked at.
MAX_DUE = 100_000
Forecast = Callable[[], dict[str, float]]
#: A reorder trigger fired: the document, its supply, the reason and the days to empty.
_Fired = tuple[dict[str, Any], dict[str, Any], str, float | None]
#: A change of reorder state to save: identity, supply index, level, when it fired and why.
_Change = tuple[str, int, float | None, dt.datetime | None, str | None]


class _Latest(NamedTuple):
    """What the uplink keeps of a device's last reachable poll: the parts its readers use (the
    registration entry, the billing read), not the whole document. Parts equal to the previous
    cycle's are that cycle's objects (shared), strings interned."""

    head: tuple[Any, ...]  # serial, mac, target, vendor, model, sys name, supply layout
    meters: tuple[tuple[str, Any], ...] | None
    counters: tuple[tuple[str, str, int], ...]

    def doc(self) -> dict[str, Any]:
        """A document that :func:`device_identity`, :func:`device_info` and
        :func:`billing_read` read exactly as the one it was kept from."""
        serial, mac, target, vendor, model, name, layout = self.head
        doc: dict[str, Any] = {"reachable": True, "target": target}
        for key, value in (("serial", serial), ("mac", mac), ("vendor", vendor), ("model", model)):
            if value is not None:
                doc[key] = value
        if name is not None:
            doc["sys"] = {"name": name}
        if layout:
            doc["supplies"] = [{"index": i, "type": t, "color": c, "description": d} for i, t, c, d in layout]
        if self.meters is not None:
            doc["meters"] = dict(self.meters)
        if self.counters:
            doc["counters"] = [{"name": n, "oid": o, "value": v} for n, o, v in self.counters]
        return doc


def _intern(value: Any) -> Any:
    return sys.intern(value) if type(value) is str else value


def _latest_of(doc: dict[str, Any], before: _Latest | None) -> _Latest:
    """The compact form of a reachable document, sharing what is equal in ``before`` (interned
    only when it changed: most cycles a device's parts are the previous cycle's)."""
    sys_ = doc.get("sys")
    name = sys_.get("name") if isinstance(sys_, dict) else None
    layout = tuple(
        (s.get("index"), s.get("type"), s.get("color"), s.get("description"))
        for s in doc.get("supplies") or ()
    )
    head = (
        doc.get("serial"),
        doc.get("mac"),
        doc.get("target"),
        doc.get("vendor"),
        doc.get("model"),
        name,
        layout,
    )
    if before is not None and before.head == head:
        head = before.head
    else:
        head = (*head[:3], *map(_intern, head[3:6]), tuple(tuple(map(_intern, row)) for row in layout))
    raw = doc.get("meters")
    meters = tuple(raw.items()) if raw else None
    if before is not None and before.meters == meters:
        meters = before.meters
    elif meters is not None:
        meters = tuple((_intern(k), v) for k, v in meters)
    kept: tuple[tuple[str, str, int], ...] = ()
    if doc.get("counters"):
        kept = tuple(billing_read({"counters": doc["counters"]})[1])
        if before is not None and before.counters == kept:
            kept = before.counters
        else:
            kept = tuple((_intern(n), _intern(o), v) for n, o, v in kept)
    return _Latest(head, meters, kept)


class Outgoing(NamedTuple):
    """A message to write: its kind and data, the device entries it carries (registration or
    meter bases), whether it was thinned, and ``uplink_state`` rows written in its transaction
    (what the appliance must remember of it exactly when the message itself survives)."""

    kind: str
    data: Any
    save: list[DeviceEntry]
    thinned: bool = False
    state: dict[str, str] | None = None


def forecast_key(identity: str, supply_index: int) -> str:
    return f"{identity}#{supply_index}"


def store_forecast(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Days to empty from the history store's ``supply_forecast``, keyed by
    :func:`forecast_key` of the device's serial identity (and of its address)."""
    out: dict[str, float] = {}
    rows = con.execute(
        "SELECT d.serial, d.address, f.supply_index, f.days_to_empty FROM supply_forecast f "
        "JOIN devices d USING (device_id) WHERE f.days_to_empty IS NOT NULL"
    ).fetchall()
    for serial, address, index, days in rows:
        if serial:
            out[forecast_key("serial:" + _norm(serial), int(index))] = float(days)
        if address:
            out[forecast_key("target:" + str(address), int(index))] = float(days)
    return out


_NOT_SERIAL = re.compile(r"[^A-Z0-9]")


@functools.lru_cache(maxsize=65536)  # a serial per printer, each cycle: bounded, a fleet's worth
def _norm(serial: str) -> str:
    return _NOT_SERIAL.sub("", serial.upper())


def _forecast_keys(doc: dict[str, Any], identity: str) -> list[str]:
    """The names a document's supplies' forecasts go by: its identity, its normalized serial
    and its address (with and without the port), in that order."""
    keys = [identity]
    if isinstance(doc.get("serial"), str):
        keys.append("serial:" + _norm(doc["serial"]))
    target = str(doc.get("target", ""))
    keys += ["target:" + target, "target:" + target.rsplit(":", 1)[0]]
    return keys


def _days_to_empty(forecast: dict[str, float], keys: list[str], index: int) -> float | None:
    """The forecast of a document's supply by the first of its names (:func:`_forecast_keys`) that has one."""
    for key in keys:
        days = forecast.get(forecast_key(key, index))
        if days is not None:
            return days
    return None


class UplinkService:
    """See the module's docstring."""

    def __init__(
        self,
        outbox: Outbox,
        endpoint: Endpoint,
        *,
        now: Callable[[], dt.datetime],
        token: str | None = None,
        budget_bytes_per_day: int | None = None,
        reorder_percent: float = 20.0,
        lead_time_days: float = 7.0,
        forecast: Forecast | None = None,
        backoff: Backoff | None = None,
        idle_s: float = 60.0,
        billing_schedule: tuple[str, int] = ("monthly", 1),
        locked: Sequence[str] = (),
    ) -> None:
        self.outbox = outbox
        self.endpoint = endpoint
        self.now = now
        self.token = token
        self.configured_budget = budget_bytes_per_day
        self.configured_reorder_percent = reorder_percent
        self.configured_lead_time_days = lead_time_days
        self.locked = tuple(locked)
        self.upload_schedule: FollowedDailyAt | None = None
        self.billing_job: FollowedBillingCycle | None = None
        self.forecast = forecast
        self.idle_s = idle_s
        self.billing_schedule = billing_schedule
        self.sender = Sender(outbox, endpoint, now, backoff or Backoff())
        self.limiter = self.sender.limiter
        self.part: dict[str, DeviceDay] = {}
        self.polls = 0
        self.latest: dict[str, _Latest] = {}
        #: Per identity, the answer of the last document tallied (see :meth:`_tally_one`) with
        #: the part's entry and the latest it left; and of the last one whose supplies went
        #: through the reorder rules, with the generation of the rules' other inputs then.
        self._tallied: dict[str, tuple[Answer, DeviceDay, _Latest]] = {}
        self._judged: dict[str, tuple[Answer, int]] = {}
        self._inputs: tuple[dict[str, float], float, float] | None = None  # forecast, point, lead
        self._generation = 0
        self._wake = trio.Event()
        self._part_lock = trio.Lock()  # a cycle's tally is whole in one part of the day
        self._pending = outbox.pending()[0]
        self._reorders = outbox.reorder_state()
        self._snapshots_at: dict[str, dt.datetime] = {}
        self.sync: dict[str, Any] = json.loads(outbox.get_state("sync") or "{}")
        try:
            self.remote: Remote = read_settings(self.sync)
        except Exception:  # a stored answer that no longer reads must not stop every start
            log.exception("uplink: the stored sync answer is ignored (it could not be read)")
            self.sync, self.remote = {}, read_settings({})

    # -- budget --------------------------------------------------------------------------------

    def _remote(self, key: str) -> Any:
        """The collector's checked value of ``key`` unless the customer locked it, else ``None``."""
        remote: Remote | None = getattr(self, "remote", None)
        return None if remote is None or locks(key, self.locked) else remote.values.get(key)

    def budget(self) -> int:
        """Bytes per UTC day: configured, else set by the collector's sync, else automatic."""
        if self.configured_budget is not None:
            return self.configured_budget
        synced = self._remote("budget_bytes_per_day")
        if synced is not None:
            return int(synced)
        return max(AUTO_BUDGET_FLOOR, AUTO_BUDGET_PER_DEVICE * len(self.outbox.devices))

    @property
    def reorder_percent(self) -> float:
        synced = self._remote("thresholds.reorder_percent")
        return self.configured_reorder_percent if synced is None else float(synced)

    @property
    def lead_time_days(self) -> float:
        synced = self._remote("thresholds.lead_time_days")
        return self.configured_lead_time_days if synced is None else float(synced)

    def _service(self, name: str) -> bool:
        """Whether a service (aggregates, billing, reorders, assist) runs: on unless the collector
        turned it off and the customer did not lock it."""
        synced = self._remote(f"services.{name}")
        return True if synced is None else bool(synced)

    def follow_upload_times(self, schedule: FollowedDailyAt) -> None:
        """The ``upload`` job's schedule: it follows the collector's upload times from now on."""
        self.upload_schedule = schedule
        self._apply_upload_times()

    def follow_schedules(self, upload: FollowedDailyAt, billing: FollowedBillingCycle) -> None:
        """The ``upload`` and ``billing`` jobs' schedules: they follow the collector's upload
        times and billing cycle from now on."""
        self.billing_job = billing
        self._apply_billing_cycle()
        self.follow_upload_times(upload)

    def _apply_billing_cycle(self) -> None:
        schedule = self.billing_job
        if schedule is None:
            return
        synced = self._remote("billing")
        if synced is None:
            schedule.follow_configured()
        elif schedule.follow(*synced):
            log.info("uplink: billing cycle %s on day %d from now on", *synced)

    def _apply_upload_times(self) -> None:
        schedule = self.upload_schedule
        if schedule is None:
            return
        synced = self._remote("upload_times")
        changed = schedule.follow_configured() if synced is None else schedule.follow(*synced)
        if changed:
            times = ", ".join(t.isoformat() for t in schedule.times)
            log.info("uplink: uploads at %s (%s) from now on", times, schedule.timezone)

    # -- writing -------------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    def _enqueue_with_registration(
        self,
        docs: Sequence[dict[str, Any]],
        make: Callable[[dict[str, DeviceEntry]], list[Outgoing]],
        now: dt.datetime,
    ) -> None:
        """Number the documents' devices, write their registration if needed, then the messages
        ``make(entries)`` returns."""
        entries: dict[str, DeviceEntry] = {}
        register: list[DeviceEntry] = []
        next_n = max((e.n for e in self.outbox.devices.values()), default=0) + 1
        for doc in docs:
            identity = device_identity(doc)
            if identity in entries:
                continue
            known = self.outbox.devices.get(identity)
            if not doc.get("reachable"):
                if known is not None:  # a known device that did not answer: no new registration
                    entries[identity] = known
                continue
            info = device_info(doc)
            if known is None:
                entry = DeviceEntry(next_n, identity, info, {})
                next_n += 1
            elif known.info != info:
                entry = DeviceEntry(known.n, identity, info, known.meters)
            else:
                entries[identity] = known
                continue
            register.append(entry)
            entries[identity] = entry
        budget = self.budget()
        if register:
            data = {
                "appliance": {"version": __version__},
                "devices": [{"n": e.n, **e.info} for e in register],
            }
            self._write(Outgoing("register", data, register), now, budget)
        for out in make(entries):  # made once the registration is counted
            self._write(out, now, budget)
        self._pending = self.outbox.pending()[0]

    def _write(self, out: Outgoing, now: dt.datetime, budget: int) -> None:
        """Write one message. One other than an aggregate that the day's budget has no room for is
        held back to the next UTC day (never dropped); the first of a day always goes."""
        kind, data = out.kind, out.data
        if data is None:  # an aggregate the budget left no room for
            self.outbox.thinned_away(now.date())
            return
        not_before = None
        spent = self.outbox.spent(now.date())
        if kind != "aggregate" and spent and spent + self._size(kind, data) > budget:
            not_before = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
            log.warning(
                "uplink: the byte budget of %s (%d) is spent (%d): %s held back to %s",
                now.date(), budget, spent, kind, not_before.date(),
            )  # fmt: skip
        self.outbox.enqueue(
            kind, data, now, devices=out.save, thinned=out.thinned, not_before=not_before, state=out.state
        )

    def _size(self, kind: str, data: Any) -> int:
        message = {"site": self.outbox.site_id, "seq": 0, "kind": kind, "at": 0, "data": data}
        return HEADER_BYTES + len(encode_payload(message))

    async def observe(self, docs: Sequence[dict[str, Any]]) -> None:
        """One poll cycle's documents (see the module's docstring). Other tasks run every
        :data:`YIELD_EVERY` documents.

        Documents the poller says are unchanged (:class:`~printwatch.mib.interpret.Documents`)
        cost a count: one of the same answer as the last tallied for its device adds a poll and
        an answer to the part of the day and nothing else (its status, meters and supplies are
        already those the part holds); its supplies do not go through the reorder rules again
        when those rules' other inputs (the forecast, the reorder point, the lead time) are
        those of its last time through them: the rules give the same levels the same outcome,
        nothing fired and no state changed."""
        answers = answers_of(docs)
        await self._tally(docs, answers)
        if not self._service("reorders"):
            return
        forecast = await self._db(self.forecast) if self.forecast is not None else {}
        now = self.now()
        fired, changes = await self._reorder_decisions(docs, forecast, now, answers)
        if fired:
            await self._send_reorders(fired, now)
        if changes:
            await self._db(self.outbox.save_reorder_state, changes)

    async def _tally(
        self, docs: Sequence[dict[str, Any]], answers: Sequence[Answer | None] | None = None
    ) -> None:
        """Count the cycle into the part of the day, and keep each reachable device's latest document."""
        async with self._part_lock:  # the upload takes the part between cycles, not within one
            self.polls += 1
            for k, doc in enumerate(docs, 1):
                self._tally_one(doc, answers[k - 1] if answers is not None else None)
                if k % YIELD_EVERY == 0:
                    await trio.lowlevel.checkpoint()

    def _tally_one(self, doc: dict[str, Any], answer: Answer | None = None) -> None:
        """One document into the part of the day. A document of the answer last tallied for its
        device, into the same part's entry, with the latest it left: a poll and an answer more
        (observing it again would set the same status, meters and supplies, and keep the same
        latest)."""
        identity = device_identity(doc)
        if answer is not None:
            kept = self._tallied.get(identity)
            if (
                kept is not None
                and kept[0] is answer
                and self.part.get(identity) is kept[1]
                and self.latest.get(identity) is kept[2]
            ):
                kept[1].polls += 1
                kept[1].answered += 1
                return
        day = self.part.setdefault(identity, DeviceDay())
        day.observe(doc)
        if doc.get("reachable"):
            latest = self.latest[identity] = _latest_of(doc, self.latest.get(identity))
            if answer is not None:
                self._tallied[identity] = (answer, day, latest)
                return
        self._tallied.pop(identity, None)

    async def _reorder_decisions(
        self,
        docs: Sequence[dict[str, Any]],
        forecast: dict[str, float],
        now: dt.datetime,
        answers: Sequence[Answer | None] | None = None,
    ) -> tuple[list[_Fired], list[_Change]]:
        """The supplies of the reachable devices against the reorder point: the triggers fired,
        and the changes of reorder state to save. A document of the answer whose supplies went
        through the rules last for its device, with the rules' other inputs as they were then,
        is skipped: the same levels, days to empty, point and lead time, from the state those
        levels left, fire nothing and change nothing (a supply fired is out, and is armed again
        only above the point with no forecast inside the lead time, which would not have fired
        it; one not fired has no crossing from its own level)."""
        fired: list[_Fired] = []
        changes: list[_Change] = []
        point, lead = self.reorder_percent, self.lead_time_days  # the cycle's, read once
        inputs = (forecast, point, lead)
        if self._inputs is None or self._inputs != inputs:
            self._generation += 1
        self._inputs = inputs
        generation = self._generation
        for k, doc in enumerate(docs, 1):
            if k % YIELD_EVERY == 0:
                await trio.lowlevel.checkpoint()
            if not doc.get("reachable"):
                continue
            identity = device_identity(doc)
            answer = answers[k - 1] if answers is not None else None
            if answer is not None:
                judged = self._judged.get(identity)
                if judged is not None and judged[0] is answer and judged[1] == generation:
                    continue
            repeated = self._judge(doc, identity, forecast, now, (point, lead), fired, changes)
            if answer is not None and not repeated:  # (two supplies of one index move each other)
                self._judged[identity] = (answer, generation)
            else:
                self._judged.pop(identity, None)
        return fired, changes

    def _judge(
        self,
        doc: dict[str, Any],
        identity: str,
        forecast: dict[str, float],
        now: dt.datetime,
        settings: tuple[float, float],
        fired: list[_Fired],
        changes: list[_Change],
    ) -> bool:
        """A reachable document's supplies through the reorder rules (``settings``: the reorder
        point and lead time), appending to ``fired`` and ``changes``; whether two of its supplies
        had one index."""
        point, lead = settings
        keys: list[str] | None = None
        indexes: set[int] = set()
        repeated = False
        for supply in doc.get("supplies") or ():
            index = supply.get("index")
            percent = supply.get("percent")
            if not isinstance(index, int) or not isinstance(percent, int | float):
                continue
            repeated = repeated or index in indexes
            indexes.add(index)
            dte = None
            if forecast:
                keys = keys or _forecast_keys(doc, identity)
                dte = _days_to_empty(forecast, keys, index)
            why = self._reorder_supply(identity, index, float(percent), dte, now, changes, point, lead)
            if why is not None:
                fired.append((doc, supply, why, dte))
        return repeated

    def _reorder_supply(
        self,
        identity: str,
        index: int,
        percent: float,
        dte: float | None,
        now: dt.datetime,
        changes: list[_Change],
        point: float,
        lead: float,
    ) -> str | None:
        """One supply's reorder state moved on by its level, its changes appended to ``changes``:
        armed again once replaced, and the reason returned when a trigger fires."""
        before, out = self._reorders.get((identity, index), (None, False))
        if out and percent >= point + REARM_PERCENT and (dte is None or dte > lead):
            out = False  # replaced (not a level wavering around the point): armed again
            changes.append((identity, index, percent, None, None))
        why = (
            None
            if out
            else reorder_reason(
                before,
                percent,
                reorder_percent=point,
                days_to_empty=dte,
                lead_time_days=lead,
            )
        )
        if why is not None:
            out = True
            changes.append((identity, index, percent, now, why))
        elif before != percent:
            changes.append((identity, index, percent, now if out else None, None))
        self._reorders[(identity, index)] = (percent, out)
        return why

    async def _send_reorders(self, fired: list[_Fired], now: dt.datetime) -> None:
        """Queue one reorder message for the triggers fired (new devices registered first) and
        wake the sender."""

        def make(entries: dict[str, DeviceEntry]) -> list[Outgoing]:
            triggers = [
                (entries[device_identity(d)].n, int(s["index"]), s.get("percent"), why, dte)
                for d, s, why, dte in fired
                if device_identity(d) in entries
            ]
            return [Outgoing("reorder", reorder_data(triggers), [])] if triggers else []

        await self._db(self._enqueue_with_registration, [d for d, *_ in fired], make, now)
        log.info("uplink: %d reorder triggers", len(fired))
        self._wake.set()

    async def upload(self, slot: dt.datetime) -> None:
        """The ``upload`` job: the aggregate of the part of the day since the last one, and a daily sync."""
        async with self._part_lock:
            part, polls = self.part, self.polls
            self.part, self.polls = {}, 0
            self._tallied = {}  # (each entry is of the part just taken)
        docs = [self.latest[i].doc() for i in part if i in self.latest]
        day = slot.date()
        now = self.now()

        def make(entries: dict[str, DeviceEntry]) -> list[Outgoing]:
            out: list[Outgoing] = []
            if self._service("aggregates") and entries:
                out.append(self._thinned_aggregate(day, polls, part, entries, now.date()))
            last_sync = self.outbox.get_state("sync_requested")
            if last_sync != day.isoformat():
                sync = {"sv": self.remote.sv or 0}
                out.append(Outgoing("sync", sync, [], state={"sync_requested": day.isoformat()}))
            return out

        await self._db(self._enqueue_with_registration, docs, make, now)
        self._wake.set()

    def _thinned_aggregate(
        self,
        day: dt.date,
        polls: int,
        part: dict[str, DeviceDay],
        entries: dict[str, DeviceEntry],
        today: dt.date,
    ) -> Outgoing:
        devices = {entries[i].n: d for i, d in part.items() if i in entries}
        sent = {e.n: e.meters for e in entries.values()}
        budget = self.budget()
        remaining = budget - budget // 10 - self.outbox.spent(today)
        by_n = {e.n: e for e in entries.values()}
        for level in range(len(THIN_LEVELS)):
            data, bases = aggregate_data(day, polls, devices, sent, level)
            if data is None:
                log.warning(
                    "uplink: the byte budget (%d a day) leaves no room for the aggregate of %s", budget, day
                )
                return Outgoing("aggregate", None, [], True)
            if self._size("aggregate", data) <= remaining:
                save = [
                    DeviceEntry(n, by_n[n].identity, by_n[n].info, {**by_n[n].meters, **values})
                    for n, values in bases.items()
                ]
                if level:
                    log.warning(
                        "uplink: aggregate of %s thinned (left out: %s) to fit the byte budget",
                        day,
                        THIN_LEVELS[level],
                    )
                return Outgoing("aggregate", data, save, level > 0)
        return Outgoing("aggregate", None, [], True)

    def cycle_of(self, day: dt.date) -> str:
        """The label of the billing cycle the local calendar ``day`` is in: by the collector's
        schedule (its last sync), else by the appliance's own ``billing_schedule``."""
        synced = self._remote("billing")
        kind, first = synced if synced is not None else self.billing_schedule
        try:
            return cycle_label(kind, first, day)
        except ValueError as err:
            log.warning("uplink: the collector's billing schedule: %s; using the appliance's", err)
            return cycle_label(*self.billing_schedule, day)

    async def billing_cycle(self, day: dt.date, docs: Sequence[dict[str, Any]]) -> None:
        """The ``billing`` job of the local calendar ``day`` (the billing day): this cycle's meter
        reads of every device that gave them and has none of this cycle on its way yet."""
        if not self._service("billing"):
            log.info("uplink: billing cycle of %s: the billing service is off (collector's settings)", day)
            return
        await self._billing(self.cycle_of(day), [d for d in docs if d.get("reachable") and d.get("meters")])

    def _billing_sent(self) -> dict[str, list[str]]:
        sent = json.loads(self.outbox.get_state("billing_sent") or "{}")
        return {str(n): [str(c) for c in labels] for n, labels in sent.items() if isinstance(labels, list)}

    async def _billing(self, cycle: str, docs: list[dict[str, Any]]) -> None:
        if not docs:
            return
        count = 0

        def make(entries: dict[str, DeviceEntry]) -> list[Outgoing]:
            nonlocal count
            sent = self._billing_sent()
            reads = [
                (entries[device_identity(d)].n, *billing_read(d))
                for d in docs
                if device_identity(d) in entries
            ]
            reads = [r for r in reads if cycle not in sent.get(str(r[0]), [])]
            count = len(reads)
            if not reads:
                return []
            for n, *_ in reads:
                labels = sorted({*sent.get(str(n), []), cycle})
                sent[str(n)] = labels[-BILLING_LABELS_KEPT:]
            # In the message's own transaction: the label is kept exactly when the read is.
            return [
                Outgoing("billing", billing_data(cycle, reads), [], state={"billing_sent": json.dumps(sent)})
            ]

        await self._db(self._enqueue_with_registration, docs, make, self.now())
        if count:
            log.info("uplink: billing cycle %s: %d meter reads", cycle, count)
            self._wake.set()
        else:
            log.info("uplink: billing cycle %s: every read is already on its way", cycle)

    async def snapshot(self, doc: dict[str, Any]) -> None:
        """A call for assistance: the device's document, sent at once (within the limits in the
        module's docstring; one beyond them is skipped with a warning)."""
        if not doc.get("reachable") or not self._service("assist"):
            return
        now = self.now()
        identity = device_identity(doc)
        last = self._snapshots_at.get(identity)
        if last is not None and (now - last).total_seconds() < SNAPSHOT_EVERY_S:
            log.warning(
                "uplink: assist snapshot of %s skipped: one per device every %.0f min (the last at %s)",
                doc.get("target"), SNAPSHOT_EVERY_S / 60, last.isoformat(timespec="seconds"),
            )  # fmt: skip
            return
        day = now.date().isoformat()
        written: list[bool] = []

        def make(entries: dict[str, DeviceEntry]) -> list[Outgoing]:
            entry = entries.get(identity)
            if entry is None:
                return []
            data = snapshot_data(entry.n, doc)
            spent = json.loads(self.outbox.get_state("snapshot_bytes") or "{}")
            used = int(spent.get(day, 0))
            size = self._size("snapshot", data)
            budget = self.budget()
            if used + size > SNAPSHOT_SHARE * budget or self.outbox.spent(now.date()) + size > budget:
                log.warning(
                    "uplink: assist snapshot of %s skipped: snapshots of %s used %d bytes (their limit: "
                    "%d%% of the day's budget, and the budget itself)",
                    doc.get("target"), day, used, 100 * SNAPSHOT_SHARE,
                )  # fmt: skip
                return []
            written.append(True)
            state = {"snapshot_bytes": json.dumps({day: used + size})}
            return [Outgoing("snapshot", data, [], state=state)]

        await self._db(self._enqueue_with_registration, [doc], make, now)
        if written:
            self._snapshots_at[identity] = now
            self._wake.set()

    def pending(self) -> int:
        """Messages in the outbox (as of the last write or send)."""
        return self._pending

    async def outbox_counts(self) -> tuple[int, int]:
        """``(messages, bytes)`` in the outbox now."""
        counts: tuple[int, int] = await self._db(self.outbox.pending)
        return counts

    # -- sending -------------------------------------------------------------------------------

    async def _apply_sync(self, sync: dict[str, Any]) -> None:
        billing = sync.get("billing")
        services = sync.get("services")
        if not isinstance(billing, dict | None) or not isinstance(services, dict | None):
            log.warning("uplink: a sync answer of another shape is ignored: %.200r", sync)
            return
        self.sync = sync
        self.remote = read_settings(sync)
        await self._db(self.outbox.set_state, "sync", json.dumps(sync))
        self._apply_upload_times()
        self._apply_billing_cycle()
        await self._report_settings()
        billing = billing or {}
        due = billing.get("due") or []
        cycle = billing.get("current")
        if not isinstance(due, list) or not isinstance(cycle, str) or len(cycle) > 10:
            return
        if not self._service("billing"):
            return
        due = [n for n in due[:MAX_DUE] if type(n) is int]
        # Reads of this cycle already written are on their way (the collector has not seen them yet).
        sent = await self._db(self._billing_sent)
        due = [n for n in due if cycle not in sent.get(str(n), [])]
        numbers = {e.n: e.identity for e in self.outbox.devices.values()}
        docs = [self.latest[numbers[n]].doc() for n in due if n in numbers and numbers[n] in self.latest]
        docs = [d for d in docs if d.get("meters")]
        if docs:
            log.info("uplink: the collector says %d billing reads of cycle %s are due", len(docs), cycle)
            await self._billing(cycle, docs)

    async def _report_settings(self) -> None:
        """A ``sync`` message reporting what this sync applied, when that differs from the last
        report (so a report's own answer, the same settings, makes no second one)."""
        made = report(self.remote, self.locked)
        text = json.dumps(made, sort_keys=True)
        if text == await self._db(self.outbox.get_state, "settings_reported"):
            return

        def make(entries: dict[str, DeviceEntry]) -> list[Outgoing]:
            return [Outgoing("sync", made, [], state={"settings_reported": text})]

        await self._db(self._enqueue_with_registration, [], make, self.now())
        log.info("uplink: settings version %s applied: %d values, %d locked, %d refused",
                 made["sv"], len(made["applied"]), len(made["locked"]), len(made["refused"]))  # fmt: skip
        self._wake.set()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Enrols if needed, then sends until cancelled (see the module's docstring); the
        sender's kept connection is closed when it stops."""
        task_status.started()
        try:
            await self._send_until_cancelled()
        finally:
            await self.sender.aclose()

    async def _send_until_cancelled(self) -> None:
        enrol_attempts = 0
        while True:
            # Enrolled is this key's: a key made again (its file lost) enrols with the new token.
            enrolled = await self._db(self.outbox.get_state, "enrolled_key")
            if self.token and enrolled != self.outbox.identity.key_id.hex():
                try:
                    key_id = await enrol(
                        self.outbox, self.endpoint, self.token, now=self.now(), limiter=self.limiter
                    )
                    log.info("uplink: enrolled with key %s", key_id)
                except EnrolError as err:
                    enrol_attempts += 1
                    delay_s = self.sender.backoff.delay_s(enrol_attempts, self.sender.rng)
                    log.warning("uplink: enrolment failed: %s; again in %.0f s", err, delay_s)
                    await trio.sleep(delay_s)
                    continue
            try:
                outcome = await self.sender.step()
            except duckdb.Error as err:
                log.error("uplink: outbox: %s", err)
                outcome = None
            self._pending = (await self._db(self.outbox.pending))[0]
            if outcome is not None and outcome.reply and isinstance(outcome.reply.get("sync"), dict):
                try:
                    await self._apply_sync(outcome.reply["sync"])
                except Exception:  # a hostile or broken collector must not stop the appliance
                    log.exception("uplink: the collector's sync answer is ignored (it could not be applied)")
            if outcome is not None and outcome.state == "sent":
                await trio.lowlevel.checkpoint()
                continue
            wait_s = self.idle_s
            if outcome is not None and outcome.wait_until is not None:
                now = self.now()
                now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
                wait_s = min(self.idle_s, max(0.01, (outcome.wait_until - now).total_seconds()))
            with trio.move_on_after(wait_s):
                await self._wake.wait()
            self._wake = trio.Event()

    def wake(self) -> None:
        """Try the outbox now (tests, and after a configuration change)."""
        self._wake.set()


class DisabledUplink:
    """``[uplink] enabled = false``: nothing is kept or sent."""

    async def observe(self, docs: Sequence[dict[str, Any]]) -> None:
        return None

    async def upload(self, slot: dt.datetime) -> None:
        log.debug("upload slot %s: the uplink is turned off", slot.isoformat())

    async def billing_cycle(self, day: dt.date, docs: Sequence[dict[str, Any]]) -> None:
        return None

    async def snapshot(self, doc: dict[str, Any]) -> None:
        return None

    def pending(self) -> int:
        return 0

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()


def open_uplink(
    uplink: UplinkConfig | None,
    appliance: ApplianceConfig,
    *,
    now: Callable[[], dt.datetime],
    reorder_percent: float,
    billing_schedule: tuple[str, int] = ("monthly", 1),
) -> UplinkService | DisabledUplink | None:
    """The uplink of ``printwatch run``: ``None`` without an ``[uplink]`` table, a
    :class:`DisabledUplink` with ``enabled = false``, else the service on the history store's
    file (the outbox lives there) with the key in ``key_file`` (made on first start).

    Error handling: ``OSError``/``PermissionError``/``ValueError`` for the key file, and
    ``RuntimeError`` for a store it cannot migrate, each naming the file.
    """
    if uplink is None:
        return None
    if not uplink.enabled:
        log.info("uplink: turned off ([uplink] enabled = false): nothing is kept or sent")
        return DisabledUplink()
    identity = Identity.load_or_create(uplink.key_file or appliance.state_dir / "uplink.key")
    outbox = Outbox(appliance.store_path, identity, uplink.site_id)
    endpoint = endpoint_of(uplink)

    def forecast() -> dict[str, float]:
        try:
            return store_forecast(outbox.con.cursor())
        except duckdb.Error as err:  # no history in this store (yet): no forecast
            log.debug("uplink: no supply forecast: %s", err)
            return {}

    return UplinkService(
        outbox,
        endpoint,
        now=now,
        token=uplink.token,
        budget_bytes_per_day=uplink.budget_bytes_per_day,
        reorder_percent=reorder_percent,
        lead_time_days=uplink.lead_time_days,
        forecast=forecast,
        billing_schedule=billing_schedule,
        locked=uplink.locked,
    )
