"""Polling devices into poll documents (the shared contract): the one poll path of
``printwatch poll`` and of the appliance.

A poll has two steps (see :mod:`printwatch.poller.plans`): the base plan for every device,
then, for each device that answered, the GETs of its vendor's meter map. A
:class:`TwoStepPoller` remembers, per device, the vendor (so later meter reads ask base and
vendor GETs in one step) and the credential that answered. Credentials are tried in the order
given: every device that did not answer is asked again with the next one that applies to its
address. Documents come from :func:`printwatch.mib.interpret`, stamped with the poll's time,
each made as soon as its device's last result is in (while the engine waits on the others);
a device whose status answer did not change since its last status poll gets its last document
again (with this poll's time, uptime and counts) instead of a second interpretation.

A status poll asks the status plan (the base plan but the colorant and input tray tables,
which change rarely) and makes each document with the :class:`SlowParts` the device's last walk
of those tables gave. They are walked again, in a second step after the first, for a device
polled the first time, one whose sysObjectID or serial number changed (another printer at the
address), and once in every :data:`SLOW_REFRESH_S` of the polls' clock, each device in its own
stretch of it (so with a status poll a minute, a tenth of the fleet a poll; with polls that far
apart or more, every poll); meter reads walk them too. So a status document is the one a poll
of all five tables would give while those two are unchanged, and at most that long behind them
otherwise (a tray's paper level, a toner model's colorant). A status poll then costs 5.7
requests a printer instead of 9 (the simulator's models), 6 with a poll a minute.

:func:`poll_documents` (blocking) and :func:`poll_documents_async` (Trio) poll once with one
credential (:func:`community_targets`); the appliance keeps a :class:`TwoStepPoller` through
:class:`printwatch.service.poller.EnginePoller`.

Error handling: a printer that fails is data (``reachable: false`` or ``failures``); exceptions
are the engine's (``OSError`` if no socket can be bound).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import trio
import trio.lowlevel

from printwatch._core import Engine, Plan, Target, TargetResult, V3Credentials, VarBind
from printwatch.clock import iso_seconds, utcnow
from printwatch.engine import collect_async
from printwatch.mib import unreachable as mib_unreachable
from printwatch.mib import vendor_of
from printwatch.mib.interpret import (
    SLOW_TABLES,
    Answer,
    AnswerCache,
    Documents,
    SlowParts,
    identity_of,
    interpret_answer,
    read_slow_parts,
)
from printwatch.mib.tables import EXCEPTIONS
from printwatch.mib.text import decode_text
from printwatch.poller.plans import SYSTEM, TABLES, base_plan, full_plan, slow_plan, status_plan, vendor_plan

Version = Literal["1", "2c", "3", "auto"]
PollKind = Literal["status", "meters", "full"]
#: Builds the engine's Target for an address, a port and a plan, with one credential.
TargetFactory = Callable[[str, int, Plan], Target]
#: A device to poll: (its name in the document, IPv4 address, port).
Address = tuple[str, str, int]

#: Documents built between two checkpoints: about 1.5 ms of the loop's time on these machines
#: (building a document converts its varbinds to Python), so HTTP keeps answering.
DOCUMENTS_PER_STEP = 20
#: Targets made (a PyO3 object each), and engine results gone through (whether each is its
#: device's last; for a slow walk, its colorants and trays interpreted), between two checkpoints.
TARGETS_PER_STEP = 500
RESULTS_PER_STEP = 100
#: A device's colorant and input tray tables are walked again once in this many seconds of the
#: polls' clock (each device in its own stretch of it), besides meter reads and a change of
#: printer.
SLOW_REFRESH_S = 600
DROPPED_KINDS = ("late", "duplicate", "spoofed", "unexpected", "malformed")


def community_targets(
    community: str, version: Version = "auto", v3: V3Credentials | None = None
) -> TargetFactory:
    """SNMPv1/v2c targets with one community, or SNMPv3 targets as the user ``v3``."""

    def make(host: str, port: int, plan: Plan) -> Target:
        return Target(host, port, plan=plan, community=community, version=version, v3=v3)

    return make


def v3_targets(v3: V3Credentials) -> TargetFactory:
    """SNMPv3 targets as the user ``v3``."""

    def make(host: str, port: int, plan: Plan) -> Target:
        return Target(host, port, plan=plan, v3=v3)

    return make


def _read(result: TargetResult, oid: str) -> VarBind | None:
    """One GET of a result when the agent had a value for it (converts that value only)."""
    vb = result.get(oid)
    return None if vb is None or vb.type in EXCEPTIONS else vb


def vendor_from(result: TargetResult) -> str | None:
    """The vendor of a base-plan result (from sysDescr and sysObjectID)."""
    descr = _read(result, SYSTEM["descr"])
    object_id = _read(result, SYSTEM["object_id"])
    raw = descr.value if descr is not None else None
    oid = object_id.value if object_id is not None and isinstance(object_id.value, str) else None
    size = (len(raw) if isinstance(raw, bytes | str) else 0) + len(oid or "")
    if size > 1024:  # kept only for plain sizes: a bounded memo
        return _vendor.__wrapped__(raw, oid)
    return _vendor(raw, oid)


@functools.lru_cache(maxsize=4096)
def _vendor(descr: int | bytes | str | None, object_id: str | None) -> str | None:
    """:func:`printwatch.mib.vendor_of` of a raw sysDescr: a fleet has few distinct models,
    and matching every brand's pattern at every poll was a tenth of a status cycle."""
    return vendor_of(decode_text(descr) if descr is not None else None, object_id)


