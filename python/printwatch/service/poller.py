"""The appliance's poll cycles: configured devices in, poll documents out.

:class:`EnginePoller` is the appliance's side of the one poll path
(:class:`printwatch.poller.documents.TwoStepPoller`: two steps, the vendor and the credential
remembered per device): it builds the credentials from the configuration, SNMPv3 users
(``[[snmp.v3]]``, each for its networks) first, then the communities, and resolves the names
of the configured devices on each cycle (Trio's resolver: no blocking). Between steps of
Python work it gives way to the dashboard (:func:`printwatch.service.fairness.give_way`).

The appliance only needs :class:`Poller`; tests use a pure-Python one on Trio's MockClock.

Error handling: a printer that does not answer, or whose name does not resolve, is data (an
``unreachable`` document); ``OSError`` if the engine cannot bind its socket propagates (the
cycle fails and is logged by the scheduler).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import trio

from printwatch.config.model import SnmpConfig
from printwatch.config.v3 import v3_credentials
from printwatch.engine import Engine
from printwatch.mib.interpret import Answer, Documents
from printwatch.poller.documents import (
    Address,
    PollerStats,
    PollKind,
    TwoStepPoller,
    community_targets,
    unreachable,
    v3_targets,
)
from printwatch.service.fairness import give_way

__all__ = ["Device", "EnginePoller", "PollKind", "Poller", "PollerStats", "resolve", "spec_of"]

#: A configured device: (host name or address, port).
Device = tuple[str, int]


class Poller(Protocol):
    async def poll(
        self, devices: Sequence[Device], kind: PollKind, when: dt.datetime
    ) -> list[dict[str, Any]]:
        """Polls every device once; one document per device, in order, stamped ``when``. A
        :class:`printwatch.mib.interpret.Documents` may say which are unchanged (the engine
        poller's does); a plain list means every one is new."""
        ...

    def statistics(self) -> PollerStats: ...


def spec_of(device: Device) -> str:
    return f"{device[0]}:{device[1]}"


@functools.lru_cache(maxsize=65_536)
def _literal(host: str) -> str | None:
    """``host`` as an IPv4 address in its usual form if it is one (kept: parsing every
    configured address at every cycle was a tenth of a status cycle at 10,000 printers)."""
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        return None


async def resolve(host: str) -> str | None:
    """An IPv4 address for ``host`` (itself when it is one), or None when it does not resolve."""
    literal = _literal(host)
    if literal is not None:
        return literal
    try:
        infos = await trio.socket.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError:
        return None
    return str(infos[0][4][0]) if infos else None


class EnginePoller:
    """Polls the configured devices with the Rust engine (see the module's docstring)."""

    def __init__(
        self,
        snmp: SnmpConfig,
        *,
        local_address: str = "0.0.0.0",
        thresholds: Mapping[str, float] | None = None,
    ) -> None:
        communities = snmp.communities or ("public",)
        credentials = [v3_targets(v3) for v3 in v3_credentials(snmp)]
        credentials += [community_targets(c, "auto") for c in communities]
        applies = [p.applies_to for p in snmp.v3] + [lambda _address: True] * len(communities)
        self.engine = Engine(timeout_s=snmp.timeout_s, retries=snmp.retries, max_pps=snmp.max_pps)
        self.two_step = TwoStepPoller(
            self.engine,
            credentials,
            applies=applies,
            local_address=local_address,
            thresholds=thresholds,
            give_way=give_way,
        )
        self.stats = self.two_step.stats

    @property
    def credential_of(self) -> dict[str, int]:
        """The index of the credential that answered, per device (``host:port``)."""
        return self.two_step.credential_of

    def statistics(self) -> PollerStats:
        return self.stats

    async def poll(self, devices: Sequence[Device], kind: PollKind, when: dt.datetime) -> Documents:
        """Polls ``devices``: their documents, in order, with the answer of each
        (:class:`printwatch.mib.interpret.Documents`: what lets the consumers skip an unchanged
        document)."""
        t0 = time.monotonic()
        docs: dict[int, dict[str, Any]] = {}
        answers: dict[int, Answer | None] = {}
        resolved: list[int] = []
        addresses: list[Address] = []
        for i, device in enumerate(devices):
            if i % 200 == 199:
                await give_way()
            ip = await resolve(device[0])
            if ip is None:
                docs[i] = unreachable(spec_of(device), "unresolved", when)
            else:
                resolved.append(i)
                addresses.append((spec_of(device), ip, device[1]))
        polled = await self.two_step.poll(addresses, kind, when)
        docs.update(zip(resolved, polled, strict=True))
        answers.update(zip(resolved, polled.answers, strict=True))
        self.stats.cycles += 1
        self.stats.targets += len(devices)
        self.stats.last_cycle_s = time.monotonic() - t0
        order = range(len(devices))
        return Documents([docs[i] for i in order], [answers.get(i) for i in order])
