"""A discovery sweep run from the dashboard: ``printwatch.discovery`` over the networks typed in
the form, with the appliance's communities and the store's exclusions, every printer found filed
in the device registry (the registry's rules: new, known, moved...).

Bounded: at most :data:`MAX_ADDRESSES` addresses a sweep and :data:`LIMIT_S` seconds (what was
found by then is kept), one sweep at a time.

Confined (:class:`SweepScope`): a sweep stays inside the site's configured networks
(``[[networks]]`` and the configured devices' addresses) and the SNMP ports it polls (161 and
the devices' own), unless an admin widened them in the configuration (``[web] sweep_networks``,
``sweep_ports``). The site's communities go only inside its configured networks; a widened
network is swept with ``public`` alone, so that a form cannot send the secret communities to a
listener of its choosing.

Error handling: :class:`ValueError` naming the network that is not an IPv4 address or range, or
the size over the bound, before anything is sent; a second sweep while one runs is refused the
same way.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import trio

from printwatch.clock import naive_utcnow
from printwatch.config.model import Config, SnmpConfig
from printwatch.discovery import Options, discover_async
from printwatch.discovery.identify import Agent
from printwatch.discovery.record import record, store_exclusions
from printwatch.store import Store, UpsertResult

MAX_ADDRESSES = 4096
LIMIT_S = 60.0


@dataclass
class SweepResult:
    networks: list[str]
    addresses: int
    printers: list[tuple[Agent, UpsertResult]]
    agents: int  # SNMP agents that answered (printers or not)
    outcome: str  # done, limited, cancelled
    seconds: float


def parse_networks(text: str) -> list[str]:
    """Networks from a form field (spaces or commas between them), checked and bounded."""
    specs = [s for s in re.split(r"[\s,]+", text.strip()) if s]
    if not specs:
        raise ValueError("give at least one address or range (10.0.0.0/24)")
    total = 0
    for spec in specs:
        try:
            net = ipaddress.IPv4Network(spec, strict=False)
        except ValueError:
            raise ValueError(f"{spec!r} is not an IPv4 address or range (10.0.0.0/24)") from None
        total += net.num_addresses
    if total > MAX_ADDRESSES:
        raise ValueError(f"{total:,} addresses: a sweep from the dashboard covers {MAX_ADDRESSES:,} at most")
    return specs


@dataclass(frozen=True)
class SweepScope:
    """Where a sweep from the dashboard may go (see the module's docstring)."""

    configured: tuple[ipaddress.IPv4Network, ...] = ()
    widened: tuple[ipaddress.IPv4Network, ...] = ()
    ports: tuple[int, ...] = (161,)

    @classmethod
    def of(cls, config: Config) -> SweepScope:
        nets = [n.cidr for n in config.networks]
        ports = {161, *config.web.sweep_ports}
        for host, port in config.devices:
            try:
                nets.append(ipaddress.IPv4Network(host))
            except ValueError:  # a name: not a network to sweep
                continue
            ports.add(port)
        return cls(tuple(nets), tuple(config.web.sweep_networks), tuple(sorted(ports)))

    def communities_for(self, networks: list[str], configured: list[str]) -> list[str]:
        """The site's communities inside its configured networks; ``public`` alone elsewhere.

        Error handling: ``ValueError`` naming a network outside the scope."""
        inside = True
        for spec in networks:
            net = ipaddress.IPv4Network(spec, strict=False)
            if any(net.subnet_of(n) for n in self.configured):
                continue
            if not any(net.subnet_of(n) for n in self.widened):
                allowed = ", ".join(str(n) for n in (*self.configured, *self.widened)) or "none configured"
                raise ValueError(
                    f"{spec} is outside the networks this appliance may sweep ({allowed}); an admin "
                    "adds it to [[networks]] or [web] sweep_networks in the configuration"
                )
            inside = False
        return configured if inside else ["public"]


class Sweeper:
    """One sweep at a time, for the dashboard (see the module's docstring)."""

    def __init__(self, store: Store, snmp: SnmpConfig, scope: SweepScope | None = None) -> None:
        self.store = store
        self.snmp = snmp
        self.scope = scope or SweepScope()
        self._lock = trio.Lock()

    async def sweep(self, networks: list[str], port: int) -> SweepResult:
        if not 0 < port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {port}")
        if port not in self.scope.ports:
            raise ValueError(
                f"port {port} is not one this appliance polls ({', '.join(map(str, self.scope.ports))}); "
                "an admin adds it to [web] sweep_ports in the configuration"
            )
        communities = self.scope.communities_for(networks, list(self.snmp.communities) or ["public"])
        if self._lock.locked():
            raise ValueError("a sweep is running already: try again when it is done")
        async with self._lock:
            started = trio.current_time()
            options = Options(
                communities=communities,
                port=port,
                timeout_s=self.snmp.timeout_s,
                limit_s=LIMIT_S,
                exclude=store_exclusions(self.store),
            )
            found = await discover_async(networks, options)
            printers = found.printers
            limiter = self.store.write_limiter
            when = naive_utcnow()
            results = await trio.to_thread.run_sync(record, printers, self.store, when, limiter=limiter)
            return SweepResult(
                networks=networks,
                addresses=found.progress.addresses,
                printers=list(zip(printers, results, strict=True)),
                agents=len(found.agents),
                outcome=found.outcome,
                seconds=trio.current_time() - started,
            )
