"""Discovery: sweep subnets fast and gently, find the SNMP agents, tell the printers apart.

>>> from printwatch.discovery import Options, discover
>>> d = discover(["192.0.2.0/24"], Options(communities=["public", "private"]))  # doctest: +SKIP
>>> [(p.address, p.serial) for p in d.printers]  # doctest: +SKIP

The sweep is Rust (ICMP echo: ``rust/src/sweep``; the SNMP probes and identification: the poll
engine); this package decides what to ask and what the answers mean. See :mod:`.run` for the
phases and :mod:`.identify` for what makes an agent a printer.
"""

from __future__ import annotations

from printwatch.discovery.identify import Agent
from printwatch.discovery.run import DEFAULT_MAX_PPS, Discovery, Options, Progress, discover, discover_async
from printwatch.discovery.sweep import IcmpSweep, expand_networks, icmp_kind, icmp_sweep_async

__all__ = [
    "DEFAULT_MAX_PPS",
    "Agent",
    "Discovery",
    "IcmpSweep",
    "Options",
    "Progress",
    "discover",
    "discover_async",
    "expand_networks",
    "icmp_kind",
    "icmp_sweep_async",
]
