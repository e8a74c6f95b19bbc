"""A collector store filled at size the way the console meets it: S sites x P printers and D days
of their history, made by the appliance's own uplink code and received by the collector's own
ingest. Shared by ``bench/console_pages.py`` (the pages' speed at 100 x 100 x 30) and
``tests/collector/test_console_at_size.py`` (their screenshots and contents at size).

For a few template sites an :class:`~printwatch.uplink.service.UplinkService` on an in-memory
outbox observes its printers (``bench/collector_ingest.py``'s synthetic printers) four times a day
for ``days`` days ending at :data:`END` (pages printed, toner used, the real reorder decisions, a
billing read on the 1st, the daily upload, a snapshot every tenth day); every site is one of those
templates with its own id, serials, MACs and Ed25519 key, each message sealed again by the
uplink's signing and passed to :func:`printwatch.collector.ingest.receive`. No row reaches the
store by another path.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import trio
from printwatch.collector.enrolment import add_site, enrol
from printwatch.collector.ingest import receive
from printwatch.collector.store import CollectorStore
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.signing import Identity, seal

from bench.collector_ingest import advance, outbox_messages, site_uplink

#: The history ends here (fixed, never today).
END = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
#: How many distinct sites the uplink makes; the others are copies of them under their own names.
TEMPLATES = 4


def site_id(site: int) -> str:
    return f"site-{site:05d}"


def serial(site: int, n: int) -> str:
    """The serial number of site ``site``'s printer ``n`` (as :func:`as_site` names them)."""
    return f"CN{site:05d}X{n:05d}"


async def template(site: int, printers: int, days: int) -> list[dict[str, Any]]:
    """``days`` days of one site through the appliance's uplink: its outbox's messages, decoded."""
    svc, clock, docs, rng = site_uplink(site, printers, END)
    for day in range(days, 0, -1):
        start = END - dt.timedelta(days=day)
        for part in range(4):
            clock["now"] = start + dt.timedelta(hours=6 * part + 5)
            advance(docs, rng)
            await svc.observe(docs)
            if part == 0 and start.day == 1:
                await svc.billing_cycle(start.date(), docs)
        await svc.upload(clock["now"])
        if day % 10 == 0:
            await svc.snapshot(docs[day % len(docs)])
    return outbox_messages(svc)


def as_site(message: dict[str, Any], site: int, name: str) -> dict[str, Any]:
    """A template's message as site ``site``'s: its id, and its printers' own serials and MACs."""
    out = {**message, "site": name}
    if message["kind"] == "register":
        devices = [
            {**d, "serial": serial(site, d["n"]), "mac": f"02:00:{site >> 8 & 255:02x}:"
             f"{site & 255:02x}:{d['n'] >> 8 & 255:02x}:{d['n'] & 255:02x}"}
            for d in message["data"]["devices"]
        ]  # fmt: skip
        out["data"] = {**message["data"], "devices": devices}
    return out


def fill(
    store: CollectorStore, sites: int, printers: int, days: int, log: Callable[[str], None] = lambda _: None
) -> int:
    """Every site's history received by the collector's ingest; the number of messages."""
    started = time.monotonic()

    async def templates() -> list[list[dict[str, Any]]]:
        return [await template(t, printers, days) for t in range(min(TEMPLATES, sites))]

    made = trio.run(templates)
    log(
        f"  {len(made)} template sites x {days} days made by the uplink in {time.monotonic() - started:.0f} s"
    )
    enrolled = (END - dt.timedelta(days=days + 1)).replace(tzinfo=None)
    count = 0
    for site in range(sites):
        name, me = site_id(site), Identity.generate()
        enrol(store, name, add_site(store, name, now=enrolled), me.public_raw, now=enrolled)
        for message in made[site % len(made)]:
            at = dt.datetime.fromtimestamp(message["at"], dt.UTC).replace(tzinfo=None)
            receive(store, seal(me, encode_payload(as_site(message, site, name))), now=at)
            count += 1
        if site % 10 == 9:
            log(f"  {site + 1} sites received ({count} messages, {time.monotonic() - started:.0f} s)")
    return count
