"""Vendor meter maps (data files) and the meter rules (printwatch.mib.meters)."""

from __future__ import annotations

import re

import pytest
from printwatch.mib import METER_NAMES, load_maps
from printwatch.mib.meters import brother_counter, read_meters
from printwatch.mib.vendors import parse_map
from printwatch.poller.plans import full_plan, vendor_oids, vendor_plan

from tests.support.mibdata import MARKERS, i, s

REQUIRED = [
    "xerox",
    "hp",
    "ricoh",
    "kyocera",
    "canon",
    "brother",
    "lexmark",
    "konica_minolta",
    "sharp",
    "samsung",
    "epson",
    "oki",
    "toshiba",
]


def test_every_required_vendor_has_a_meter_map_with_sources() -> None:
    maps = load_maps()
    for vendor in REQUIRED:
        vmap = maps[vendor]
        assert vmap.meters, vendor
        assert vmap.enterprises, vendor
        for rule in vmap.meters:
            assert rule.name in METER_NAMES
            assert rule.source and rule.mib
            assert rule.oid.startswith(f"1.3.6.1.4.1.{vmap.enterprises[0]}.") or any(
                rule.oid.startswith(f"1.3.6.1.4.1.{e}.") for e in vmap.enterprises
            ), (vendor, rule.oid)
        names = {r.name for r in vmap.meters}
        # total, or the parts a total is summed from
        assert "total" in names or {"black", "color"} <= names, vendor
    assert {r.name for r in maps["pwg"].meters} == {"total", "black", "color"}


def test_vendor_plans_stay_small() -> None:
    for vendor in [*REQUIRED, None, "dell"]:
        oids = vendor_oids(vendor)
        assert len(oids) == len(set(oids)) <= 20, vendor
        assert vendor_plan(vendor).gets == oids
        assert set(oids) <= set(full_plan(vendor).gets)
    assert not any(o.startswith("1.3.6.1.4.1.253.") for o in vendor_oids("hp"))
    # The PWG fallback is asked only where the vendor's map lacks total, black or colour.
    pwg = "1.3.6.1.4.1.2699."
    assert not any(o.startswith(pwg) for o in vendor_oids("hp"))
    assert not any(o.startswith(pwg) for o in vendor_oids("konica_minolta"))  # sums of parts
    assert all(any(o.startswith(pwg) for o in vendor_oids(v)) for v in ("dell", "ricoh", "canon", None))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('title = "x"', "'vendor' must be a non-empty string"),
        ('vendor = "x"\ntitle = "x"\nenterprises = ["a"]', "'enterprises' must be a list"),
        ('vendor = "x"\ntitle = "x"\n[[meter]]\nname = "pages"\noid = "1.3.6.1.4.1.1.0"', "'name' 'pages'"),
        (
            'vendor = "x"\ntitle = "x"\n[[meter]]\nname = "total"\noid = "1.3.x"\nmib = "m"\nsource = "s"',
            "meter[0]: 'oid' '1.3.x' is not a numeric OID",
        ),
        (
            'vendor = "x"\ntitle = "x"\n[[meter]]\nname = "total"\noid = "1.3.6.1.4.1.1.0"\nmib = "m"',
            "'source'",
        ),
        ('vendor = "x"\ntitle = = "x"', "meters/x.toml: "),
    ],
)
def test_bad_data_files_name_the_file_and_key(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)) as info:
        parse_map(text, "meters/x.toml")
    assert str(info.value).startswith("meters/x.toml")


def gets_of(*vbs):  # type: ignore[no-untyped-def]
    return {vb.oid: vb for vb in vbs}


def test_vendor_map_with_evidence() -> None:
    warnings: list[str] = []
    gets = gets_of(
        i("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0", 15232, "Counter32"),
        i("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.6.0", 15000),
        i("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.7.0", 232),
    )
    meters, evidence = read_meters("hp", gets, [], warnings)
    assert meters == {"total": 15232, "black": 15000, "color": 232}
    assert evidence["total"] == {
        "oid": "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0",
        "raw": 15232,
        "rule": "hp.total",
    }
    assert warnings == []


