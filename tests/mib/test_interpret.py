"""The poll document (printwatch.mib.interpret_varbinds): the shared contract's shape."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from printwatch._core import VarBind
from printwatch.mib import interpret_varbinds, oids, unreachable

from tests.support.examples import examples
from tests.support.mibdata import ALERTS, COLORANTS, INPUTS, MARKERS, i, s, supply, table

KEYS = {
    "counters",
    "target",
    "reachable",
    "version",
    "rtt_ms",
    "time",
    "sys",
    "vendor",
    "model",
    "serial",
    "mac",
    "status",
    "meters",
    "meter_evidence",
    "supplies",
    "trays",
    "alerts",
    "warnings",
}


def printer() -> tuple[dict[str, VarBind], dict[str, list[VarBind]]]:
    gets = [
        s(oids.SYS_DESCR, "Xerox AltaLink C8045; SS 100.002.057.09608"),
        VarBind(oids.SYS_OBJECT_ID, "ObjectIdentifier", "1.3.6.1.4.1.253.8.62.1.35.2.3.1.1"),
        i(oids.SYS_UPTIME, 4280423, "TimeTicks"),
        s(oids.SYS_CONTACT, "ops"),
        s(oids.SYS_NAME, "xrx-3f"),
        s(oids.SYS_LOCATION, "3rd floor"),
        i(oids.HR_DEVICE_STATUS, 3),
        i(oids.HR_PRINTER_STATUS, 3),
        s(oids.HR_PRINTER_ERROR_STATE, b"\x20"),
        s(oids.PRT_GENERAL_SERIAL_NUMBER, "XRX123"),
        VarBind(oids.IF_PHYS_ADDRESS[0], "OctetString", bytes.fromhex("9c934e112233")),
        i("1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.1", 1000, "Counter32"),
        i("1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.34", 800, "Counter32"),
        i("1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.33", 200, "Counter32"),
    ]
    walks = {
        oids.PRT_SUPPLIES_TABLE: table(
            [
                supply(1, "Black Toner", level=1060, capacity=5300, colorant=1),
                supply(2, "Waste Toner Container", level=5, capacity=100, kind=4, klass=4, unit=19),
            ]
        ),
        oids.PRT_COLORANT_TABLE: [s(f"{COLORANTS}.4.1.1", "black")],
        oids.PRT_MARKER_TABLE: [i(f"{MARKERS}.3.1.1", 7), i(f"{MARKERS}.4.1.1", 999, "Counter32")],
        oids.PRT_INPUT_TABLE: [
            i(f"{INPUTS}.9.1.1", 500),
            i(f"{INPUTS}.10.1.1", 250),
            s(f"{INPUTS}.13.1.1", "Tray 1"),
        ],
        oids.PRT_ALERT_TABLE: [
            i(f"{ALERTS}.2.1.1", 4),
            i(f"{ALERTS}.7.1.1", 1104),
            s(f"{ALERTS}.8.1.1", "Toner low"),
        ],
    }
    return {vb.oid: vb for vb in gets}, walks


def test_document_shape() -> None:
    gets, walks = printer()
    doc = interpret_varbinds(
        "127.20.0.7:161", gets, walks, version="2c", rtt_ms=0.4321, time="2026-11-30T10:00:00Z"
    )
    assert set(doc) == KEYS
    assert doc["sys"] == {
        "descr": "Xerox AltaLink C8045; SS 100.002.057.09608",
        "object_id": "1.3.6.1.4.1.253.8.62.1.35.2.3.1.1",
        "uptime_s": 42804,
        "contact": "ops",
        "name": "xrx-3f",
        "location": "3rd floor",
    }
    assert (doc["vendor"], doc["model"], doc["serial"], doc["mac"]) == (
        "xerox",
        "Xerox AltaLink C8045",
        "XRX123",
        "9c:93:4e:11:22:33",
    )
    assert doc["status"] == {"device": "warning", "printer": "idle", "errors": ["lowToner"]}
    assert doc["meters"] == {"total": 1000, "black": 800, "color": 200}
    assert doc["meter_evidence"]["color"]["rule"] == "xerox.color"
    black, waste = doc["supplies"]
    assert (black["color"], black["percent"], black["state"]) == ("black", 20.0, "ok")
    assert (waste["class"], waste["percent"], waste["state"]) == ("filled", 5.0, "low")
    assert doc["trays"][0]["percent"] == 50.0
    assert doc["alerts"][0]["code"] == "markerTonerAlmostEmpty"
    assert doc["warnings"] == []
    assert doc["rtt_ms"] == 0.432 and doc["time"] == "2026-11-30T10:00:00Z"
    json.dumps(doc)  # JSON all the way down


def test_missing_tables_and_scalars_are_warnings() -> None:
    doc = interpret_varbinds("t", {oids.SYS_DESCR: s(oids.SYS_DESCR, "SHARP MX-2614N")}, {})
    assert doc["vendor"] == "sharp" and doc["model"] == "SHARP MX-2614N"
    assert doc["supplies"] == [] and doc["meters"] == {}
    assert "prtMarkerSuppliesTable: missing" in doc["warnings"]
    assert "sysObjectID: missing" in doc["warnings"]
    assert doc["time"].endswith("Z")


@pytest.mark.parametrize(
    ("thresholds", "error"),
    [
        ({"toner": "low"}, "thresholds['toner']: 'low' must be a number from 0 to 100"),
        ({"toner": 150}, "thresholds['toner']: 150"),
        ({"opc": -1}, "thresholds['opc']: -1"),
        ({"opc": True}, "thresholds['opc']: True"),
        ({"": 5}, "thresholds: the key ''"),
    ],
)
def test_bad_thresholds_name_the_key(thresholds: dict, error: str) -> None:  # type: ignore[type-arg]
    gets, walks = printer()
    with pytest.raises(ValueError, match=re.escape(error)):
        interpret_varbinds("t", gets, walks, thresholds=thresholds)


def test_unreachable() -> None:
    assert unreachable("10.0.0.1:161", "timeout", time="T") == {
        "target": "10.0.0.1:161",
        "reachable": False,
        "error": "timeout",
        "time": "T",
    }


VALUE = st.one_of(
    st.builds(lambda v: ("Integer", v), st.integers(-(2**31), 2**31 - 1)),
    st.builds(lambda v: ("Counter32", v), st.integers(0, 2**32 - 1)),
    st.builds(lambda v: ("OctetString", v), st.binary(max_size=40)),
    st.builds(lambda v: ("Null", None), st.none()),
    st.builds(lambda v: ("NoSuchInstance", None), st.none()),
)


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 99]), st.integers(1, 4), VALUE), max_size=40
    )
)
def test_garbage_tables_never_raise(cells: list[tuple[int, int, tuple[str, object]]]) -> None:
    walks: dict[str, list[VarBind]] = {}
    for root in oids.TABLES.values():
        walks[root] = [VarBind(f"{root}.1.{col}.1.{row}", kind, value) for col, row, (kind, value) in cells]  # type: ignore[arg-type]
    gets = {
        o: VarBind(o, kind, value)
        for o, (_, _, (kind, value)) in zip(oids.SYSTEM.values(), cells, strict=False)
    }  # type: ignore[arg-type]
    doc = interpret_varbinds("t", gets, walks)
    json.dumps(doc)
    for supply_doc in doc["supplies"]:
        assert supply_doc["percent"] is None or 0 <= supply_doc["percent"] <= 100
    assert all(v >= 0 for v in doc["meters"].values())
