"""Named counters (printwatch.mib.counters): every counter a printer names, with its own name."""

from __future__ import annotations

import re

import pytest
from printwatch.mib import interpret_varbinds, oids
from printwatch.mib.counters import read_counters
from printwatch.mib.vendors import parse_map
from printwatch.poller.plans import base_plan, full_plan, vendor_plan, vendor_walks

from tests.support.mibdata import MARKERS, i, s

VALUES = "1.3.6.1.4.1.2385.1.1.19.2.1.3"
NAMES = "1.3.6.1.4.1.2385.1.1.19.2.1.4"
PWG_KEYS = oids.PWG_KEY_SERVICE_TYPE
PWG_IMPS = oids.PWG_COUNTER_TABLES["icImpression"][0]
PWG_SHEETS = oids.PWG_COUNTER_TABLES["icSheet"][0]


ENTRY = "1.3.6.1.4.1.2385.1.1.19.2.1"  # Sharp's table is walked once, by its entry


def sharp_walks(rows: dict[str, tuple[str | None, int]]) -> dict[str, list]:  # type: ignore[type-arg]
    return {
        ENTRY: [
            *(i(f"{VALUES}.{ix}", value, "Counter32") for ix, (_, value) in rows.items()),
            *(s(f"{NAMES}.{ix}", name) for ix, (name, _) in rows.items() if name is not None),
        ]
    }


def test_sharps_table_is_read_whole_with_the_devices_names() -> None:
    warnings: list[str] = []
    walks = sharp_walks({"1.4.60": ("Prints", 82214), "8.4.51": ("Black & White Scan to HDD Count", 6)})
    counters = read_counters("sharp", {}, walks, [], warnings)
    assert counters == [
        {"name": "Prints", "oid": f"{VALUES}.1.4.60", "value": 82214, "source": "sharp.counter_table"},
        {
            "name": "Black & White Scan to HDD Count",
            "oid": f"{VALUES}.8.4.51",
            "value": 6,
            "source": "sharp.counter_table",
        },
    ]
    assert warnings == []


def test_the_same_oid_is_another_counter_on_another_model() -> None:
    """The name column, not the OID, says what a row counts: the counter keeps the device's name,
    and a fixed map's reading of the same OID does not rename it."""
    walks = sharp_walks({"5.4.61": ("Black & White Total Count (A3)", 1234)})
    gets = {f"{VALUES}.5.4.61": i(f"{VALUES}.5.4.61", 1234, "Counter32")}  # the map's 'black' OID
    counters = read_counters("sharp", gets, walks, [], [])
    assert [(c["name"], c["source"]) for c in counters] == [
        ("Black & White Total Count (A3)", "sharp.counter_table")
    ]


def test_unnamed_rows_and_garbage_values() -> None:
    warnings: list[str] = []
    walks = sharp_walks({"1.4.60": (None, 5), "1.4.61": ("Broken", 0), "1.4.63": ("Text", 0)})
    walks[ENTRY][1] = i(f"{VALUES}.1.4.61", -1)  # an agent's "not supported"
    walks[ENTRY][2] = s(f"{VALUES}.1.4.63", "n/a")
    counters = read_counters("sharp", {}, walks, [], warnings)
    assert counters == [
        {"name": "row 1.4.60", "oid": f"{VALUES}.1.4.60", "value": 5, "source": "sharp.counter_table"}
    ]
    assert any("names no counter at index 1.4.60" in w for w in warnings)
    assert any(f"{VALUES}.1.4.61: sharp.counter_table is not a page count" in w for w in warnings)
    assert any(f"{VALUES}.1.4.63: sharp.counter_table is not a page count" in w for w in warnings)