def test_garbage_counts_are_left_out_with_warnings() -> None:
    warnings: list[str] = []
    gets = gets_of(
        i("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0", -1),
        s("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.6.0", "n/a"),
        s("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.7.0", "1234"),  # a number as text is a number
        i("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.22.0", -2147483000),
        s("1.3.6.1.4.1.11.2.3.9.4.2.1.2.2.1.74.0", b""),
    )
    meters, _ = read_meters("hp", gets, [], warnings)
    assert meters == {"color": 1234}
    assert any("hp.total is -1, not a page count" in w for w in warnings)
    assert any("hp.black is not a number" in w for w in warnings)
    assert any("hp.duplex is -2147483000" in w for w in warnings)


def test_the_devices_lifetime_count_beats_a_sum_of_parts() -> None:
    """konica_c250i: the function counters sum to 33,803; the device's own lifetime counter
    (prtMarkerLifeCount) says 33,810. The bill follows the device; the sum is kept as evidence."""
    warnings: list[str] = []
    km = "1.3.6.1.4.1.18334.1.1.1.5.7.2.2.1.5"
    gets = gets_of(i(f"{km}.1.1", 3672), i(f"{km}.1.2", 22876), i(f"{km}.2.1", 544), i(f"{km}.2.2", 6711))
    marker = [i(f"{MARKERS}.4.1.1", 33810, "Counter32")]  # no prtMarkerCounterUnit, as recorded
    meters, evidence = read_meters("konica_minolta", gets, marker, warnings)
    assert meters["copy"] == 4216 and meters["print"] == 29587
    assert meters["black"] == 26548 and meters["color"] == 7255
    assert meters["total"] == 33810
    assert evidence["total"] == {
        "oid": f"{MARKERS}.4.1.1",
        "raw": 33810,
        "rule": "prtMarkerLifeCount",
        "unit": None,
        "sum": {"rule": "sum(black,color)", "value": 33803},
    }
    assert [w for w in warnings if w.startswith("total:")] == [
        "total: the device counts 33810 (prtMarkerLifeCount), sum(black,color) is 33803; "
        "the device's count is kept"
    ]
    # When they agree there is nothing to warn about, and the device's count is still the rule.
    warnings.clear()
    marker = [i(f"{MARKERS}.3.1.1", 7), i(f"{MARKERS}.4.1.1", 33803, "Counter32")]
    meters, evidence = read_meters("konica_minolta", gets, marker, warnings)
    assert meters["total"] == 33803 and evidence["total"]["rule"] == "prtMarkerLifeCount"
    assert "sum" not in evidence["total"] and not any(w.startswith("total:") for w in warnings)
    # Without a lifetime count the sum of the parts is the total.
    meters, evidence = read_meters("konica_minolta", gets, [], warnings)
    assert meters["total"] == 33803 and evidence["total"]["rule"] == "sum(black,color)"
    # Without parts, the total is prtMarkerLifeCount.
    meters, evidence = read_meters("konica_minolta", {}, marker, warnings)
    assert meters == {"total": 33803}
    assert evidence["total"] == {
        "oid": f"{MARKERS}.4.1.1",
        "raw": 33803,
        "rule": "prtMarkerLifeCount",
        "unit": "impressions",
    }


def test_a_vendor_total_beats_the_life_count_and_a_sum() -> None:
    warnings: list[str] = []
    hp = "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2"
    gets = gets_of(i(f"{hp}.5.0", 1000), i(f"{hp}.6.0", 700), i(f"{hp}.7.0", 290))
    marker = [i(f"{MARKERS}.3.1.1", 7), i(f"{MARKERS}.4.1.1", 999, "Counter32")]
    meters, evidence = read_meters("hp", gets, marker, warnings)
    assert meters["total"] == 1000 and evidence["total"]["rule"] == "hp.total"
    assert evidence["total"]["sum"] == {"rule": "sum(black,color)", "value": 990}
    assert any(
        w.startswith("total: the device counts 1000 (hp.total), sum(black,color) is 990") for w in warnings
    )