def poll_time(when: dt.datetime) -> str:
    """ISO 8601 UTC with a ``Z``, to the second: ``2026-11-30T10:00:00Z``."""
    return iso_seconds(when)


def unreachable(name: str, error: str, when: dt.datetime) -> dict[str, Any]:
    """The document of a device that was not polled or did not answer."""
    return mib_unreachable(name, error, time=poll_time(when))


@dataclass
class PollerStats:
    """Counters since start (Prometheus counters) and the current cycle's gauges."""

    cycles: int = 0
    targets: int = 0
    answered: int = 0
    timeouts: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    in_flight: int = 0  # targets of the running cycle not finished yet
    last_cycle_s: float = 0.0
    #: Datagrams the engine counted and dropped, by why (its batches' statistics): an answer
    #: after its request timed out, a second copy, one from another address or port than asked,
    #: one matching no request, one that does not decode; and sends the system refused.
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROPPED_KINDS, 0))
    send_errors: int = 0

    def count(self, r: TargetResult) -> None:
        """Adds one result's packets, bytes and timeout."""
        self.timeouts += r.status == "timeout"
        self.packets_sent += r.packets_sent
        self.packets_received += r.packets_received
        self.bytes_sent += r.bytes_sent
        self.bytes_received += r.bytes_received


def _everyone(_address: str) -> bool:
    return True


#: One request of a step: (index in the poll, address, credential index, plan).
_Work = tuple[int, Address, int, Plan]
#: A device's results once its last is in: (index in the poll, the results its document is made
#: of, results counted in its wire figures only, the slow parts it is made with).
_Made = tuple[int, list[TargetResult], list[TargetResult], SlowParts | None]
_Ready = trio.MemorySendChannel[_Made]


