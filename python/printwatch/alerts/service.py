"""Alerts in the appliance: evaluated after each poll's write (status polls, meter and billing
reads alike), then notified.

:meth:`AlertService.after_status` takes the cycle's poll documents once the store has them:

1. in a worker thread (its own cursor on the store, one evaluation at a time), the rules
   (:mod:`printwatch.alerts.rules`) read the documents and the store's ``supply_forecast`` and
   ``missed_reads`` views, and the tracker (:mod:`printwatch.alerts.tracker`) opens, updates and
   closes alerts and queues their notifications, in one transaction;
2. :meth:`deliver` sends what is due in the outbox (:mod:`printwatch.alerts.outbox`): one
   e-mail to the site's recipients, one POST per webhook, each in a worker thread, and records
   what happened. A failed try is retried at a later cycle, with a growing wait.

Error handling: nothing here raises into the poll job for a notification that fails (it stays
queued and is logged); a store that cannot be written raises ``duckdb.Error`` from
:meth:`evaluate`, and the scheduler logs that run as failed (the next run evaluates again).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import trio

from printwatch.alerts import messages, outbox, rules, tracker
from printwatch.alerts.channels import DeliveryError, post_webhook, send_email
from printwatch.clock import naive_utcnow
from printwatch.config.model import AlertsConfig, Config, SmtpConfig, Thresholds, WebhookConfig
from printwatch.store import Store, parse_time, target_address

log = logging.getLogger(__name__)


@dataclass
class AlertStats:
    evaluations: int = 0
    opened: int = 0
    closed: int = 0
    open: int = 0
    sent: int = 0
    failed_tries: int = 0
    pending: int = 0
    last_error: str | None = None


class AlertService:
    """See the module's docstring. ``now`` gives the wall time (naive UTC) for delivery."""

    def __init__(
        self,
        store: Store,
        *,
        thresholds: Thresholds | None = None,
        alerts: AlertsConfig | None = None,
        smtp: SmtpConfig | None = None,
        webhooks: Sequence[WebhookConfig] = (),
        site: str | None = None,
        now: Callable[[], dt.datetime] = naive_utcnow,
    ) -> None:
        self.store = store
        self.thresholds = thresholds or Thresholds()
        self.config = alerts or AlertsConfig()
        self.smtp = smtp if smtp is not None and smtp.recipients else None
        self.webhooks = {f"webhook:{h.url}": h for h in webhooks}
        self.site = site
        self.now = now
        self.rules = rules.Rules(
            low_percent=self.thresholds.supply_low(),
            clear_margin_percent=self.config.clear_margin_percent,
            reorder_lead_days=self.config.reorder_lead_days,
            billing_missing_hours=self.config.billing_missing_hours,
        )
        self.stats = AlertStats()
        # The registry's state at the last evaluation (see _filed_under), and the evaluations
        # that found their devices there.
        self._registry_key: tuple[object, ...] | None = None
        # (that state, the targets, the devices found for them, how many) of the last lookup
        # in the registry
        self._holders: tuple[tuple[object, ...], list[Any], list[int | None], int] | None = None
        self.lookups_from_registry = 0
        self._limiter = trio.CapacityLimiter(1)
        # One delivery at a time: two (a status poll's and a meter read's evaluations finishing
        # together) would read the same due notifications and send them twice.
        self._delivering = trio.Lock()

    @classmethod
    def from_config(cls, store: Store, config: Config) -> AlertService:
        return cls(
            store,
            thresholds=config.thresholds,
            alerts=config.alerts,
            smtp=config.smtp,
            webhooks=config.webhooks,
            site=config.uplink.site_id if config.uplink else None,
        )

    @property
    def channels(self) -> list[str]:
        return (["email"] if self.smtp else []) + list(self.webhooks)

    def statistics(self) -> AlertStats:
        return self.stats

    # -- evaluation

    def evaluate(self, docs: Sequence[Mapping[str, Any]]) -> tracker.Outcome:
        """One evaluation after the store took ``docs`` (blocking: a worker thread's call)."""
        with self.store.reading() as con:
            return self._evaluate(con, docs)

    def _evaluate(self, con: duckdb.DuckDBPyConnection, docs: Sequence[Mapping[str, Any]]) -> tracker.Outcome:
        stamps = {d.get("time") for d in docs if d.get("time")}  # one per cycle, as a rule
        if not stamps:
            return tracker.Outcome()
        as_of = min(parse_time(t, "document") for t in stamps)
        devices = self._filed_under(con, docs, as_of)
        observations: list[rules.Observation] = []
        watched: dict[int, list[str]] = {}
        answering: list[int] = []
        for doc, device_id in zip(docs, devices, strict=True):
            if device_id is None or device_id in watched:
                continue
            offline = rules.offline_observation(device_id, doc)
            if offline is not None:
                observations.append(offline)
            if doc.get("reachable") is True:
                watched[device_id] = [
                    "offline",
                    *rules.DOCUMENT_KINDS,
                    "supply_runout",
                    "billing_read_missing",
                ]
                answering.append(device_id)
                observations += rules.supply_observations(device_id, doc, self.rules)
                observations += rules.fault_observations(device_id, doc)
            else:
                watched[device_id] = ["offline"]
        # A device the registry marked gone (another printer at its address) is watched for
        # nothing: its alerts clear, and close after the clearing polls.
        for (device_id,) in con.execute(
            "SELECT device_id FROM device_registry WHERE gone_at IS NOT NULL"
        ).fetchall():
            watched.setdefault(int(device_id), list(rules.KINDS))
        if answering:
            polled = set(answering)
            horizon = rules.runout_horizon_days(self.rules)
            forecast = [r for r in _forecast(con, horizon) if r["device_id"] in polled]
            observations += rules.runout_observations(forecast, self.rules)
            missing = {d: r for d, r in _missing(con).items() if d in polled}
            observations += rules.billing_observations(missing, as_of, self.rules)
        outcome = tracker.apply(
            con,
            observations,
            watched,
            as_of,
            open_after={"offline": self.thresholds.offline_after_misses},
            clear_after=self.config.clear_after_polls,
            channels=self.channels,
            notify_closed=self.config.notify_closed,
        )
        self.stats.evaluations += 1
        self.stats.opened += len(outcome.opened)
        self.stats.closed += len(outcome.closed)
        self.stats.open = outcome.still_open
        return outcome

    def _filed_under(
        self, con: duckdb.DuckDBPyConnection, docs: Sequence[Mapping[str, Any]], as_of: dt.datetime
    ) -> list[int | None]:
        """The device each document was filed under by the store's write (None: not filed).

        The store files a document under the device that holds its address in the device
        registry (``store.registry``, kept in memory): an unreachable one under the holder it
        finds, a reachable one under the device the registry's rules place there (a new
        printer, one that moved, another printer at a known address: each *changes* who holds
        an address). So while no address changed holder since the last evaluation (the
        registry's address map keeps its revision, no device was added, no exclusion), every
        document of this poll was filed under its address's holder, and that is read from the
        registry: no read of the store. Otherwise (a device registered, moved, re-identified or
        merged; the registry read again after a failed write; a write still pending), the
        devices are read back from ``device_state`` as written by this poll. As a check, the
        store's count of devices written since ``as_of`` must equal the devices found (a
        document the store refused, or another poll's write in between): else the read back.
        At 10,000 printers the read back costs about 12 ms of CPU and 25 ms of wall, the lookup
        in the registry as much, the same targets as the last time 1-2 ms."""
        key = self._registry_state()
        steady = key[1] is not None and key == self._registry_key and not self.store.pending
        self._registry_key = key
        if steady:
            # The same targets in the same order as the last found here: the same holders.
            targets = [doc.get("target") for doc in docs]
            kept, exclusions = self._holders, self.store.registry.exclusions
            if kept is not None and kept[0] == key and kept[1] == targets and not exclusions:
                found, counted = kept[2], kept[3]
            else:
                found = [self._holder(doc) for doc in docs]
                counted = len({d for d in found if d is not None})
            row = con.execute("SELECT count(*) FROM device_state WHERE last_poll_at >= ?", [as_of]).fetchone()
            # (the key again: another poll's write may have moved an address meanwhile)
            if row is not None and int(row[0]) == counted and self._registry_state() == key:
                self._holders = (key, targets, found, counted)
                self.lookups_from_registry += 1
                return found
        self._holders = None
        device_of: dict[str, int] = {}
        for device_id, target in con.execute(
            "SELECT device_id, target FROM device_state WHERE last_poll_at >= ?", [as_of]
        ).fetchall():
            device_of[str(target)] = int(device_id)
        out: list[int | None] = []
        for doc in docs:
            device_id = device_of.get(str(doc.get("target")))
            if device_id is None:
                device_id = device_of.get(target_address(str(doc.get("target"))))
            out.append(device_id)
        return out

    def _registry_state(self) -> tuple[object, ...]:
        """What changes when an address changes holder: the address map (another one when the
        registry is read again) and its revision, the devices, the exclusions."""
        registry = self.store.registry
        addresses = getattr(registry, "by_address", None)
        revision = getattr(addresses, "revision", None)
        return (id(addresses), revision, len(registry.devices), len(registry.exclusions))

    def _holder(self, doc: Mapping[str, Any]) -> int | None:
        """The device holding ``doc``'s address in the registry (None: none; or the document
        answered at an excluded address, which the store refuses)."""
        target = doc.get("target")
        if not isinstance(target, str):
            return None
        address = target_address(target)
        registry = self.store.registry
        if registry.exclusions and doc.get("reachable") is True and registry.excluded(address):
            return None
        return registry.device_at(address)

    async def evaluate_async(self, docs: Sequence[Mapping[str, Any]]) -> tracker.Outcome:
        return await trio.to_thread.run_sync(self.evaluate, list(docs), limiter=self._limiter)

    async def after_status(self, docs: Sequence[Mapping[str, Any]]) -> tracker.Outcome:
        """Evaluate a status cycle's documents (already in the store), then deliver what is due."""
        outcome = await self.evaluate_async(docs)
        if outcome.opened or outcome.closed:
            log.info(
                "alerts: %d opened, %d closed, %d open",
                len(outcome.opened),
                len(outcome.closed),
                outcome.still_open,
            )
        await self.deliver()
        return outcome

    # -- delivery

    def _read(self, fn: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        with self.store.reading() as con:
            return fn(con)

    async def deliver(self) -> tuple[int, int]:
        """Sends every due notification; returns (sent, failed). Never raises for a channel."""
        async with self._delivering:
            return await self._deliver()

    async def _deliver(self) -> tuple[int, int]:
        now = self.now()
        channels = self.channels
        due: list[outbox.Notification] = await trio.to_thread.run_sync(
            self._read, lambda con: outbox.due(con, channels, now), limiter=self._limiter
        )
        sent: list[outbox.Notification] = []
        failed: list[tuple[outbox.Notification, str]] = []
        for channel in channels:
            batch = [n for n in due if n.channel == channel]
            if not batch:
                continue
            try:
                await trio.to_thread.run_sync(self._send, channel, batch, now)
            except DeliveryError as err:
                log.warning("alerts: %d notifications not delivered, will retry: %s", len(batch), err)
                self.stats.last_error = str(err)
                failed += [(n, str(err)) for n in batch]
            else:
                sent += batch

        def write(con: duckdb.DuckDBPyConnection) -> int:
            if sent or failed:
                outbox.record(con, sent, failed, now, retry_max_s=self.config.retry_max_s)
            return outbox.pending(con)

        self.stats.pending = await trio.to_thread.run_sync(self._read, write, limiter=self._limiter)
        self.stats.sent += len(sent)
        self.stats.failed_tries += len(failed)
        return len(sent), len(failed)

    def _send(self, channel: str, batch: list[outbox.Notification], now: dt.datetime) -> None:
        if channel == "email":
            assert self.smtp is not None
            message = messages.email(
                batch, sender=self.smtp.sender, recipients=self.smtp.recipients, site=self.site, now=now
            )
            send_email(self.smtp, message)
            return
        hook = self.webhooks[channel]
        body = (
            messages.as_text(batch, self.site)
            if hook.format == "text"
            else messages.as_json(batch, self.site)
        )
        post_webhook(hook, body)


def _forecast(con: duckdb.DuckDBPyConnection, horizon_days: float) -> list[dict[str, Any]]:
    """The latest forecast of each supply that runs out within ``horizon_days``."""
    cur = con.execute(
        "SELECT * FROM supply_forecast "
        "QUALIFY row_number() OVER (PARTITION BY device_id, supply_index ORDER BY as_of DESC) = 1 "
        "AND days_to_empty <= ?",
        [horizon_days],
    )
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _missing(con: duckdb.DuckDBPyConnection) -> dict[int, dict[str, Any]]:
    cur = con.execute(
        "SELECT m.device_id, m.last_meter_at, coalesce(m.last_meter_at, d.first_seen) AS since "
        "FROM missed_reads m JOIN device_registry d USING (device_id)"
    )
    return {int(d): {"last_meter_at": last, "since": since} for d, last, since in cur.fetchall()}
