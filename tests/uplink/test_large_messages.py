"""A site whose messages are too large for the collector in one piece (a site of 100,000 printers
has a registration of about 15 MB) sends them in parts: the collector ends with exactly what one
message of each would have given it. Two appliances, the same printers and polls, deliver to one
real collector (HTTPS, pinned; DuckDB and PostgreSQL) as two sites: one sends whole messages, the
other's outbox cuts every message over 800 bytes of JSON (uplink/parts.py). What each site holds
at the collector, device by device, is compared."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import trio
from printwatch.collector.enrolment import add_site, new_token
from printwatch.collector.store import CollectorStore
from printwatch.uplink.codec import decode_payload
from printwatch.uplink.outbox import DeviceEntry, Outbox
from printwatch.uplink.parts import size_of
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import HEADER_BYTES, Identity
from printwatch.uplink.transport import Endpoint

from tests.support.collector import SimNow, drained, start_collector
from tests.support.fakes import contract_doc
from tests.support.tls import make_certs

pytestmark = pytest.mark.realtime

DEVICES = [(f"10.9.1.{i}", 161) for i in range(1, 41)]  # .9, .19, .29, .39 never answer
PART_BYTES = 800
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def appliance(
    tmp_path: Path, store: CollectorStore, site: str, now: SimNow, url: str, pin: str, **kw: Any
) -> UplinkService:
    add_site(store, site, now=T0.replace(tzinfo=None), contact="ops@example")
    token = new_token(store, site, now=T0.replace(tzinfo=None), valid_days=30)
    box = Outbox(tmp_path / f"{site}.duckdb", Identity.generate(), site, **kw)
    endpoint = Endpoint(url, pin=pin, timeout_s=5)
    return UplinkService(box, endpoint, now=now, token=token, backoff=Backoff(0.02, 0.2), idle_s=0.05)


def varied(doc: dict[str, Any], i: int, k: int) -> dict[str, Any]:
    """Printer ``i``'s own meters, pages a poll and levels (its ``k``-th poll): a row given to
    the wrong device shows, in values and in deltas."""
    if doc.get("reachable"):
        doc["meters"] = {name: value + 97 * i + 3 * i * k for name, value in doc["meters"].items()}
        for supply in doc["supplies"]:
            if supply.get("percent") is not None:
                supply["level"] = supply["percent"] = float(max(0.0, supply["percent"] - i))
    return doc


def data_of(envelope: bytes) -> dict[str, Any]:
    """A sealed message's data (the envelope's signature is the collector's to check)."""
    data: dict[str, Any] = decode_payload(bytes(envelope)[HEADER_BYTES:])["data"]
    return data


def held(store: CollectorStore, site: str) -> dict[str, Any]:
    """What the collector holds of ``site``, by serial, without times and sequence numbers."""

    def q(sql: str) -> list[tuple[Any, ...]]:
        return sorted(tuple(r) for r in store.con.execute(sql, [site]).fetchall())

    return {
        "devices": q("SELECT serial, vendor, model, name, supplies FROM devices WHERE site_id = ?"),
        "reads": q(
            "SELECT d.serial, r.meter, r.value, r.source, coalesce(r.cycle, '') FROM meter_reads r "
            "JOIN devices d USING (site_id, n) WHERE r.site_id = ?"
        ),
        "latest": q(
            "SELECT d.serial, m.meter, m.value FROM meter_latest m JOIN devices d USING (site_id, n) "
            "WHERE m.site_id = ?"
        ),
        "days": q(
            "SELECT d.serial, x.polls, x.answered, x.status FROM device_days x "
            "JOIN devices d USING (site_id, n) WHERE x.site_id = ?"
        ),
        "levels": q(
            "SELECT d.serial, l.supply_index, l.percent FROM supply_levels l "
            "JOIN devices d USING (site_id, n) WHERE l.site_id = ?"
        ),
    }


