"""hrDeviceStatus, hrPrinterStatus and every bit of hrPrinterDetectedErrorState."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from printwatch.mib import oids
from printwatch.mib.status import error_bits, status

from tests.support.mibdata import i, s

BITS = oids.HR_PRINTER_ERROR_BITS


@pytest.mark.parametrize("bit", range(len(BITS)))
def test_every_bit_alone_in_the_two_octet_form(bit: int) -> None:
    value = (0x8000 >> bit).to_bytes(2, "big")
    assert error_bits(value) == [BITS[bit]]


@pytest.mark.parametrize("bit", range(8))
def test_every_bit_of_the_one_octet_form(bit: int) -> None:
    assert error_bits(bytes([0x80 >> bit])) == [BITS[bit]]


def test_recorded_values() -> None:
    # From the recordings: sharp 2000, samsung 8000, konica_c250i 0100, brother 00, epson "".
    assert error_bits(bytes.fromhex("2000")) == ["lowToner"]
    assert error_bits(bytes.fromhex("8000")) == ["lowPaper"]
    assert error_bits(bytes.fromhex("0100")) == ["serviceRequested"]
    assert error_bits(bytes.fromhex("00")) == []
    assert error_bits(b"") == []
    assert error_bits(bytes.fromhex("0402")) == ["jammed", "overduePreventMaint"]


def test_all_bits_and_undefined_ones() -> None:
    assert error_bits(b"\xff\xfe") == list(BITS)
    assert error_bits(b"\x00\x01") == ["bit15"]
    assert error_bits(b"\x00\x00\x80") == ["bit16"]


def test_integer_forms() -> None:
    assert error_bits(0x20) == ["lowToner"]
    assert error_bits(0x0402) == ["jammed", "overduePreventMaint"]
    assert error_bits(-1) == []


@given(st.one_of(st.binary(max_size=64), st.integers(), st.text(max_size=20), st.none()))
def test_garbage_never_raises(value: object) -> None:
    bits = error_bits(value)
    assert all(isinstance(b, str) for b in bits)
    assert len(bits) <= 128


def test_status_scalars() -> None:
    warnings: list[str] = []
    gets = {
        oids.HR_DEVICE_STATUS: i(oids.HR_DEVICE_STATUS, 3),
        oids.HR_PRINTER_STATUS: i(oids.HR_PRINTER_STATUS, 4),
        oids.HR_PRINTER_ERROR_STATE: s(oids.HR_PRINTER_ERROR_STATE, b"\x08"),
    }
    assert status(gets, warnings) == {"device": "warning", "printer": "printing", "errors": ["doorOpen"]}
    assert warnings == []


def test_status_missing_and_wrong_types_are_unknown_with_warnings() -> None:
    warnings: list[str] = []
    gets = {
        oids.HR_DEVICE_STATUS: s(oids.HR_DEVICE_STATUS, "running"),
        oids.HR_PRINTER_STATUS: i(oids.HR_PRINTER_STATUS, 9),
        oids.HR_PRINTER_ERROR_STATE: i(oids.HR_PRINTER_ERROR_STATE, 5, "Counter32"),
    }
    assert status(gets, warnings) == {"device": "unknown", "printer": "unknown", "errors": []}
    assert len(warnings) == 3
    assert any("hrPrinterDetectedErrorState: wrong type Counter32" in w for w in warnings)
    warnings.clear()
    assert status({}, warnings)["device"] == "unknown"
    assert warnings == [
        "hrDeviceStatus: missing",
        "hrPrinterStatus: missing",
        "hrPrinterDetectedErrorState: missing",
    ]
