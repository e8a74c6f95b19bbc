"""The ``discovery`` job's work: :mod:`printwatch.discovery` over the configured networks.

Each ``[[networks]]`` table is swept less its ``exclude`` ranges (and the history's exclusions),
with the configured credentials (the first SNMPv3 user if there is one, else the communities in
order), at the configured packet rate; the printers found are filed in the history's device
registry (through the sink, which serializes the store's calls) and polled from then on.

Error handling: ``ValueError`` from :class:`printwatch.discovery.Options` for a bad setting (the
run fails and is logged by the scheduler).
"""

from __future__ import annotations

import logging

from printwatch.config.model import Config
from printwatch.config.v3 import v3_credentials
from printwatch.discovery import Options, discover_async
from printwatch.service.poller import Device
from printwatch.service.sinks import Sink

log = logging.getLogger(__name__)


class NetworkDiscoverer:
    """Sweeps ``config.networks`` (SNMP agents on ``port``, 161 on a real site)."""

    def __init__(self, sink: Sink, *, port: int = 161, local_address: str = "0.0.0.0") -> None:
        self.sink = sink
        self.port = port
        self.local_address = local_address

    async def discover(self, config: Config) -> list[Device]:
        networks = [str(n.cidr) for n in config.networks]
        if not networks:
            return []
        exclude = [str(e) for n in config.networks for e in n.exclude] + self.sink.exclusions()
        users = v3_credentials(config.snmp)
        options = Options(
            communities=config.snmp.communities or ("public",),
            port=self.port,
            max_pps=min(config.snmp.max_pps, 1000),
            timeout_s=config.snmp.timeout_s,
            retries=config.snmp.retries,
            exclude=exclude,
            local_address=self.local_address,
            v3=users[0] if users else None,
        )
        found = await discover_async(networks, options)
        printers = found.printers
        await self.sink.record_discovery(printers)
        log.info("discovery of %s: %d printers (%s)", ", ".join(networks), len(printers), found.outcome)
        return [(a.address, a.port) for a in printers]
