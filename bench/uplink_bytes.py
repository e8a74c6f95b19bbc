"""Bytes per printer per day on the uplink, for a site of simulated printers (issue 8).

    python bench/uplink_bytes.py [--printers 1000] [--days 3] [--polls-per-part 1]

A fleet of ``--printers`` simulated printers (the Rust simulator with its dynamics, built from
the recordings) is polled by the appliance's own poller (vendor meters included) on the
simulator's virtual clock; each poll cycle goes to two uplinks: one that uploads 4 aggregates
a day and one that uploads 1; on the first day each also sends a billing read. Both talk to a
real collector over HTTPS (trustme certificates, pinned) in the same process. Printed, per
uplink: the envelope bytes per printer per day (the signed compressed messages: what the
budget counts) for the first day (registrations included) and the following days (steady
state), the HTTP bytes per printer per day up and down as the transmission log kept them
(request and response, headers included, TLS excluded), the billing read per printer per
month, and the ratios against the 200-byte target and the older supplies tool's 1,700 up +
300 down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import trio

try:
    import bench  # noqa: F401
except ImportError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from printwatch.clock import naive_utcnow
from printwatch.collector.enrolment import add_site
from printwatch.collector.server import create_app, serve_collector
from printwatch.collector.store import CollectorStore
from printwatch.config.model import SnmpConfig
from printwatch.service.poller import EnginePoller
from printwatch.sim import Simulator
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint

from tests.support.tls import make_certs

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = Path(
    os.environ.get("PRINTWATCH_RECORDINGS", ROOT.parent / "shared" / "recordings" / "librenms" / "snmprec")
)
TARGET = 200
OLD_UP, OLD_DOWN = 1700, 300
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def day_bytes(box: Outbox) -> dict[dt.date, tuple[int, int, int]]:
    """Per UTC day of the messages' time: (envelope bytes, HTTP up, HTTP down)."""
    rows = box.con.execute(
        "SELECT CAST(time AS DATE), sum(octet_length(request)), sum(octet_length(response)) "
        "FROM uplink_log WHERE seq IS NOT NULL GROUP BY ALL ORDER BY 1"
    ).fetchall()
    http = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    made = dict(box.con.execute("SELECT day, bytes FROM uplink_days").fetchall())
    return {day: (int(made.get(day, 0)), *http.get(day, (0, 0))) for day in sorted(set(made) | set(http))}


async def run(printers: int, days: int, polls_per_part: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="uplink-bench-"))
    certs = make_certs(tmp)
    certfile, keyfile, pin = certs.certfile, certs.keyfile, certs.pin
    store = CollectorStore(tmp / "collector.duckdb")
    sim = Simulator(RECORDINGS, count=printers, base="127.22.0.1", port=0, dynamics=True, seed=8)
    sim.start()
    devices = [(str(sim.printer(i)["address"]), int(sim.port)) for i in range(printers)]
    poller = EnginePoller(SnmpConfig(timeout_s=1.0, retries=1), local_address="127.0.0.1")
    clock = {"now": T0}
    async with trio.open_nursery() as nursery:
        _, port = await nursery.start(
            lambda task_status: serve_collector(
                create_app(store), "127.0.0.1", 0, certfile=certfile, keyfile=keyfile, task_status=task_status
            )
        )
        uplinks: dict[int, UplinkService] = {}
        for per_day in (4, 1):
            uplinks[per_day] = await _start_uplink(
                nursery, store, tmp / f"site-{per_day}.duckdb", port, pin, clock
            )
        answered: list[int] = []
        for day in range(days):
            for part in range(4):
                docs = await _poll_part(
                    sim, poller, devices, uplinks, clock, day, part, polls_per_part, answered
                )
                await _send_part(uplinks, clock["now"], docs, day, part)
        nursery.cancel_scope.cancel()
    sim.stop()
    out: dict[str, Any] = {"printers": printers, "days": days, "answering": statistics.median(answered)}
    for per_day, svc in uplinks.items():
        out[f"{per_day}/day"] = _site_result(svc.outbox, printers)
        svc.outbox.close()
    store.close()
    return out