def test_pwg_counter_tables_lifetime_rows_by_service() -> None:
    warnings: list[str] = []
    walks = {
        PWG_KEYS: [i(f"{PWG_KEYS}.1", 3), i(f"{PWG_KEYS}.2", 4)],  # key 1 systemTotals, key 2 copy
        PWG_IMPS: [
            i(f"{PWG_IMPS}.1.4.1.3.3", 900),  # TotalImps, key 1, workTotals, lifetime
            i(f"{PWG_IMPS}.1.4.1.3.4", 12),  # powerOn: goes back to 0, left out
            i(f"{PWG_IMPS}.1.7.2.3.3", 40),  # FullColorImps, key 2 (copy)
            i(f"{PWG_IMPS}.1.4.1.6.3", -5),  # waste, not a count
        ],
        PWG_SHEETS: [i(f"{PWG_SHEETS}.1.4.1.3.3", 600)],
    }
    counters = read_counters(None, {}, walks, [], warnings)
    assert [(c["name"], c["value"], c["unit"]) for c in counters] == [
        ("icImpressionTotalImps.1 systemTotals workTotals", 900, "impressions"),
        ("icImpressionFullColorImps.2 copy workTotals", 40, "impressions"),
        ("icSheetTotalSheets.1 systemTotals workTotals", 600, "sheets"),
    ]
    assert {c["source"] for c in counters} == {"pwg"}
    assert counters[0]["oid"] == f"{PWG_IMPS}.1.4.1.3.3"
    assert any(f"{PWG_IMPS}.1.4.1.6.3: PWG icImpressionTotalImps is not a page count" in w for w in warnings)


def test_life_counts_of_every_page_counting_marker() -> None:
    markers = [
        i(f"{MARKERS}.3.1.1", 7),
        i(f"{MARKERS}.3.1.2", 4),  # micrometers: not pages
        i(f"{MARKERS}.4.1.1", 33810, "Counter32"),
        i(f"{MARKERS}.4.1.2", 99999, "Counter32"),
    ]
    counters = read_counters("konica_minolta", {}, {}, markers, [])
    assert counters == [
        {
            "name": "prtMarkerLifeCount.1.1",
            "oid": f"{MARKERS}.4.1.1",
            "value": 33810,
            "source": "prtMarkerLifeCount",
            "unit": "impressions",
        }
    ]


def test_vendor_map_counters_keep_their_mib_names() -> None:
    hp = "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2"
    gets = {f"{hp}.5.0": i(f"{hp}.5.0", 15232, "Counter32"), f"{hp}.6.0": i(f"{hp}.6.0", -1)}
    counters = read_counters("hp", gets, {}, [], [])
    assert counters == [
        {
            "name": "HP-LASERJET-COMMON-MIB::total-engine-page-count",
            "oid": f"{hp}.5.0",
            "value": 15232,
            "source": "hp.total",
        }
    ]
    # Brother packs three counters in one OID: each is its own counter.
    brother = "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.10.0"
    data = bytes.fromhex("00010400000009010104000000070201040000000200")
    counters = read_counters("brother", {brother: s(brother, data)}, {}, [], [])
    assert [(c["oid"], c["value"]) for c in counters] == [(brother, 9), (brother, 7), (brother, 2)]
    assert len({c["name"] for c in counters}) == 3


def test_plans_walk_the_counter_tables() -> None:
    assert vendor_walks("sharp") == [ENTRY]
    assert vendor_plan("sharp").walks == [ENTRY]
    assert set(full_plan("sharp").walks) == {*base_plan().walks, ENTRY}
    # A meter in a walked table is read from the walk, not asked again by a GET.
    assert not any(oid.startswith(VALUES) for oid in vendor_plan("sharp").gets)
    assert "1.3.6.1.4.1.367.3.2.1.2.19.1.0" in vendor_plan("ricoh").gets  # a scalar: still a GET
    # The PWG tables go with the PWG counters: only where the vendor's map lacks a meter.
    assert PWG_IMPS in vendor_walks("ricoh") and PWG_IMPS in vendor_walks(None)
    assert vendor_walks("hp") == []
    assert vendor_walks("konica_minolta") == [KM]
    assert vendor_walks("lexmark")[:2] == [f"{LEXMARK}.4", f"{LEXMARK}.2"]


KM = "1.3.6.1.4.1.18334.1.1.1.5.7.2"
LEXMARK = "1.3.6.1.4.1.641.6.4.2.1.1"
RICOH = "1.3.6.1.4.1.367.3.2.1.2.19.5.1"


def test_a_table_without_names_is_named_by_its_source_and_kept_whole() -> None:
    """Konica Minolta's rows carry no names: the labels of its data file name them (LibreNMS's
    names), a row nobody named is kept as kmSysCounter.<index>, and text cells of the subtree
    walked whole are not counts (left out without a warning)."""
    warnings: list[str] = []
    walks = {
        KM: [
            i(f"{KM}.1.1.0", 33803),
            i(f"{KM}.2.1.5.1.2", 22876),
            i(f"{KM}.2.1.5.9.9", 17),
            s(f"{KM}.4.1.2.1", "Department A"),
        ]
    }
    counters = read_counters("konica_minolta", {}, walks, [], warnings)
    assert [(c["name"], c["oid"], c["value"]) for c in counters] == [
        ("Total", f"{KM}.1.1.0", 33803),
        ("Total print black", f"{KM}.2.1.5.1.2", 22876),
        ("kmSysCounter.2.1.5.9.9", f"{KM}.2.1.5.9.9", 17),
    ]
    assert {c["source"] for c in counters} == {"konica_minolta.counter_table"}
    assert warnings == []