def test_a_life_count_in_sheets_does_not_replace_a_sum_of_impressions() -> None:
    """A duplex sheet is two impressions: a sheet count is a total only when nothing else is."""
    warnings: list[str] = []
    km = "1.3.6.1.4.1.18334.1.1.1.5.7.2.2.1.5"
    gets = gets_of(i(f"{km}.1.1", 10), i(f"{km}.1.2", 20), i(f"{km}.2.1", 30), i(f"{km}.2.2", 40))
    sheets = [i(f"{MARKERS}.3.1.1", 8), i(f"{MARKERS}.4.1.1", 70, "Counter32")]
    meters, evidence = read_meters("konica_minolta", gets, sheets, warnings)
    assert meters["total"] == 100 and evidence["total"]["rule"] == "sum(black,color)"
    meters, evidence = read_meters("konica_minolta", {}, sheets, warnings)
    assert meters == {"total": 70} and evidence["total"]["unit"] == "sheets"


def test_life_counts_of_several_markers_are_summed_only_by_the_vendors_rule() -> None:
    markers = [
        i(f"{MARKERS}.3.1.1", 7),
        i(f"{MARKERS}.3.1.2", 7),
        i(f"{MARKERS}.4.1.1", 500, "Counter32"),
        i(f"{MARKERS}.4.1.2", 300, "Counter32"),
    ]
    warnings: list[str] = []
    meters, evidence = read_meters("samsung", {}, markers, warnings)
    assert meters["total"] == 500 and evidence["total"]["oid"] == f"{MARKERS}.4.1.1"
    assert (
        f"prtMarkerLifeCount: the first marker's count is the total; not added: {MARKERS}.4.1.2 = 300"
        in warnings
    )
    text = 'vendor = "twoengines"\ntitle = "x"\nlife_count = "sum"'
    assert parse_map(text, "meters/x.toml").life_count == "sum"
    with pytest.raises(ValueError, match="'life_count' 'all' must be 'first' or 'sum'"):
        parse_map('vendor = "x"\ntitle = "x"\nlife_count = "all"', "meters/x.toml")
    summed = load_maps()["samsung"].__class__(**{**load_maps()["samsung"].__dict__, "life_count": "sum"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(load_maps(), "samsung", summed)
        meters, evidence = read_meters("samsung", {}, markers, [])
    assert meters["total"] == 800 and evidence["total"]["oid"] == f"{MARKERS}.4.1.1+{MARKERS}.4.1.2"


def test_life_count_in_length_units_is_not_pages() -> None:
    warnings: list[str] = []
    marker = [i(f"{MARKERS}.3.1.1", 4), i(f"{MARKERS}.4.1.1", 123456, "Counter32")]
    assert read_meters("zebra", {}, marker, warnings)[0] == {}
    assert any("counts micrometers, not pages" in w for w in warnings)


def test_pwg_counters_only_with_their_guard() -> None:
    warnings: list[str] = []
    pwg = "1.3.6.1.4.1.2699.1.3.1.8.1.1"
    counts = [i(f"{pwg}.4.1.3.3", 900), i(f"{pwg}.5.1.3.3", 700), i(f"{pwg}.7.1.3.3", 200)]
    meters, evidence = read_meters(None, gets_of(*counts), [], warnings)
    assert meters == {}
    guard = i("1.3.6.1.4.1.2699.1.3.1.2.1.1.2.1", 3)
    meters, evidence = read_meters("dell", gets_of(guard, *counts), [], warnings)
    assert meters == {"total": 900, "black": 700, "color": 200}
    assert evidence["black"]["rule"] == "pwg.black"
    # A vendor's own meters win over the PWG ones.
    hp_total = i("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0", 950)
    assert read_meters("hp", gets_of(guard, hp_total, *counts), [], warnings)[0]["total"] == 950


def test_brother_counter_records() -> None:
    # brInfoCounter as an HL-L5100DN sends it: 00 (printer count) = 9, 06 = 6, then padding.
    data = bytes.fromhex("0001040000000906010400000006ffffffff")
    assert brother_counter(data, 0) == 9
    assert brother_counter(data, 6) == 6
    assert brother_counter(data, 1) is None
    assert brother_counter(b"", 0) is None
    assert brother_counter(b"\x00\x01", 0) is None
    warnings: list[str] = []
    oid = "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.10.0"
    meters, evidence = read_meters("brother", gets_of(s(oid, data)), [], warnings)
    assert meters == {"total": 9}
    assert evidence["total"] == {"oid": oid, "raw": 9, "rule": "brother.total", "octets": data.hex()}
    assert any("no record 01" in w for w in warnings)
    assert read_meters("brother", gets_of(i(oid, 5)), [], warnings)[0] == {}
