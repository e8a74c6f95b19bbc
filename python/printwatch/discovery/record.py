"""Discovery and the device registry (``printwatch.store``): the store's exclusions are never
probed, its manual targets always are, and every printer found becomes a sighting the registry
files under its identity (normalized serial, else MAC, else address; moves, gone devices and
second addresses are the registry's rules, not discovery's).

Error handling: the store's own (:class:`printwatch.store.StoreError`, naming the path, when it
cannot be opened or written).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from printwatch.clock import naive_utcnow
from printwatch.discovery.identify import Agent
from printwatch.store import Sighting, Store, UpsertResult


def store_exclusions(store: Store) -> list[str]:
    """The store's exclusions (IPv4 addresses and ranges) as networks a sweep leaves out."""
    return [str(net) for net, _reason in store.registry.exclusions if net.version == 4]


def store_manual_targets(store: Store) -> list[str]:
    """The registry's manual targets (added by address or DNS name, kept as IPv4 addresses): a
    discovery with the store probes them too, whatever networks it sweeps."""
    out = []
    for address in store.registry.manual:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip.version == 4 and not store.registry.excluded(address):
            out.append(address)
    return out


def sighting(agent: Agent, at: datetime) -> Sighting:
    """One printer found, as the registry takes it."""
    return Sighting(
        address=agent.address,
        time=at,
        serial=agent.serial,
        mac=agent.mac,
        vendor=agent.vendor,
        model=agent.model,
    )


def record(printers: Sequence[Agent], store: Store, at: datetime | None = None) -> list[UpsertResult]:
    """Files every printer in the registry (one write); returns what it made of each."""
    when = at or naive_utcnow()  # the store keeps naive UTC
    return store.upsert([sighting(a, when) for a in printers])


def outcomes(results: Sequence[UpsertResult]) -> str:
    """``3 new, 1 moved`` — the registry's outcomes, counted."""
    counts = Counter(r.outcome for r in results)
    return ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in sorted(counts.items())) or "nothing"
