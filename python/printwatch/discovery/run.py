"""One discovery: sweep the networks, find the SNMP agents, identify the printers.

Stages, joined by channels so that a printer is identified while the sweep goes on:

1. **sweep** — ICMP echo to every address (``mode="icmp"``), or nothing (``mode="snmp"``);
   ``mode="auto"`` uses ICMP when this process may open an ICMP socket, and probes every
   address of a network over SNMP when no address of it answered an echo (a network that drops
   ICMP), or every address when no ICMP socket is allowed;
2. **probe** — one SNMP GET of sysObjectID.0 and sysDescr.0 to each address (alive ones after
   an ICMP sweep, in groups as they come), with each community in turn for those still silent;
3. **identify** — one GET per agent: hrDeviceType.1 and prtGeneralSerialNumber.1; then, only
   where a question is left: the first Printer-MIB variable of agents with no printer evidence
   yet, the first hrDeviceType row of those still undecided (one request each), the vendor's
   serial-number OID for printers without prtGeneralSerialNumber (one GET), and the MAC
   addresses of printers still without a serial.

Every stage is paced, and the stages running at once share ``max_pps`` (see
:meth:`Discovery._rate`), so the cap holds for the whole discovery.

Cancelling :meth:`Discovery.run` (Ctrl-C in the CLI, a Trio cancel scope) or reaching
``limit_s`` stops at once and keeps everything found: :attr:`Discovery.agents` holds it.

Error handling: ``ValueError`` (naming the network, community or setting) for bad input before
anything is sent; ``PermissionError`` for ``mode="icmp"`` where no ICMP socket is allowed;
``OSError`` if no socket can be bound. Agents that misbehave are data, not exceptions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import trio

from printwatch._core import Batch, Engine, IcmpSweep, Plan, Target, TargetResult, V3Credentials
from printwatch.discovery import oids
from printwatch.discovery.identify import Agent, vendor_serial_oids
from printwatch.discovery.sweep import Live, expand_networks, icmp_kind, icmp_sweep_async
from printwatch.engine import collect_async

T = TypeVar("T")
Mode = Literal["auto", "icmp", "snmp"]
Version = Literal["1", "2c", "3", "auto"]

#: The default packets-per-second cap: gentle on a customer's network (a /24 swept in about
#: 0.3 s, a /16 in about 80 s); the stages together stay under it.
DEFAULT_MAX_PPS = 1000
_NO_ICMP = (
    "an ICMP sweep needs a raw ICMP socket (CAP_NET_RAW) or a datagram one "
    "(net.ipv4.ping_group_range); use --mode snmp or auto"
)
#: UDP + IPv4 headers, and IPv4 alone: added per packet for the bytes on the wire.
UDP_IP_HEADERS = 28
IP_HEADER = 20


@dataclass(frozen=True)
class Options:
    """How to discover. ``communities`` are tried in order; with ``v3`` (an SNMPv3 user) the
    probes and identification speak SNMPv3 instead (the communities are not used; each agent's
    engine ID is discovered first, one more round trip). ``retries`` applies to the probes (ICMP
    and SNMP: 0 sends one per address); identification always retries twice."""

    communities: Sequence[str | bytes] = ("public",)
    port: int = 161
    mode: Mode = "auto"
    max_pps: int = DEFAULT_MAX_PPS
    timeout_s: float = 1.0
    retries: int = 0
    limit_s: float | None = None
    exclude: Sequence[str] = ()
    version: Version = "auto"
    local_address: str = "0.0.0.0"
    v3: V3Credentials | None = None

    def check(self) -> None:
        """Error handling: ``ValueError`` naming the first bad setting."""
        self._check_communities()
        self._check_numbers()
        self._check_version()

    def _check_communities(self) -> None:
        if not self.communities:
            raise ValueError("at least one community is needed")
        for c in self.communities:
            if not c:
                raise ValueError("a community may not be empty")

    def _check_numbers(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {self.port}")
        if self.mode not in ("auto", "icmp", "snmp"):
            raise ValueError(f"mode must be auto, icmp or snmp, not {self.mode!r}")
        if self.max_pps < 1:
            raise ValueError(f"the packet rate must be at least 1 per second, not {self.max_pps}")
        if not (math.isfinite(self.timeout_s) and 0.001 <= self.timeout_s <= 60):
            raise ValueError(f"timeout must be between 0.001 and 60 s, not {self.timeout_s}")
        if not 0 <= self.retries <= 10:
            raise ValueError(f"retries must be between 0 and 10, not {self.retries}")
        if self.limit_s is not None and not (math.isfinite(self.limit_s) and self.limit_s > 0):
            raise ValueError(f"the time limit must be positive, not {self.limit_s}")

    def _check_version(self) -> None:
        if self.version == "3" and self.v3 is None:
            raise ValueError("version 3 needs an SNMPv3 user (v3)")
        if self.v3 is not None and self.version in ("1", "2c"):
            raise ValueError(f"an SNMPv3 user speaks SNMPv3, not version {self.version}")


@dataclass
class Progress:
    """Counts so far, for a progress display."""

    phase: str = "starting"
    addresses: int = 0
    #: ICMP: addresses whose echo is answered or timed out; SNMP: addresses whose probe is.
    swept: int = 0
    alive: int = 0
    probed: int = 0
    agents: int = 0
    identified: int = 0
    printers: int = 0
    packets_sent: int = 0
    bytes_sent: int = 0
    elapsed_s: float = 0.0


@dataclass
class Wire:
    """What one phase sent and received: packets and bytes (UDP or ICMP payload)."""

    packets_sent: int = 0
    bytes_sent: int = 0
    packets_received: int = 0
    bytes_received: int = 0
    header_bytes: int = 0

    @property
    def wire_bytes_sent(self) -> int:
        """Bytes sent with the IP (and UDP) headers."""
        return self.bytes_sent + self.packets_sent * self.header_bytes


@dataclass
class _Network:
    spec: str
    addresses: list[str]
    alive: int = 0


@dataclass
class Discovery:
    """One discovery of ``networks`` (CIDR or single addresses). Run it with :meth:`run`; what
    it found stays in :attr:`agents` even if the run is cancelled or limited."""

    networks: Sequence[str]
    options: Options = field(default_factory=Options)
    on_progress: Callable[[Progress], None] | None = None
    agents: dict[str, Agent] = field(default_factory=dict)
    progress: Progress = field(default_factory=Progress)
    #: Per phase (``icmp``, ``probe``, ``identify``, ``follow_up``).
    wire: dict[str, Wire] = field(default_factory=dict)
    #: ``icmp-raw``/``icmp-datagram`` and/or ``snmp``: the sweeps used.
    sweeps: list[str] = field(default_factory=list)
    #: How the run ended: ``done``, ``limited`` (limit_s) or ``cancelled``.
    outcome: str = "running"
    _nets: list[_Network] = field(default_factory=list)
    _started: float = 0.0
    _main_running: bool = False
    _probe_running: bool = False
    _probe_is_main: bool = False

    def __post_init__(self) -> None:
        self.options.check()
        if not self.networks:
            raise ValueError("no network to discover")
        exclude = list(self.options.exclude)
        seen: set[str] = set()
        for spec in self.networks:
            # ValueError names a bad spec (and the limit when a network is too large).
            addresses = [a for a in expand_networks([spec], exclude) if a not in seen]
            seen.update(addresses)
            self._nets.append(_Network(spec, addresses))
        total = sum(len(n.addresses) for n in self._nets)
        if total > 1 << 20:
            raise ValueError(f"{' '.join(self.networks)}: {total} addresses, more than 1048576 for one sweep")
        self.progress.addresses = total

    @property
    def printers(self) -> list[Agent]:
        """The printers found so far, by address."""
        return sorted((a for a in self.agents.values() if a.printer), key=_address_key)

    def total(self) -> Wire:
        """Every phase's packets and bytes together (``header_bytes`` is not meaningful here)."""
        t = Wire()
        for w in self.wire.values():
            t.packets_sent += w.packets_sent
            t.bytes_sent += w.bytes_sent
            t.packets_received += w.packets_received
            t.bytes_received += w.bytes_received
        return t

    def wire_bytes_sent(self) -> int:
        return sum(w.wire_bytes_sent for w in self.wire.values())

    async def run(self) -> list[Agent]:
        """Sweep, probe, identify; returns the printers found. Cancelling keeps what was found
        (see :attr:`agents`, :attr:`outcome`).

        Error handling: ``PermissionError`` for ``mode="icmp"`` where no ICMP socket may be
        opened (before anything is sent); ``OSError`` if a socket cannot be opened. A failure of
        one stage ends the others and is raised as itself, not as an exception group."""
        if self.options.mode == "icmp" and icmp_kind() is None:
            raise PermissionError(_NO_ICMP)
        self._started = time.monotonic()
        deadline = math.inf if self.options.limit_s is None else trio.current_time() + self.options.limit_s
        self.outcome = "cancelled"
        try:
            with trio.move_on_at(deadline) as scope:
                try:
                    await self._phases()
                except ExceptionGroup as group:
                    if len(group.exceptions) == 1:
                        raise group.exceptions[0] from group
                    raise
            self.outcome = "limited" if scope.cancelled_caught else "done"
        finally:
            self._report("finished" if self.outcome == "done" else self.outcome)
        return self.printers

    async def _phases(self) -> None:
        """Three stages joined by channels, so that a printer is identified while the sweep goes
        on (and a cancel keeps printers, not only addresses): the sweep feeds the prober
        addresses, the prober feeds the identifier agents."""
        alive_send, alive_recv = trio.open_memory_channel[list[tuple[str, str]]](math.inf)
        agent_send, agent_recv = trio.open_memory_channel[list[Agent]](math.inf)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._identify_stage, agent_recv)
            nursery.start_soon(self._probe_stage, alive_recv, agent_send)
            async with alive_send:
                await self._sweep(alive_send)

    def _rate(self, stage: str) -> int:
        """This stage's share of ``max_pps`` for a batch starting now: the main sweep 80% and the
        others 10% each while it runs; after it, the prober 70% and the identifier 30%; the
        identifier alone 100%. The shares of the stages running at once never exceed the cap."""
        share = {"main": 0.8, "probe": 0.1, "identify": 0.1}
        if not self._main_running:
            share = {"probe": 0.7, "identify": 0.3} if self._probe_running else {"identify": 1.0}
        return max(1, int(self.options.max_pps * share.get(stage, 0.1)))

    # -- stage 1: which addresses are alive ------------------------------------------------

    async def _sweep(self, alive: trio.MemorySendChannel[list[tuple[str, str]]]) -> None:
        """Sends the addresses to probe over SNMP to the prober, each with how it was found."""
        mode = self.options.mode
        kind = icmp_kind() if mode != "snmp" else None
        if mode == "icmp" and kind is None:
            raise PermissionError(_NO_ICMP)
        if kind is None:
            # The SNMP probe of every address is the sweep: the prober runs it at the main rate.
            self.sweeps.append("snmp")
            self._probe_is_main = True
            await alive.send([(a, "snmp") for n in self._nets for a in n.addresses])
            return
        label = f"icmp-{kind}"
        self.sweeps.append(label)
        addresses = [a for n in self._nets for a in n.addresses]
        owner = [i for i, n in enumerate(self._nets) for _ in n.addresses]
        self._report("icmp")
        self._main_running = True
        sweep = IcmpSweep(
            addresses,
            kind=kind,
            timeout_s=self.options.timeout_s,
            retries=self.options.retries,
            max_pps=self._rate("main"),
        )

        def found(batch: Sequence[Live]) -> None:
            for index, _address, _rtt in batch:
                self._nets[owner[index]].alive += 1
            self.progress.alive += len(batch)
            alive.send_nowait([(address, label) for _index, address, _rtt in batch])

        def step() -> None:
            s = sweep.statistics()
            self.progress.swept = s["finished"]
            self._icmp_wire(s["packets_sent"], s["bytes_sent"], s["packets_received"], s["bytes_received"])
            self._report("icmp")

        try:
            await icmp_sweep_async(sweep, on_found=found, on_step=step)
        finally:
            self._main_running = False
            step()
        if mode == "auto":
            silent = [n for n in self._nets if n.alive == 0]
            if silent:
                self.sweeps.append("snmp")
                await alive.send([(a, "snmp") for n in silent for a in n.addresses])

    def _icmp_wire(
        self, packets_sent: int, bytes_sent: int, packets_received: int, bytes_received: int
    ) -> None:
        self.wire["icmp"] = Wire(packets_sent, bytes_sent, packets_received, bytes_received, IP_HEADER)

    # -- stage 2: which addresses are SNMP agents ------------------------------------------

    async def _probe_stage(
        self,
        alive: trio.MemoryReceiveChannel[list[tuple[str, str]]],
        agents: trio.MemorySendChannel[list[Agent]],
    ) -> None:
        """Probes each group of addresses as it comes. One probe batch sends at a time (the
        ``sending`` slot, so the stage keeps its share of the cap), but a batch that has sent
        everything waits for its last answers while the next group's batch sends: on a network
        where most addresses answer ICMP, the groups would otherwise queue behind each other's
        timeouts."""
        sending = trio.Semaphore(1)
        async with agents:
            self._probe_running = True
            try:
                async with trio.open_nursery() as nursery:

                    async def each(group: list[tuple[str, str]]) -> None:
                        await sending.acquire()
                        nursery.start_soon(self._probe, group, agents, sending)

                    await _in_groups(alive, each)
            finally:
                self._probe_running = False

    async def _probe(
        self,
        addresses: list[tuple[str, str]],
        out: trio.MemorySendChannel[list[Agent]],
        sending: trio.Semaphore,
    ) -> None:
        """Probes ``addresses`` with each community in turn; called holding ``sending``, which
        it gives back as soon as a batch has sent everything (and takes again for the next
        community)."""
        how = dict(addresses)
        left = [a for a, _ in addresses]
        main = self._probe_is_main
        self._main_running = self._main_running or main
        held = True
        try:
            passes: Sequence[str | bytes] = [b""] if self.options.v3 is not None else self.options.communities
            for index, community in enumerate(passes):
                if not left:
                    break
                if not held:
                    await sending.acquire()
                held = True
                stage = "main" if main else "probe"
                left = await self._probe_with(index, community, left, how, out, stage, sending)
                held = False
        finally:
            if held:
                sending.release()
            if main:
                self._main_running = False

    async def _probe_with(
        self,
        index: int,
        community: str | bytes,
        addresses: list[str],
        how: dict[str, str],
        out: trio.MemorySendChannel[list[Agent]],
        stage: str,
        sending: trio.Semaphore,
    ) -> list[str]:
        """Probes ``addresses`` with one community; returns those still silent. Releases
        ``sending`` once every address has been sent its probe (or the batch ends)."""
        raw = community.encode() if isinstance(community, str) else bytes(community)
        v3 = self.options.v3
        version: Version = "3" if v3 is not None else self.options.version
        port = self.options.port

        def build() -> list[Target]:
            if v3 is not None:
                return [Target(a, port, plan=oids.PROBE, version="3", v3=v3) for a in addresses]
            return [Target(a, port, plan=oids.PROBE, community=raw, version=version) for a in addresses]

        # A /16's 65,534 targets take a tenth of a second to build: off the Trio thread.
        targets = await trio.to_thread.run_sync(build)
        answered: set[str] = set()

        def got(results: Sequence[TargetResult]) -> None:
            new = []
            for r in results:
                if index == 0:
                    self.progress.probed += 1
                if not r.reachable:
                    continue
                v: Literal["1", "2c", "3"] = "3" if v3 is not None else "1" if r.version == "1" else "2c"
                agent = Agent(r.host, r.port, -1 if v3 else index, raw, v, r.rtt_ms, how[r.host], v3=v3)
                agent.probe_answer(r.gets)
                _count(agent, r)
                agent.probe_bytes_sent = r.bytes_sent
                self.agents[r.host] = agent
                answered.add(r.host)
                new.append(agent)
            if new:
                out.send_nowait(new)
            self.progress.agents = len(self.agents)
            if self._probe_is_main:
                self.progress.swept = self.progress.probed
            self._report("probe")

        engine = Engine(
            timeout_s=self.options.timeout_s, retries=self.options.retries, max_pps=self._rate(stage)
        )
        await self._batch("probe", engine, targets, got, sending)
        return [a for a in addresses if a not in answered]

    # -- stage 3: what each agent is -------------------------------------------------------

    async def _identify_stage(self, agents: trio.MemoryReceiveChannel[list[Agent]]) -> None:
        await _in_groups(agents, self._identify)

    async def _identify(self, agents: list[Agent]) -> None:
        """What each agent is: the identifying GET, the searches for the undecided, then the
        vendor serial numbers and, for printers still without one, the MAC addresses."""
        await self._identify_gets(agents)
        await self._search([a for a in agents if a.identified and not a.printer])
        await self._vendor_serials(
            [a for a in agents if a.printer and a.serial is None and vendor_serial_oids(a.vendor)]
        )
        await self._macs([a for a in agents if a.printer and a.serial is None])

    async def _identify_gets(self, agents: list[Agent]) -> None:
        def got(results: Sequence[TargetResult]) -> None:
            for r in results:
                agent = self.agents[r.host]
                _count(agent, r)
                if r.reachable:
                    agent.identify_answer(r.gets)
                    self.progress.identified += 1
            self.progress.printers = len(self.printers)
            self._report("identify")

        targets = [self._target(a, oids.IDENTIFY) for a in agents]
        await self._batch("identify", self._engine(), targets, got)

    async def _search(self, undecided: list[Agent]) -> None:
        def searched(results: Sequence[TargetResult]) -> None:
            for r in results:
                agent = self.agents[r.host]
                _count(agent, r)
                agent.search_answer(r.walks)
            self.progress.printers = len(self.printers)
            self._report("identify")

        # One row of each walk: a GETBULK of two repetitions whose second row hits the row cap.
        for plan in (oids.SEARCH_PRINTER_MIB, oids.SEARCH_DEVICES):
            search = self._engine(max_repetitions=2, max_rows=1)
            await self._batch("follow_up", search, [self._target(a, plan) for a in undecided], searched)
            undecided = [a for a in undecided if not a.printer]

    async def _vendor_serials(self, asked: list[Agent]) -> None:
        def serials(results: Sequence[TargetResult]) -> None:
            for r in results:
                agent = self.agents[r.host]
                _count(agent, r)
                agent.vendor_serial_answer(r.gets)
            self._report("identify")

        plans: dict[str, Plan] = {}
        targets = []
        for a in asked:
            vendor = a.vendor or ""
            plan = plans.get(vendor) or plans.setdefault(vendor, Plan(gets=vendor_serial_oids(vendor)))
            targets.append(self._target(a, plan))
        await self._batch("follow_up", self._engine(), targets, serials)

    async def _macs(self, unnamed: list[Agent]) -> None:
        def macs(results: Sequence[TargetResult]) -> None:
            for r in results:
                agent = self.agents[r.host]
                _count(agent, r)
                agent.mac_answer(r.walks)
            self._report("identify")

        await self._batch("follow_up", self._engine(), [self._target(a, oids.MAC) for a in unnamed], macs)

    def _sorted(self) -> list[Agent]:
        return sorted(self.agents.values(), key=_address_key)

    def _engine(self, *, max_repetitions: int = 8, max_rows: int = 1000) -> Engine:
        # Agents known to answer: two retries; small GETBULKs (these columns have a few rows).
        return Engine(
            timeout_s=self.options.timeout_s,
            retries=max(2, self.options.retries),
            max_pps=self._rate("identify"),
            max_repetitions=max_repetitions,
            max_rows=max_rows,
        )

    def _target(self, agent: Agent, plan: Plan) -> Target:
        if agent.v3 is not None:
            return Target(agent.address, agent.port, plan=plan, version="3", v3=agent.v3)
        return Target(agent.address, agent.port, plan=plan, community=agent.community, version=agent.version)

    async def _batch(
        self,
        phase: str,
        engine: Engine,
        targets: list[Target],
        got: Callable[[Sequence[TargetResult]], None],
        sending: trio.Semaphore | None = None,
    ) -> None:
        """Runs one engine batch to its end, counting its packets and bytes under ``phase``.
        ``sending`` (held by the caller) is released once every target has been sent its first
        request (for one-request plans), or at the end."""
        released = sending is None

        def release() -> None:
            nonlocal released
            if not released and sending is not None:
                released = True
                sending.release()

        if not targets:
            release()
            return
        self._report(phase)
        # Laying out a large batch takes a while: off the Trio thread (a batch started and then
        # dropped by a cancel stops and joins its thread when it is collected).
        batch: Batch = await trio.to_thread.run_sync(
            lambda: engine.start(targets, local_address=self.options.local_address)
        )

        async def release_when_sent() -> None:
            while not batch.done:
                s = batch.statistics()
                if s["packets_sent"] + s["send_errors"] - s["retries"] >= len(targets):
                    break
                await trio.sleep(0.02)
            release()

        try:
            async with trio.open_nursery() as nursery:
                if not released:
                    nursery.start_soon(release_when_sent)
                await collect_async(batch, on_results=got)
        finally:
            release()
            s = batch.statistics()
            w = self.wire.setdefault(phase, Wire(header_bytes=UDP_IP_HEADERS))
            w.packets_sent += s["packets_sent"]
            w.bytes_sent += s["bytes_sent"]
            w.packets_received += s["packets_received"]
            w.bytes_received += s["bytes_received"]

    def _report(self, phase: str) -> None:
        p = self.progress
        p.phase = phase
        t = self.total()
        p.packets_sent, p.bytes_sent = t.packets_sent, t.bytes_sent
        p.elapsed_s = time.monotonic() - self._started
        if self.on_progress is not None:
            self.on_progress(p)

    def summary(self) -> dict[str, object]:
        """Counts and bytes, as the CLI's summary line and ``--json`` summary give them."""
        t = self.total()
        printers = self.printers
        return {
            "outcome": self.outcome,
            "sweeps": list(self.sweeps),
            "addresses": self.progress.addresses,
            "alive": self.progress.alive,
            "agents": len(self.agents),
            "printers": len(printers),
            "with_serial": sum(1 for a in printers if a.serial),
            "packets_sent": t.packets_sent,
            "bytes_sent": t.bytes_sent,
            "wire_bytes_sent": self.wire_bytes_sent(),
            "bytes_received": t.bytes_received,
            "phases": {
                k: {
                    "packets_sent": w.packets_sent,
                    "bytes_sent": w.bytes_sent,
                    "bytes_received": w.bytes_received,
                }
                for k, w in self.wire.items()
            },
            "elapsed_s": round(self.progress.elapsed_s, 3),
        }


