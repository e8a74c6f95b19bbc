"""Drains the outbox to the collector, in order, one message at a time.

For the message at the head of the outbox (its next attempt due; the byte budget is applied
when messages are made, :mod:`printwatch.uplink.service`, which may hold one back to a later day):

1. POST ``/v1/upload`` (the envelope as it was sealed); the request and response go to the
   transmission log, byte for byte, in the transaction that acts on the answer.
2. ``200 {"ack": seq}``: the collector has it; the outbox drops everything up to ``seq``.
   ``409 {"expected": e}`` with ``e == seq + 1``: a duplicate (its ack was lost, e.g. by a kill
   -9 or a collector restart): dropped as acknowledged. Any other ``e``: the collector's stream
   is not this outbox's (a collector restored from a backup lacks messages it acknowledged, or
   claims messages never sent): the stream starts again at ``e``
   (:meth:`~printwatch.uplink.outbox.Outbox.restart_stream`: every device registered again
   with its meter bases, the waiting messages renumbered; nothing is dropped), after the
   backoff. Anything else (a timeout, a refused
   connection, a proxy failure, a connection closed or a front end dead before its answer was
   complete, a 5xx, a 4xx): retried after an exponential backoff with jitter, ``base_s *
   2**(attempts-1)`` capped at ``cap_s``, each delay drawn uniformly from its upper half. A 503
   or 429 with ``Retry-After: S`` (seconds) waits at least ``S`` (plus up to ``S/4``, jitter),
   bounded by ``retry_after_cap_s`` (a collector cannot park an appliance for longer).

One connection for an upload turn: the messages sent one after the other, each as soon as the
previous one is acknowledged, share one HTTPS connection (HTTP/1.1 keep-alive, the transport's
:class:`~printwatch.uplink.transport.Session`: pinned when opened, not used again after
``KEEP_IDLE_S`` idle). The turn ends, and the connection is closed, when the outbox has nothing
due (``empty``, ``waiting``), on any answer but an acknowledgement, on any transport error, and
on :meth:`Sender.aclose`. A connection the collector closed meanwhile costs nothing: the
transport opens another and the message goes on it.

With several collector URLs (the endpoint's ``alternates``) the transport tries the next one
at once on no answer or a 503 (:mod:`printwatch.uplink.transport`); the backoff applies when
none took the message. The transmission log names the URL that answered.

Error handling: nothing here raises for the network; ``duckdb.Error`` from the store
propagates (the service logs it and tries again later).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import trio

from printwatch.store import transaction
from printwatch.uplink import log as txlog
from printwatch.uplink.enrol import valid_seq
from printwatch.uplink.outbox import Outbox, Pending
from printwatch.uplink.transport import Endpoint, Response, Session, TransportError, post

log = logging.getLogger(__name__)

ENVELOPE_TYPE = "application/vnd.printwatch.envelope"


@dataclass(frozen=True)
class Backoff:
    base_s: float = 10.0
    cap_s: float = 3600.0
    retry_after_cap_s: float = 3600.0

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        """The wait after the ``attempts``-th failed attempt (1, 2, ...)."""
        full = min(self.cap_s, self.base_s * 2.0 ** max(0, attempts - 1))
        return full / 2 + rng.uniform(0, full / 2)

    def after(self, attempts: int, rng: random.Random, response: Response | None) -> float:
        """The wait after a failed attempt: at least what a 503's or 429's ``Retry-After`` asks,
        plus up to a quarter of it (appliances told the same do not come back in the same
        second), all of it within ``retry_after_cap_s``."""
        delay_s = self.delay_s(attempts, rng)
        if response is not None and response.status in (429, 503) and response.retry_after_s is not None:
            asked_s = min(response.retry_after_s, self.retry_after_cap_s)
            spread_s = min(asked_s + rng.uniform(0, asked_s / 4), self.retry_after_cap_s)
            delay_s = max(delay_s, spread_s)
        return delay_s


@dataclass
class SenderStats:
    sent: int = 0
    acked: int = 0
    duplicates: int = 0
    restarts: int = 0
    failures: int = 0
    last_error: str | None = None
    bytes_up: int = 0
    bytes_down: int = 0


@dataclass
class Outcome:
    """What one :meth:`Sender.step` did: ``sent`` / ``empty`` / ``waiting`` (until ``wait_until``)."""

    state: str
    wait_until: dt.datetime | None = None
    reply: dict[str, Any] | None = None


@dataclass
class Sender:
    outbox: Outbox
    endpoint: Endpoint
    now: Callable[[], dt.datetime]
    backoff: Backoff = field(default_factory=Backoff)
    rng: random.Random = field(default_factory=random.Random)
    stats: SenderStats = field(default_factory=SenderStats)
    limiter: trio.CapacityLimiter = field(default_factory=lambda: trio.CapacityLimiter(1))
    #: The connection of the current upload turn (see the module's docstring).
    session: Session = field(default_factory=Session)

    async def aclose(self) -> None:
        """Ends the upload turn: its connection is closed (a later step opens another)."""
        with trio.CancelScope(shield=True):
            await self.session.aclose()

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    async def step(self) -> Outcome:
        """Try the head of the outbox once (if due); the turn's connection is kept only after
        an acknowledgement (see the module's docstring)."""
        try:
            outcome, acked = await self._step()
        except BaseException:
            await self.aclose()
            raise
        if not acked:
            await self.aclose()
        return outcome

    async def _step(self) -> tuple[Outcome, bool]:
        """What :meth:`step` did, and whether the message was acknowledged."""
        item: Pending | None = await self._db(self.outbox.head)
        if item is None:
            return Outcome("empty"), False
        now = _utc(self.now())
        if item.next_attempt_at > now.replace(tzinfo=None):
            return Outcome("waiting", item.next_attempt_at.replace(tzinfo=dt.UTC)), False
        await self._db(self.outbox.attempting, item, now)
        self.stats.sent += 1
        try:
            response = await post(
                self.endpoint, "/v1/upload", item.envelope, ENVELOPE_TYPE, session=self.session
            )
        except TransportError as err:
            await self._db(self._record_failure, item, now, str(err), None)
            return Outcome("sent"), False
        self.stats.bytes_up += len(response.request_bytes)
        self.stats.bytes_down += len(response.response_bytes)
        reply = _json(response.body)
        expected = reply.get("expected") if valid_seq(reply.get("expected")) else None
        if response.status == 200 and reply.get("ack") == item.seq:
            await self._db(self._record_ack, item, now, response, item.seq)
            self.stats.acked += 1
            return Outcome("sent", reply=reply), True
        if response.status == 409 and expected == item.seq + 1:
            await self._db(self._record_ack, item, now, response, item.seq)
            self.stats.duplicates += 1
            return Outcome("sent", reply=reply), True
        if response.status == 409 and expected is not None:
            await self._db(self._restart, item, now, response, expected)
            return Outcome("sent"), False
        why = f"collector answered {response.status}: {reply.get('error') or response.body[:200]!r}"
        await self._db(self._record_failure, item, now, why, response)
        return Outcome("sent"), False

    def _log(
        self,
        con: duckdb.DuckDBPyConnection,
        item: Pending,
        now: dt.datetime,
        response: Response | None,
        error: str | None,
    ) -> None:
        """One attempt at ``item`` in the transmission log (empty bytes when nothing was exchanged)."""
        txlog.append(
            con,
            time=now,
            seq=item.seq,
            kind=item.kind,
            url=response.url if response is not None and response.url else self.endpoint.url,
            status=None if response is None else response.status,
            error=error,
            request=b"" if response is None else response.request_bytes,
            response=b"" if response is None else response.response_bytes,
        )

    def _record_ack(self, item: Pending, now: dt.datetime, response: Response, through: int) -> None:
        with transaction(self.outbox.con) as con:
            self._log(con, item, now, response, None)
            self.outbox.acknowledge(through)

    def _restart(self, item: Pending, now: dt.datetime, response: Response, expected: int) -> None:
        """The collector expects ``expected`` where this outbox is at ``item.seq``."""
        self.stats.restarts += 1
        why = f"the collector expects message {expected}, not {item.seq}"
        delay_s = self.backoff.delay_s(self.stats.restarts, self.rng)
        with transaction(self.outbox.con) as con:
            self._log(con, item, now, response, why)
        waiting = self.outbox.restart_stream(expected, now)
        head = self.outbox.head()
        if head is not None:
            self.outbox.failed(head.seq, why, now + dt.timedelta(seconds=delay_s))
        log.warning(
            "uplink: %s: the stream starts again there (%d messages, devices registered again); "
            "next attempt in %.0f s", why, waiting, delay_s,
        )  # fmt: skip

    def _record_failure(self, item: Pending, now: dt.datetime, error: str, response: Response | None) -> None:
        self.stats.failures += 1
        self.stats.last_error = error
        delay_s = self.backoff.after(item.attempts + 1, self.rng, response)
        with transaction(self.outbox.con) as con:
            self._log(con, item, now, response, error)
            self.outbox.failed(item.seq, error, now + dt.timedelta(seconds=delay_s))
        log.warning(
            "uplink: message %d (%s): %s; next attempt in %.0f s", item.seq, item.kind, error, delay_s
        )


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC) if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested 100,000 deep
        return {}
    return value if isinstance(value, dict) else {}
