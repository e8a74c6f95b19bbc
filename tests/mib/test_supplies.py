"""Supplies, trays and alerts from hand-made Printer-MIB rows (printwatch.mib)."""

from __future__ import annotations

import pytest
from printwatch.mib.alerts import alerts
from printwatch.mib.colors import colorant_color, description_color
from printwatch.mib.levels import coarse_history, read_level
from printwatch.mib.supplies import clean_description, supplies
from printwatch.mib.trays import trays

from tests.support.mibdata import ALERTS, COLORANTS, INPUTS, i, s, supply, table


def one(rows: list, **kw: object) -> dict:  # type: ignore[type-arg]
    warnings: list[str] = []
    [out] = supplies(table([rows]), [], warnings, **kw)  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(
    ("level", "capacity", "unit_percent", "percent", "state", "coarse"),
    [
        (42, 100, True, 42.0, "ok", False),
        (11501, 12000, False, 95.8, "ok", False),
        (1060, 5300, False, 20.0, "ok", False),
        (5, 100, False, 5.0, "low", False),
        (10, 100, False, 10.0, "low", False),
        (0, 100, False, 0.0, "empty", False),
        (-3, 100, False, None, "some_remaining", True),
        (-3, -2, False, None, "some_remaining", True),
        (-2, 100, False, None, "unknown", False),
        (-1, 100, False, None, "unknown", False),
        (55, -2, False, None, "unknown", False),  # capacity unknown, unit not percent
        (55, -1, False, None, "unknown", False),
        (55, -2, True, 55.0, "ok", False),  # capacity unknown, unit percent
        (100, -2, True, 100.0, "ok", False),
        (0, -2, False, 0.0, "empty", False),  # none left is none left
        (2, 3, False, 66.7, "ok", True),  # three steps
        (1, 1, False, 100.0, "ok", True),
        (55, 0, False, None, "unknown", False),
    ],
)
def test_level_rules(
    level: int, capacity: int, unit_percent: bool, percent: float | None, state: str, coarse: bool
) -> None:
    got = read_level(level, capacity, unit_percent=unit_percent, low_percent=10)
    assert (got.percent, got.state, got.coarse) == (percent, state, coarse)


def test_level_above_capacity_is_clamped_and_flagged() -> None:
    got = read_level(130, 100, unit_percent=False, low_percent=10)
    assert (got.percent, got.state, got.flags) == (100.0, "ok", ["clamped"])
    got = read_level(104, -2, unit_percent=True, low_percent=10)
    assert (got.percent, got.flags) == (100.0, ["clamped"])
    assert read_level(-7, 100, unit_percent=False, low_percent=10).flags == ["invalid_level"]
    assert read_level(None, 100, unit_percent=False, low_percent=10).state == "unknown"


def test_supply_row_and_threshold_per_type() -> None:
    row = supply(1, "Black Toner", level=1060, capacity=5300, kind=3)
    got = one(row)
    assert got == {
        "index": 1,
        "description": "Black Toner",
        "type": "toner",
        "class": "consumed",
        "color": "black",
        "unit": "tenthsOfGrams",
        "max_capacity": 5300,
        "level": 1060,
        "percent": 20.0,
        "state": "ok",
        "coarse": False,
        "flags": [],
    }
    assert one(row, thresholds={"toner": 25})["state"] == "low"
    assert one(row, thresholds={"default": 25, "toner": 5})["state"] == "ok"
    assert one(row, thresholds={"opc": 50})["state"] == "ok"


def test_receptacle_reports_space_remaining() -> None:
    # A waste toner box with 5 of 100 units of room left is nearly full: low, right way up.
    got = one(supply(10, "Waste Toner Container", level=5, capacity=100, kind=4, klass=4, unit=19))
    assert (got["class"], got["type"], got["percent"], got["state"]) == ("filled", "wasteToner", 5.0, "low")
    full = one(supply(10, "Waste Toner Box", level=0, capacity=100, kind=4, klass=4))
    assert full["state"] == "empty"


def test_colour_from_colorant_table_first() -> None:
    rows = table([supply(1, "Toner Cartridge 1", level=50, capacity=100, colorant=2)])
    colorants = [
        s(f"{COLORANTS}.4.1.1", "black"),
        s(f"{COLORANTS}.4.1.2", "cyan"),
    ]
    warnings: list[str] = []
    [got] = supplies(rows, colorants, warnings)
    assert got["color"] == "cyan"
    # A colorant pointing nowhere falls back to the description.
    rows = table([supply(1, "Magenta Toner", level=50, capacity=100, colorant=9)])
    assert supplies(rows, colorants, warnings)[0]["color"] == "magenta"


@pytest.mark.parametrize(
    ("description", "color"),
    [
        ("Toner (Cyan)", "cyan"),
        ("Black Cartridge HP CF410A", "black"),
        ("Photo Black Ink", "photo black"),
        ("Light Cyan Ink", "light cyan"),
        ("Grey Ink", "gray"),
        ("Toner [K]", "black"),
        ("Drum Cartridge (R1)", None),
        ("Waste Toner Box", None),
        ("Colored paper tray", None),
        ("トナー ブラック", "black"),
        ("", None),
    ],
)
def test_colour_from_description(description: str, color: str | None) -> None:
    assert description_color(description) == color