#: How long a stage lets work pile up before it starts a batch with it.
GROUP_LINGER_S = 0.1


async def _in_groups(
    recv: trio.MemoryReceiveChannel[list[T]], handle: Callable[[list[T]], Awaitable[None]]
) -> None:
    """Calls ``handle`` with everything that arrived on ``recv`` (after a short linger), one
    group at a time, until the channel is closed and empty."""
    async with recv:
        while True:
            try:
                group = list(await recv.receive())
            except trio.EndOfChannel:
                return
            await trio.sleep(GROUP_LINGER_S)
            while True:
                try:
                    group.extend(recv.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            await handle(group)


def _count(agent: Agent, r: TargetResult) -> None:
    agent.packets_sent += r.packets_sent
    agent.bytes_sent += r.bytes_sent
    agent.bytes_received += r.bytes_received


def _address_key(agent: Agent) -> tuple[int, ...]:
    return tuple(int(x) for x in agent.address.split("."))


async def discover_async(networks: Sequence[str], options: Options | None = None) -> Discovery:
    """Runs a discovery to its end (or ``limit_s``) and returns it (see :class:`Discovery`)."""
    d = Discovery(networks, options or Options())
    await d.run()
    return d


def discover(networks: Sequence[str], options: Options | None = None) -> Discovery:
    """:func:`discover_async` from synchronous code (runs its own Trio loop)."""
    return trio.run(discover_async, networks, options)