class TwoStepPoller:
    """Polls with the Rust engine in two steps (see the module's docstring). ``applies[c]``
    says whether credential ``c`` is tried for an address (default: all are); ``give_way`` is
    awaited between steps of Python work (the appliance lets its HTTP server run there)."""

    def __init__(
        self,
        engine: Engine,
        credentials: Sequence[TargetFactory],
        *,
        applies: Sequence[Callable[[str], bool]] | None = None,
        local_address: str = "0.0.0.0",
        thresholds: Mapping[str, float] | None = None,
        give_way: Callable[[], Awaitable[None]] = trio.lowlevel.checkpoint,
    ) -> None:
        self.engine = engine
        self.credentials = list(credentials)
        self.applies = list(applies) if applies is not None else [_everyone] * len(self.credentials)
        self.local_address = local_address
        self.thresholds = thresholds
        self.give_way = give_way
        self.credential_of: dict[str, int] = {}
        self.vendor_of: dict[str, str | None] = {}
        #: Per device, its last status answer's digest and document: an unchanged answer is
        #: not interpreted again (most of a status cycle's CPU otherwise).
        self.answers = AnswerCache()
        #: Per device, the colorant and input tray tables of its last walk of them.
        self.slow_parts: dict[str, SlowParts] = {}
        self.stats = PollerStats()
        full_plan(None)  # loads the vendor meter maps now, not in the middle of the first poll

    async def poll(self, addresses: Sequence[Address], kind: PollKind, when: dt.datetime) -> Documents:
        """One document per address, in order, stamped ``when``, with the :class:`Answer` each
        was made from (status polls: the same object as the device's last status document's
        when its answer did not change; the document shares that answer's parts, read-only).
        A status poll asks the base plan; meters and full polls add the vendor's GETs. A
        device's document is made as soon as its last result is in, while the engine still
        waits on the others (the printers that do not answer, for their timeouts and retries),
        so the waiting and the interpreting of a poll overlap instead of adding up."""
        # Status answers only: a meter read's counts move, and its other plan would replace
        # each device's status answer (every status cycle after a read would miss).
        answers = self.answers if kind == "status" else None
        slow = _SlowStep(self, when)
        stamp = poll_time(when)
        docs: dict[int, tuple[dict[str, Any], Answer | None]] = {}
        send, receive = trio.open_memory_channel[_Made](math.inf)

        async def interpret_ready() -> None:
            made = 0
            async for i, results, extra, parts in receive:
                name = addresses[i][0]
                doc, answer, read = interpret_answer(
                    *results,
                    target=name,
                    time=stamp,
                    thresholds=self.thresholds,
                    cache=answers,
                    slow=parts,
                    extra=extra,
                )
                if kind != "status" and read is not None and _walked_whole(results):
                    self._keep(name, read, slow.when_s)  # every table walked
                docs[i] = (doc, answer)
                made += 1
                if made % DOCUMENTS_PER_STEP == 0:
                    await self.give_way()  # let the loop serve HTTP between steps

        async with trio.open_nursery() as nursery:
            nursery.start_soon(interpret_ready)
            async with send:
                first = await self._first_step(addresses, kind, send, slow)
                await self._note_vendors(addresses, first)
                if kind == "status":
                    await self._slow_step(addresses, first, slow, send)
                else:
                    await self._vendor_step(addresses, first, send)
        self.stats.answered += sum(1 for r, _ in first.values() if r.reachable)
        if kind == "status":  # the devices no longer polled: their parts go
            polled = {name for name, _, _ in addresses}
            for name in [n for n in self.slow_parts if n not in polled]:
                del self.slow_parts[name]
        made = [docs[i] for i in range(len(addresses))]
        return Documents([d for d, _ in made], [a for _, a in made])

    def slow_due(self, name: str, when: dt.datetime) -> bool:
        """Whether a status poll at ``when`` walks ``name``'s slow tables (without a change of
        printer): none kept, or the kept ones walked in an earlier stretch of
        :data:`SLOW_REFRESH_S` (each device's stretches start at its own offset)."""
        kept = self.slow_parts.get(name)
        return kept is None or _slow_stale(name, kept, when.timestamp())

    def _keep(self, name: str, parts: SlowParts, when_s: float) -> SlowParts:
        """Keeps ``parts`` as ``name``'s, walked at ``when_s``, unless they say what the kept
        ones say (then those stay, and the answers made with them stay the same answers)."""
        kept = self.slow_parts.get(name)
        if kept is not None and parts.same(kept):
            parts = kept
        self.slow_parts[name] = parts
        parts.walked_at = when_s
        return parts

    async def _targets(self, work: Sequence[_Work]) -> list[Target]:
        """The engine's targets of ``work``, :data:`TARGETS_PER_STEP` between checkpoints."""
        targets: list[Target] = []
        for k, (_, (_, ip, port), c, plan) in enumerate(work, 1):
            targets.append(self.credentials[c](ip, port, plan))
            if k % TARGETS_PER_STEP == 0:
                await self.give_way()
        return targets

    async def _batch(
        self,
        work: Sequence[_Work],
        final: Callable[[_Work, TargetResult], bool],
        ready: _Ready,
        parts: Mapping[int, SlowParts] | None = None,
    ) -> list[TargetResult]:
        """One engine batch. As results come in, those that ``final`` says are a device's last
        of the poll go to ``ready`` (with the device's ``parts``), to be made into documents
        while the batch goes on; every ``final`` has been called when this returns. The targets
        are made, and the results gone through, a step at a time (:data:`TARGETS_PER_STEP`,
        :data:`RESULTS_PER_STEP`): at 10,000 printers either took the loop 50-160 ms at once."""
        targets = await self._targets(work)
        send, receive = trio.open_memory_channel[Sequence[TargetResult]](math.inf)

        def finished(got: Sequence[TargetResult]) -> None:
            self.stats.in_flight -= len(got)
            send.send_nowait(got)

        async def sort_out() -> None:
            seen = 0
            async for got in receive:
                for r in got:
                    item = work[r.index]
                    if final(item, r):
                        ready.send_nowait((item[0], [r], [], parts.get(item[0]) if parts else None))
                    seen += 1
                    if seen % RESULTS_PER_STEP == 0:
                        await self.give_way()

        # Started in a worker thread: making 10,000 sessions took the loop 15-75 ms. Not
        # abandoned on cancellation: the batch is then cancelled below once it is in hand.
        start = functools.partial(self.engine.start, targets, local_address=self.local_address)
        batch = await trio.to_thread.run_sync(start)
        self.stats.in_flight += len(targets)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sort_out)
                async with send:  # closed when the batch is collected: sort_out ends after the last
                    results = await collect_async(batch, on_results=finished)
        finally:
            batch.cancel()  # (a no-op for a batch collected whole)
            self.stats.in_flight = 0
            counts = batch.statistics()
            for kind in DROPPED_KINDS:
                self.stats.dropped[kind] += counts.get(kind, 0)
            self.stats.send_errors += counts.get("send_errors", 0)
        for r in results:
            self.stats.count(r)
        return results

    def _next_credential(self, ip: str, start: int) -> int | None:
        """The first credential from index ``start`` on that is tried for ``ip``."""
        return next((c for c in range(start, len(self.credentials)) if self.applies[c](ip)), None)

    def _first_plan(self, name: str, kind: PollKind) -> Plan:
        """Status: the status plan. Meters and full polls: base and vendor GETs in one step once
        the vendor is known (from an earlier poll), else the base plan (a vendor step follows)."""
        if kind == "status":
            return status_plan()
        if name in self.vendor_of:
            return full_plan(self.vendor_of[name])
        return base_plan()

    async def _first_step(
        self, addresses: Sequence[Address], kind: PollKind, ready: _Ready, slow: _SlowStep
    ) -> dict[int, tuple[TargetResult, bool]]:
        """The first step, credential by credential (each device not answering is asked again
        with the next); per index its result and whether it used the full plan. A result that
        is its device's last (no vendor step, slow step or next credential follows) goes to
        ``ready``."""
        out: dict[int, tuple[TargetResult, bool]] = {}
        pending: list[_Work] = []
        for i, a in enumerate(addresses):
            c = self.credential_of.get(a[0])
            if c is None:
                c = self._next_credential(a[1], 0) or 0
            pending.append((i, a, c, self._first_plan(a[0], kind)))
        base = base_plan()

        def last(item: _Work, r: TargetResult) -> bool:
            i, a, c, plan = item
            if r.reachable:
                return slow.settled(i, a[0], r) if kind == "status" else plan is not base
            return self._next_credential(a[1], c + 1) is None or a[0] in self.credential_of

        while pending:
            results = await self._batch(pending, last, ready, slow.chosen)
            retry = []
            for item, r in zip(pending, results, strict=True):
                i, a, c, plan = item
                if r.reachable:
                    self.credential_of[a[0]] = c
                if r.reachable or last(item, r):
                    out[i] = (r, plan is not base)
                else:  # not answered, and a next credential applies (not last): asked with it
                    after = self._next_credential(a[1], c + 1)
                    assert after is not None
                    retry.append((i, a, after, plan))
            pending = retry
        return out

    async def _note_vendors(
        self, addresses: Sequence[Address], first: Mapping[int, tuple[TargetResult, bool]]
    ) -> None:
        for i, (name, _, _) in enumerate(addresses):
            if i % DOCUMENTS_PER_STEP == DOCUMENTS_PER_STEP - 1:
                await self.give_way()
            r, _ = first[i]
            if r.reachable:
                self.vendor_of[name] = vendor_from(r)

    async def _vendor_step(
        self, addresses: Sequence[Address], first: Mapping[int, tuple[TargetResult, bool]], ready: _Ready
    ) -> None:
        """The vendor GETs of the devices that answered the base plan alone; each result goes to
        ``ready`` with the device's first."""
        work = [
            (i, a, self.credential_of[a[0]], vendor_plan(self.vendor_of[a[0]]))
            for i, a in enumerate(addresses)
            if first[i][0].reachable and not first[i][1]
        ]
        if not work:
            return

        def both(item: _Work, r: TargetResult) -> bool:
            ready.send_nowait((item[0], [first[item[0]][0], r], [], None))
            return False

        await self._batch(work, both, ready)

    async def _slow_step(
        self,
        addresses: Sequence[Address],
        first: Mapping[int, tuple[TargetResult, bool]],
        slow: _SlowStep,
        ready: _Ready,
    ) -> None:
        """The colorant and input tray walks of the answering devices whose status result was
        not their last (:meth:`_SlowStep.settled`): each device's document is made of its first
        result with the parts this walk gave (kept when the walk was whole), else with its
        kept parts if they are of the same printer, else without (the tables missing)."""
        work = [
            (i, a, self.credential_of[a[0]], slow_plan())
            for i, a in enumerate(addresses)
            if i in slow.wanted and first[i][0].reachable
        ]
        if not work:
            return

        def made(item: _Work, r: TargetResult) -> bool:
            i, name = item[0], item[1][0]
            base = first[i][0]
            identity = identity_of(base.get)
            fresh = read_slow_parts(identity, r.walks, self.thresholds) if r.reachable else None
            kept = self.slow_parts.get(name)
            if fresh is not None and not r.failures:  # both walked whole
                parts: SlowParts | None = self._keep(name, fresh, slow.when_s)
            elif kept is not None and kept.identity == identity:
                parts = kept
            else:
                parts = fresh
            ready.send_nowait((i, [base], [r], parts))
            return False

        await self._batch(work, made, ready)