def test_colorant_names() -> None:
    assert colorant_color("Black") == "black"
    assert colorant_color("light-magenta") == "light magenta"
    assert colorant_color("unknown") is None
    assert colorant_color(None) is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Black Toner Cartridge, PN 1234567", "Black Toner Cartridge"),
        ("Black Toner Cartridge S/N:CRUM-", "Black Toner Cartridge"),
        ("Fuser S/N:", "Fuser"),
        ("Cyan Toner Cartridge OKI DATA CORP", "Cyan Toner Cartridge"),
        ("HP Black Toner", "Black Toner"),
        ("Canon Cartridge 719/719H", "Cartridge 719/719H"),
        ("HP", "HP"),
        ("Black Cartridge HP CF410A", "Black Cartridge HP CF410A"),
    ],
)
def test_description_cleaning(raw: str, clean: str) -> None:
    assert clean_description(raw) == clean


def test_hex_and_utf16_descriptions_are_decoded() -> None:
    assert one(supply(1, b"426C61636B20546F6E6572", level=1, capacity=2))["description"] == "Black Toner"
    assert one(supply(1, "Cyan Toner".encode("utf-16-le"), level=1, capacity=2))["color"] == "cyan"
    assert one(supply(1, b"Yellow Toner\x00\x00", level=1, capacity=2))["description"] == "Yellow Toner"


def test_wrong_types_are_null_with_warnings() -> None:
    rows = supply(3, "Black Toner", level=50, capacity=100)
    rows[-1] = s(rows[-1].oid, "fifty")  # level as text
    rows[3] = i(rows[3].oid, 99)  # unknown type
    warnings: list[str] = []
    [got] = supplies(table([rows]), [], warnings)
    assert (got["level"], got["percent"], got["state"], got["type"]) == (None, None, "unknown", None)
    assert any("1.3.6.1.2.1.43.11.1.1.9.1.3: level has the wrong type OctetString" in w for w in warnings)
    assert any("unknown type 99" in w for w in warnings)


def test_missing_cells_and_foreign_rows() -> None:
    rows = [i("1.3.6.1.2.1.43.11.1.1.9.1.1", 40), i("1.3.6.1.2.1.43.11.1.1.8.1.1", 80)]
    rows.append(i("1.3.6.1.2.1.43.12.1.1.4.1.1", 1))  # outside the table: ignored
    warnings: list[str] = []
    [got] = supplies(rows, [], warnings)
    assert (got["description"], got["percent"], got["color"]) == (None, 50.0, None)
    assert "prtMarkerSuppliesDescription.1.1: missing" in warnings


def test_trays() -> None:
    rows = table(
        [
            [
                i(f"{INPUTS}.9.1.1", 250),
                i(f"{INPUTS}.10.1.1", -3),
                s(f"{INPUTS}.12.1.1", "A4"),
                s(f"{INPUTS}.13.1.1", "Tray 1"),
            ],
            [i(f"{INPUTS}.9.1.2", 550), i(f"{INPUTS}.10.1.2", 55), s(f"{INPUTS}.13.1.2", "Tray 2")],
            [i(f"{INPUTS}.9.1.3", 100), i(f"{INPUTS}.10.1.3", 0), s(f"{INPUTS}.18.1.3", "Bypass")],
        ]
    )
    warnings: list[str] = []
    got = trays(rows, warnings)
    assert got == [
        {
            "index": 1,
            "name": "Tray 1",
            "media": "A4",
            "level": -3,
            "max_capacity": 250,
            "percent": None,
            "state": "some_remaining",
        },
        {
            "index": 2,
            "name": "Tray 2",
            "media": None,
            "level": 55,
            "max_capacity": 550,
            "percent": 10.0,
            "state": "low",
        },
        {
            "index": 3,
            "name": "Bypass",
            "media": None,
            "level": 0,
            "max_capacity": 100,
            "percent": 0.0,
            "state": "empty",
        },
    ]
    assert trays(rows, warnings, {"input": 5})[1]["state"] == "ok"


def test_alerts() -> None:
    rows = table(
        [
            [
                i(f"{ALERTS}.2.1.7", 4),
                i(f"{ALERTS}.3.1.7", 3),
                i(f"{ALERTS}.4.1.7", 11),
                i(f"{ALERTS}.5.1.7", 1),
                i(f"{ALERTS}.6.1.7", 1104),
                i(f"{ALERTS}.7.1.7", 1104),
                s(f"{ALERTS}.8.1.7", "Black toner low"),
            ],
            [i(f"{ALERTS}.2.1.9", 3), i(f"{ALERTS}.7.1.9", 40000)],
        ]
    )
    assert alerts(rows) == [
        {
            "index": 7,
            "severity": "warning",
            "training": "untrained",
            "group": "markerSupplies",
            "location": 1104,
            "code": "markerTonerAlmostEmpty",
            "description": "Black toner low",
        },
        {
            "index": 9,
            "severity": "critical",
            "training": None,
            "group": None,
            "location": None,
            "code": "40000",
            "description": None,
        },
    ]


def test_coarse_from_history() -> None:
    assert coarse_history([100, 100, 0, 100], 100)
    assert coarse_history([None, -3, 100, 0], -2)  # percent-like, special values ignored
    assert not coarse_history([100, 100, 100], 100)  # a new cartridge, not yet known
    assert not coarse_history([100, 80, 0, 100], 100)
    assert not coarse_history([], 100)
    assert coarse_history([3, 0], 3)