async def _start_uplink(
    nursery: trio.Nursery,
    store: CollectorStore,
    path: Path,
    port: int,
    pin: str,
    clock: dict[str, dt.datetime],
) -> UplinkService:
    """A site added to the collector and its uplink serving (the site is named as its outbox)."""
    site = path.stem
    token = add_site(store, site, now=naive_utcnow())
    box = Outbox(path, Identity.generate(), site)
    svc = UplinkService(
        box, Endpoint(f"https://127.0.0.1:{port}", pin=pin), now=lambda: clock["now"], token=token,
        budget_bytes_per_day=1 << 30, idle_s=0.05,
    )  # fmt: skip
    await nursery.start(svc.serve)
    return svc


async def _poll_part(
    sim: Simulator,
    poller: EnginePoller,
    devices: list[tuple[str, int]],
    uplinks: dict[int, UplinkService],
    clock: dict[str, dt.datetime],
    day: int,
    part: int,
    polls_per_part: int,
    answered: list[int],
) -> list[dict[str, Any]]:
    """The polls of one quarter of a day, each observed by every uplink; the last one's documents."""
    docs: list[dict[str, Any]] = []
    for k in range(polls_per_part):
        sim.advance(6 * 3600 / polls_per_part)
        hours = 6 * part + 6 * (k + 1) / polls_per_part
        clock["now"] = T0 + dt.timedelta(days=day, hours=hours, minutes=-1)  # inside the day
        docs = await poller.poll(devices, "meters", clock["now"])
        answered.append(sum(1 for d in docs if d.get("reachable")))
        for svc in uplinks.values():
            await svc.observe(docs)
    return docs


async def _send_part(
    uplinks: dict[int, UplinkService], now: dt.datetime, docs: list[dict[str, Any]], day: int, part: int
) -> None:
    """The uploads due after a quarter of a day (4/day: each; 1/day: the last), the first
    billing cycle, and every outbox drained."""
    for per_day, svc in uplinks.items():
        if per_day == 4 or part == 3:
            await svc.upload(now)
    if day == 0 and part == 0:
        for svc in uplinks.values():
            await svc.billing_cycle(now, docs)
    for svc in uplinks.values():
        with trio.fail_after(120):
            while (await svc.outbox_counts())[0]:
                svc.wake()
                await trio.sleep(0.05)


def _site_result(box: Outbox, printers: int) -> dict[str, Any]:
    """Bytes per printer of one site: the first day, the median of the steady days, billing."""
    per = day_bytes(box)
    billing = box.con.execute(
        "SELECT sum(octet_length(request)) FROM uplink_log WHERE kind = 'billing'"
    ).fetchone()
    steady = [v for d, v in per.items() if d != T0.date()]
    first = per.get(T0.date(), (0, 0, 0))
    return {
        "first_day": [round(x / printers, 1) for x in first],
        "steady": [round(statistics.median(v[i] for v in steady) / printers, 1) for i in range(3)]
        if steady
        else None,
        "billing_http_per_printer": round(int(billing[0] or 0) / printers, 1) if billing else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--printers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--polls-per-part", type=int, default=1)
    args = parser.parse_args()
    result = trio.run(run, args.printers, args.days, args.polls_per_part)
    print(f"uplink bytes per printer per day, {result['printers']} simulated printers "
          f"({result['answering']:.0f} answering), {result['days']} days:")  # fmt: skip
    for key in ("4/day", "1/day"):
        r = result[key]
        print(f"  {key} aggregates:")
        env, up, down = r["first_day"]
        print(
            f"    first day (registrations, billing read): envelopes {env} B, HTTP up {up} B, down {down} B"
        )
        if r["steady"]:
            env, up, down = r["steady"]
            old = OLD_UP + OLD_DOWN
            print(
                f"    following days (median): envelopes {env} B ({env / TARGET:.2f}x the {TARGET} B "
                f"target), HTTP up {up} B + down {down} B = {up + down:.1f} B (the older tool: "
                f"{OLD_UP} + {OLD_DOWN}: {old / max(up + down, 1e-9):.1f}x as much)"
            )
        b = r["billing_http_per_printer"]
        print(
            f"    a billing read: {b} B per printer (HTTP up), {b / 30:.1f} B per printer per day if monthly"
        )


if __name__ == "__main__":
    main()