_SLOW_ROOTS = tuple(TABLES[name] for name in SLOW_TABLES)


def _in_slow_table(oid: str) -> bool:
    return any(oid == root or oid.startswith(root + ".") for root in _SLOW_ROOTS)


def _walked_whole(results: Sequence[TargetResult]) -> bool:
    """Whether no walk of the slow tables failed in ``results`` (a timeout or an error in the
    middle: what was read is not the table, and is not kept)."""
    return not any(_in_slow_table(oid) for r in results for _, oid, _, _ in r.failures)


def _slow_stale(name: str, kept: SlowParts, when_s: float) -> bool:
    """Whether ``when_s`` is in a later stretch of :data:`SLOW_REFRESH_S` than ``kept`` was
    walked in (``name``'s stretches start at an offset of its own: the fleet's walks spread)."""
    offset = zlib.crc32(name.encode()) % SLOW_REFRESH_S
    return (when_s + offset) // SLOW_REFRESH_S != (kept.walked_at + offset) // SLOW_REFRESH_S


class _SlowStep:
    """Which devices of a status poll need the slow step (:meth:`TwoStepPoller._slow_step`),
    decided as their first results come in, and the parts the others' documents are made with."""

    def __init__(self, poller: TwoStepPoller, when: dt.datetime) -> None:
        self.poller = poller
        self.when_s = when.timestamp()
        #: Per index, the kept parts a status document is made with (no slow step).
        self.chosen: dict[int, SlowParts] = {}
        #: The indexes whose slow tables are walked in the slow step.
        self.wanted: set[int] = set()

    def settled(self, i: int, name: str, r: TargetResult) -> bool:
        """Whether a device's answering status result is its last: its parts are kept, of the
        same printer, and not due for their walk at this poll."""
        kept = self.poller.slow_parts.get(name)
        if kept is None or _slow_stale(name, kept, self.when_s) or not kept.of(r):
            self.wanted.add(i)
            return False
        self.chosen[i] = kept
        return True


async def poll_documents_async(
    addresses: Sequence[Address],
    make_target: TargetFactory,
    *,
    engine: Engine,
    thresholds: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Polls the devices once in two steps; their poll documents, in order, with one time. The
    loop keeps running, and cancelling the surrounding scope cancels the batch in flight."""
    poller = TwoStepPoller(engine, [make_target], thresholds=thresholds)
    return await poller.poll(addresses, "full", utcnow())


def poll_documents(
    addresses: Sequence[Address],
    make_target: TargetFactory,
    *,
    engine: Engine,
    thresholds: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """:func:`poll_documents_async` for code without a Trio loop (blocking; the GIL is released
    while the engine waits)."""
    return trio.run(
        functools.partial(poll_documents_async, addresses, make_target, engine=engine, thresholds=thresholds)
    )
