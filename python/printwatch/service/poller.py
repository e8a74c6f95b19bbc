"""A poll cycle of the fleet: targets in, poll documents out.

:class:`EnginePoller` drives the Rust engine (:func:`printwatch.engine.collect_async`, so the
Trio loop keeps running and a cancel stops the batch within 100 ms), in the plans of the printer
semantics (:mod:`printwatch.poller.plans`): a status poll asks the base plan (system, status,
identity, the Printer-MIB tables); a meter read (and an assist's full poll) adds the GETs of the
printer's vendor meter map, in the same step once the vendor is known from an earlier poll, in a
second step the first time. Documents come from :func:`printwatch.mib.interpret`. Names in the configured
devices are resolved on each cycle (Trio's resolver: no blocking). Credentials are tried in the
configured order, SNMPv3 users (``[[snmp.v3]]``) first, then the communities: the first cycle
asks with the first, and every target that did not answer is asked again with the next one; the
credential that answered is remembered for the target's next cycles.

The appliance only needs :class:`Poller`; tests use a pure-Python one on Trio's MockClock.

Error handling: a printer that does not answer is data (an ``unreachable`` document with the
engine's status); ``OSError`` if the engine cannot bind its socket propagates (the cycle fails
and is logged by the scheduler).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import trio
import trio.lowlevel

from printwatch.config.model import SnmpConfig
from printwatch.config.v3 import v3_credentials
from printwatch.engine import Engine, Plan, Target, TargetResult, V3Credentials, collect_async
from printwatch.poller.documents import community_targets, vendor_from
from printwatch.poller.plans import base_plan, full_plan, vendor_plan
from printwatch.service.documents import document, unreachable
from printwatch.service.fairness import give_way

PollKind = Literal["status", "meters", "full"]
#: Builds the engine's Target for an address, a port and a plan, with one credential.
Credential = Callable[[str, int, Plan], Target]

#: Documents built between two checkpoints: about 1.5 ms of the loop's time on these machines
#: (building a document converts its varbinds to Python), so HTTP keeps answering.
DOCUMENTS_PER_STEP = 20
Device = tuple[str, int]


DROPPED_KINDS = ("late", "duplicate", "spoofed", "unexpected", "malformed")


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


class Poller(Protocol):
    async def poll(
        self, devices: Sequence[Device], kind: PollKind, when: dt.datetime
    ) -> list[dict[str, Any]]:
        """Polls every device once; one document per device, in order, stamped ``when``."""
        ...

    def statistics(self) -> PollerStats: ...


def v3_target(v3: V3Credentials) -> Credential:
    def make(host: str, port: int, plan: Plan) -> Target:
        return Target(host, port, plan=plan, v3=v3)

    return make


def spec_of(device: Device) -> str:
    return f"{device[0]}:{device[1]}"


async def resolve(host: str) -> str | None:
    """An IPv4 address for ``host`` (itself when it is one), or None when it does not resolve."""
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    try:
        infos = await trio.socket.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError:
        return None
    return str(infos[0][4][0]) if infos else None


class EnginePoller:
    """Polls with the Rust engine (see the module's docstring)."""

    def __init__(
        self,
        snmp: SnmpConfig,
        *,
        local_address: str = "0.0.0.0",
        thresholds: Mapping[str, float] | None = None,
    ) -> None:
        # Credentials in the order they are tried: the SNMPv3 users, then the communities.
        self.credentials: list[Credential] = [v3_target(v3) for v3 in v3_credentials(snmp)]
        self.credentials += [community_targets(c, "auto") for c in (snmp.communities or ("public",))]
        # Whom each credential is tried for: an SNMPv3 user for its networks, a community for all.
        self.applies: list[Callable[[str], bool]] = [p.applies_to for p in snmp.v3]
        self.applies += [lambda _address: True] * (len(self.credentials) - len(snmp.v3))
        self.engine = Engine(timeout_s=snmp.timeout_s, retries=snmp.retries, max_pps=snmp.max_pps)
        self.local_address = local_address
        self.thresholds = thresholds
        self.credential_of: dict[Device, int] = {}
        self.vendor_of: dict[Device, str | None] = {}
        self.stats = PollerStats()
        full_plan(None)  # loads the vendor meter maps now, not in the middle of the first cycle

    def statistics(self) -> PollerStats:
        return self.stats

    async def _batch(self, work: Sequence[tuple[Device, str, int, Plan]]) -> list[TargetResult]:
        """One engine batch: ``(device, address, credential index, plan)`` each."""
        targets = [self.credentials[c](address, device[1], plan) for device, address, c, plan in work]
        self.stats.in_flight += len(targets)

        def finished(got: Sequence[TargetResult]) -> None:
            self.stats.in_flight -= len(got)

        batch = self.engine.start(targets, local_address=self.local_address)
        try:
            results = await collect_async(batch, on_results=finished)
        finally:
            self.stats.in_flight = 0
            counts = batch.statistics()
            for kind in DROPPED_KINDS:
                self.stats.dropped[kind] += counts.get(kind, 0)
            self.stats.send_errors += counts.get("send_errors", 0)
        for r in results:
            self._count(r)
        return results

    def _next_credential(self, address: str, start: int) -> int | None:
        """The first credential from index ``start`` on that is tried for ``address``."""
        return next((c for c in range(start, len(self.credentials)) if self.applies[c](address)), None)

    def _first_plan(self, device: Device, kind: PollKind) -> Plan:
        """Status: the base plan. Meters and full polls: base and vendor GETs in one step once
        the vendor is known (from an earlier poll), else the base plan (a vendor step follows)."""
        if kind != "status" and device in self.vendor_of:
            return full_plan(self.vendor_of[device])
        return base_plan()

    async def _first_step(
        self, work: list[tuple[int, Device, str]], kind: PollKind
    ) -> dict[int, tuple[TargetResult, bool]]:
        """The first step, credential by credential (each target not answering is asked again
        with the next); per index its result and whether it used the full plan."""
        out: dict[int, tuple[TargetResult, bool]] = {}
        pending = [(i, d, a, self.credential_of.get(d, self._next_credential(a, 0) or 0)) for i, d, a in work]
        while pending:
            plans = [self._first_plan(d, kind) for _, d, _, _ in pending]
            results = await self._batch(
                [(d, a, c, p) for (_, d, a, c), p in zip(pending, plans, strict=True)]
            )
            retry = []
            for (i, device, address, c), plan, r in zip(pending, plans, results, strict=True):
                if r.reachable:
                    self.credential_of[device] = c
                after = self._next_credential(address, c + 1)
                if r.reachable or after is None or device in self.credential_of:
                    out[i] = (r, plan is not base_plan())
                else:
                    retry.append((i, device, address, after))
            pending = retry
        return out

    async def poll(
        self, devices: Sequence[Device], kind: PollKind, when: dt.datetime
    ) -> list[dict[str, Any]]:
        t0 = time.monotonic()
        docs: dict[int, dict[str, Any]] = {}
        work: list[tuple[int, Device, str]] = []
        for i, device in enumerate(devices):
            if i % 200 == 199:
                await give_way()
            address = await resolve(device[0])
            if address is None:
                docs[i] = unreachable(spec_of(device), "unresolved", when)
            else:
                work.append((i, device, address))
        first = await self._first_step(work, kind)
        for n, (i, device, _) in enumerate(work):
            if n % DOCUMENTS_PER_STEP == DOCUMENTS_PER_STEP - 1:
                await give_way()
            r, _ = first[i]
            if r.reachable:
                self.vendor_of[device] = vendor_from(r)
        # The vendor step, for meter reads of printers whose vendor was not known before.
        second: dict[int, TargetResult] = {}
        if kind != "status":
            todo = [(i, d, a) for i, d, a in work if first[i][0].reachable and not first[i][1]]
            results = await self._batch(
                [(d, a, self.credential_of[d], vendor_plan(self.vendor_of[d])) for _, d, a in todo]
            )
            second = {i: r for (i, _, _), r in zip(todo, results, strict=True)}
        for n, (i, device, _) in enumerate(work):
            if n % DOCUMENTS_PER_STEP == DOCUMENTS_PER_STEP - 1:
                await give_way()  # let the loop serve HTTP between steps
            results_of = [first[i][0], *([second[i]] if i in second else [])]
            docs[i] = document(spec_of(device), results_of, when, self.thresholds)
        self.stats.cycles += 1
        self.stats.targets += len(devices)
        self.stats.answered += sum(1 for i, _, _ in work if first[i][0].reachable)
        self.stats.last_cycle_s = time.monotonic() - t0
        return [docs[i] for i in range(len(devices))]

    def _count(self, r: TargetResult) -> None:
        self.stats.timeouts += r.status == "timeout"
        self.stats.packets_sent += r.packets_sent
        self.stats.packets_received += r.packets_received
        self.stats.bytes_sent += r.bytes_sent
        self.stats.bytes_received += r.bytes_received