def test_lexmark_rows_are_named_by_their_type_whatever_their_index() -> None:
    """Model differences as data: the index of a count differs between models, its type code
    (paperGeneralCountType) says what it counts."""

    def walks(rows: dict[str, tuple[int, int]]) -> dict[str, list]:  # type: ignore[type-arg]
        return {
            f"{LEXMARK}.4": [i(f"{LEXMARK}.4.{ix}", v, "Counter32") for ix, (_, v) in rows.items()],
            f"{LEXMARK}.2": [i(f"{LEXMARK}.2.{ix}", t) for ix, (t, _) in rows.items()],
        }

    one = read_counters("lexmark", {}, walks({"1.5": (17, 1200), "1.6": (18, 300)}), [], [])
    other = read_counters("lexmark", {}, walks({"1.2": (17, 50), "1.9": (99, 4)}), [], [])
    assert [(c["name"], c["value"]) for c in one] == [("printMono", 1200), ("printColor", 300)]
    assert [(c["name"], c["value"]) for c in other] == [("printMono", 50), ("paperGeneralCountValue.1.9", 4)]


def test_ricoh_rows_are_named_by_the_device() -> None:
    walks = {
        f"{RICOH}.9": [i(f"{RICOH}.9.1", 5000), i(f"{RICOH}.9.62", 120)],
        f"{RICOH}.6": [s(f"{RICOH}.6.1", "Total"), s(f"{RICOH}.6.62", "Copier: Full Color")],
    }
    counters = read_counters("ricoh", {}, walks, [], [])
    assert [(c["name"], c["oid"]) for c in counters[:2]] == [
        ("Total", f"{RICOH}.9.1"),
        ("Copier: Full Color", f"{RICOH}.9.62"),
    ]


def test_the_poll_document_lists_the_counters() -> None:
    gets = {
        oids.SYS_DESCR: s(oids.SYS_DESCR, "SHARP MX-3570N"),
        oids.SYS_OBJECT_ID: s(oids.SYS_OBJECT_ID, "x"),
    }
    walks = sharp_walks({"5.4.61": ("Black & White Total Count", 91164)})
    doc = interpret_varbinds("t", gets, walks, time="2026-01-01T00:00:00Z")
    assert doc["vendor"] == "sharp"
    assert doc["counters"] == [
        {
            "name": "Black & White Total Count",
            "oid": f"{VALUES}.5.4.61",
            "value": 91164,
            "source": "sharp.counter_table",
        }
    ]


HEAD = 'vendor = "x"\ntitle = "x"\n[[counter_table]]\nmib = "m"\nsource = "s"\nvalues = "1.3.6.1.4.1.9.1"\n'


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ("", "counter_table[0]: 'prefix' (the name of rows nobody names) is needed without 'names'"),
        ('names = "1.3.6.1.4.1.9.1"', "'values', 'names' and 'types' must be different columns"),
        ('names = "1.3.6.1.4.1.9.2"\ntypes = "1.3.6.1.4.1.9.3"\ntype_names = { "1" = "a" }', "not both"),
        ('types = "1.3.6.1.4.1.9.3"\nprefix = "p"', "'types' and 'type_names' go together"),
        ('prefix = "p"\nlabels = { "a.b" = "x" }', "'labels' must map numeric indexes to non-empty names"),
        ('prefix = "p"\nlabels = { "1.1" = "" }', "'labels' must map numeric indexes to non-empty names"),
        (
            'names = "1.3.6.1.4.1.9.2"\nentry = "1.3.6.1.4.1.8"',
            "'entry' '1.3.6.1.4.1.8' must hold every column",
        ),
    ],
)
def test_bad_counter_tables_name_the_file_the_table_and_the_key(extra: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)) as info:
        parse_map(HEAD + extra, "meters/x.toml")
    assert str(info.value).startswith("meters/x.toml: counter_table[0]")