async def test_a_site_sending_parts_ends_with_what_whole_messages_give(
    tmp_path: Path, collector_store: str | Path, nursery: trio.Nursery
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(collector_store)
    now = SimNow(T0)
    collector = await start_collector(nursery, store, certs, now=now.naive)
    url = collector.endpoint().url
    whole = appliance(tmp_path, store, "site-whole", now, url, certs.pin)
    cut = appliance(tmp_path, store, "site-cut", now, url, certs.pin, part_bytes=PART_BYTES)
    for k in range(1, 4):  # three parts of the day, the billing read after the first
        now.offset = dt.timedelta(hours=6) * k
        docs = [varied(contract_doc(d, k, now()), i, k) for i, d in enumerate(DEVICES)]
        for svc in (whole, cut):
            await svc.observe(docs)
            await svc.upload(now())
            if k == 1:
                await svc.billing_cycle(now().date(), docs)
    sent = {
        svc: await svc._db(
            lambda s=svc: s.outbox.con.execute(
                "SELECT kind, envelope FROM uplink_outbox ORDER BY seq"
            ).fetchall()
        )
        for svc in (whole, cut)
    }
    for svc in (whole, cut):
        await nursery.start(svc.serve)
    await drained([whole, cut], 60)

    kinds_whole = [k for k, _ in sent[whole]]
    kinds_cut = [k for k, _ in sent[cut]]
    assert sorted(kinds_whole) == ["aggregate"] * 3 + ["billing", "register", "sync"], kinds_whole
    for kind in ("register", "billing", "aggregate"):  # every one of them was cut
        assert kinds_cut.count(kind) >= 2 * kinds_whole.count(kind), kinds_cut
    assert kinds_cut.count("sync") == 1 and sorted(set(kinds_cut)) == sorted(set(kinds_whole))
    for _, envelope in sent[cut]:  # each part within the limit, unless of one device
        data = data_of(envelope)
        assert size_of(data) <= PART_BYTES or len(data.get("devices") or data.get("n") or data.get("r")) == 1
    assert held(store, "site-cut") == held(store, "site-whole")
    counts = held(store, "site-whole")
    assert len(counts["devices"]) == 36 and len(counts["days"]) == 3 * 36
    assert sum(1 for r in counts["reads"] if r[3] == "billing") == 36 * 3
    nursery.cancel_scope.cancel()


def restarted(tmp_path: Path, name: str, part_bytes: int | None) -> list[tuple[str, dict[str, Any]]]:
    """An outbox of 60 registered devices and an aggregate waiting, its stream restarted at 40
    (cutting at ``part_bytes``, or not at all): the messages it then holds, in order."""
    box = Outbox(tmp_path / f"{name}.duckdb", Identity.generate(), "site-a")
    entries = [
        DeviceEntry(n, f"serial:SER{n:05d}", {"serial": f"SER{n:05d}", "vendor": "hp"}, {"total": 100 * n})
        for n in range(1, 61)
    ]
    box.enqueue("register", {"devices": [{"n": e.n, **e.info} for e in entries]}, T0, devices=entries)
    box.enqueue("aggregate", {"day": "2026-11-01", "polls": 1, "n": [1, 2], "m": {"total": [5, 7]}}, T0)
    if part_bytes is not None:
        box.part_bytes = part_bytes
    waiting = box.restart_stream(40, T0)
    rows = box.con.execute("SELECT seq, kind, envelope FROM uplink_outbox ORDER BY seq").fetchall()
    box.close()
    assert waiting == len(rows) and [r[0] for r in rows] == list(range(40, 40 + len(rows)))
    return [(str(r[1]), data_of(r[2])) for r in rows]


def test_a_restarted_stream_registers_every_device_in_parts(tmp_path: Path) -> None:
    """The register a restarted stream begins with names every device and its meter bases (the
    values the collector must rebuild from); cut like any other, each device's bases in the part
    that registers it, the parts together the one register an uncut outbox makes."""
    one = restarted(tmp_path, "whole", None)
    cut = restarted(tmp_path, "cut", PART_BYTES)
    assert [k for k, _ in one] == ["register", "register", "aggregate"]  # then the two waiting
    assert cut[-2:] == one[-2:]
    parts_ = [d for _, d in cut[:-2]]
    assert len(parts_) >= 3 and all(size_of(p) <= PART_BYTES for p in parts_)
    for p in parts_:
        assert {b[0] for b in p["bases"]} <= {d["n"] for d in p["devices"]}
    assert [d for p in parts_ for d in p["devices"]] == one[0][1]["devices"]
    assert [b for p in parts_ for b in p["bases"]] == one[0][1]["bases"]
    assert one[0][1]["bases"]  # there were bases to carry
