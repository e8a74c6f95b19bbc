"""The device numbers a front end keeps per site (``collector/ingest.py``'s ``_registered``): a
site never reads or writes another's, a registration taken by another front end (or rolled back)
is seen at the next message, on both stores (the other front end: PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from printwatch.collector import ingest
from printwatch.collector.enrolment import add_site, enrol
from printwatch.collector.ingest import Rejected, receive
from printwatch.collector.store import CollectorStore
from printwatch.uplink.codec import encode_payload
from printwatch.uplink.signing import Identity, seal

NOW = dt.datetime(2026, 11, 3, 9, 0)
AT = int(dt.datetime(2026, 11, 3, 6, tzinfo=dt.UTC).timestamp())


class Site:
    """An enrolled site's appliance: its key and its next sequence number."""

    def __init__(self, store: CollectorStore, site_id: str) -> None:
        self.site_id, self.me, self.seq = site_id, Identity.generate(), 0
        enrol(store, site_id, add_site(store, site_id, now=NOW), self.me.public_raw, now=NOW)

    def envelope(self, kind: str, data: dict[str, Any], *, site: str | None = None) -> bytes:
        self.seq += 1
        message = {"site": site or self.site_id, "seq": self.seq, "kind": kind, "at": AT, "data": data}
        return seal(self.me, encode_payload(message))

    def send(self, store: CollectorStore, kind: str, data: dict[str, Any]) -> None:
        receive(store, self.envelope(kind, data), now=NOW)

    def refused(self, store: CollectorStore, kind: str, data: dict[str, Any], **site: str) -> Rejected:
        with pytest.raises(Rejected) as caught:
            receive(store, self.envelope(kind, data, **site), now=NOW)
        self.seq -= 1  # not stored: the number is the next one still
        return caught.value


def register(*wires: int, layout: list[list[Any]] | None = None) -> dict[str, Any]:
    return {
        "devices": [{"n": w, "serial": f"S{w}", "supplies": layout or [[1, "toner", "black"]]} for w in wires]
    }


def aggregate(wires: list[int], total: int, percent: int = 50) -> dict[str, Any]:
    return {"n": wires, "polls": 1, "m": {"total": [total] * len(wires)}, "s": [[percent]] * len(wires)}


def reads(store: CollectorStore, site: str) -> list[tuple[int, int]]:
    rows = store.con.execute(
        "SELECT n, value FROM meter_reads WHERE site_id = ? ORDER BY n, value", [site]
    ).fetchall()
    return [(int(n), int(v)) for n, v in rows]


def last_seq(store: CollectorStore, site: str) -> int:
    return int(store.con.execute("SELECT last_seq FROM sites WHERE site_id = ?", [site]).fetchall()[0][0])


def test_a_site_never_reads_or_writes_another_sites_kept_numbers(collector_store: str | Path) -> None:
    """Site A's numbers kept (its aggregate read them), site B — numbering its devices otherwise
    — sends messages naming A's device numbers, and one with A's site id signed by its own key:
    B's messages land on B's own devices or are refused, A's are untouched."""
    with CollectorStore(collector_store) as store:
        a, b = Site(store, "site-a"), Site(store, "site-b")
        a.send(store, "register", register(1, 2, 3))  # A: wire 1, 2, 3 -> 1, 2, 3
        b.send(store, "register", register(7, 1))  # B: wire 7 -> 1, wire 1 -> 2
        a.send(store, "aggregate", aggregate([1, 2, 3], 10))
        assert sorted(site for site, _ in ingest._cache(store)) == ["site-a", "site-b"]  # both kept
        # B names A's wire numbers 2 and 3: not B's devices, whatever A's front end keeps.
        assert "device 2 is not registered" in b.refused(store, "aggregate", aggregate([2], 5)).reason
        assert (
            "device 3 is not registered" in b.refused(store, "reorder", {"t": [[3, 1, 4, "low", 2.0]]}).reason
        )
        # B's wire 1 is B's device 2 (A's wire 1 is A's device 1).
        b.send(store, "aggregate", aggregate([1], 5))
        assert reads(store, "site-b") == [(2, 5)]
        # B's key signing a message that names site A: refused before anything is read or kept.
        refused = b.refused(store, "aggregate", aggregate([1, 2, 3], 1000), site="site-a")
        assert refused.status == 403
        a.send(store, "aggregate", aggregate([1, 2, 3], 10))
        assert reads(store, "site-a") == [(1, 10), (1, 20), (2, 10), (2, 20), (3, 10), (3, 20)]
        assert reads(store, "site-b") == [(2, 5)]
        assert (last_seq(store, "site-a"), last_seq(store, "site-b")) == (a.seq, b.seq) == (3, 2)


def test_a_registration_rolled_back_is_not_kept(collector_store: str | Path) -> None:
    """A registration refused after its devices were numbered (its ``bases`` name an unknown
    device): the store keeps the numbers before it, and so does the front end."""
    with CollectorStore(collector_store) as store:
        a = Site(store, "site-a")
        a.send(store, "register", register(1))
        a.send(store, "aggregate", aggregate([1], 1))
        bad = {**register(1, 9), "bases": [[99, {"total": 5}]]}
        assert "bases of device 99" in a.refused(store, "register", bad).reason
        assert "device 9 is not registered" in a.refused(store, "aggregate", aggregate([9], 1)).reason
        a.send(store, "aggregate", aggregate([1], 1))
        assert reads(store, "site-a") == [(1, 1), (1, 2)]


def test_a_registration_through_another_front_end_is_seen_at_the_next_message(postgres_url: str) -> None:
    """Two front ends on one PostgreSQL: the first keeps the site's numbers, the second takes a
    registration (a new device, a new supply layout); the first's next message uses them."""
    with CollectorStore(postgres_url) as one, CollectorStore(postgres_url) as two:
        a = Site(one, "site-a")
        a.send(one, "register", register(1, 2))
        a.send(one, "aggregate", aggregate([1, 2], 1, percent=40))
        tag = one.con.execute("SELECT devices_tag FROM sites").fetchall()[0][0]
        assert [entry[0] for entry in ingest._cache(one).values()] == [tag] and not ingest._cache(two)
        a.send(two, "register", register(1, 2, 3, layout=[[4, "toner", "cyan"]]))
        a.send(one, "aggregate", aggregate([1, 2, 3], 1, percent=30))
        levels = one.con.execute(
            "SELECT n, supply_index, percent FROM supply_levels WHERE seq = ? ORDER BY n", [a.seq]
        ).fetchall()
        assert [tuple(r) for r in levels] == [(1, 4, 30), (2, 4, 30), (3, 4, 30)]
        assert reads(one, "site-a")[-1] == (3, 1)
