"""The charts' y axis: an empty chart says so instead of numbering its axis 0, 0, 0, 1, 1; a
flat series and every fitted range get distinct labels that write the ticks as they are."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from printwatch.web.dashboard.charts import Series, line_chart, tick_labels, y_axis

SINCE = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NOW = SINCE + dt.timedelta(days=30)


def y_labels(svg: str) -> list[str]:
    """The y axis's tick labels (right-aligned texts left of the plot), bottom to top."""
    found = re.findall(r'<text class="tick" x="52" y="([\d.]+)" text-anchor="end">([^<]*)</text>', svg)
    return [label for _, label in sorted(found, key=lambda f: -float(f[0]))]


def meter_chart(points: list[tuple[dt.datetime, float]]) -> str:
    """The printer page's meter chart: no y range given, fitted to the data."""
    series = [Series("total", "#222222", points)] if points else []
    return line_chart(series, title="Meters (pages)", x_from=SINCE, x_to=NOW, now=NOW)


def test_an_empty_meter_chart_says_no_data_yet_and_numbers_no_axis() -> None:
    for svg in (
        meter_chart([]),
        line_chart([Series("total", "#222", [])], title="m", x_from=SINCE, x_to=NOW),
    ):
        assert y_labels(svg) == []
        assert ">no data yet</text>" in svg
        assert "<polyline" not in svg


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, ["0", "1"]), (5, ["4", "5", "6"]), (123_456, ["122k", "123k", "124k", "125k"])],
)
def test_a_flat_series_gets_distinct_labels_around_its_value(value: int, expected: list[str]) -> None:
    svg = meter_chart([(SINCE + dt.timedelta(days=d), float(value)) for d in range(0, 30, 3)])
    assert y_labels(svg) == expected
    assert "no data yet" not in svg


def test_one_point_is_a_dot_on_a_labelled_axis() -> None:
    svg = meter_chart([(NOW - dt.timedelta(hours=1), 48_210.0)])
    labels = y_labels(svg)
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels
    assert '<circle cx="' in svg


@pytest.mark.parametrize(
    ("values", "given", "expected"),
    [
        ([12_000, 12_010], (None, None), ["12,000", "12,005", "12,010"]),  # whole numbers, whole steps
        ([0, 3], (None, None), ["0", "1", "2", "3"]),
        ([100, 2_000_000], (None, None), ["0", "500k", "1M", "1.5M", "2M"]),
        ([0.25, 0.75], (None, None), ["0.2", "0.4", "0.6", "0.8"]),
        ([40.0, 60.0], (0, 100), ["0", "25", "50", "75", "100"]),  # the supply chart's range
    ],
)
def test_fitted_ranges_label_every_tick_distinctly_and_exactly(
    values: list[float], given: tuple[float | None, float | None], expected: list[str]
) -> None:
    lo, hi, step = y_axis(values, *given)
    ticks = [lo + k * step for k in range(round((hi - lo) / step) + 1)]
    assert lo <= min(values) and max(values) <= hi
    assert tick_labels(ticks) == expected


def test_the_supply_chart_keeps_its_percent_axis_when_empty() -> None:
    svg = line_chart([], title="s", x_from=SINCE, x_to=NOW, y_from=0, y_to=100, y_unit="%")
    assert y_labels(svg) == ["0%", "25%", "50%", "75%", "100%"]
    assert "no data yet" not in svg
