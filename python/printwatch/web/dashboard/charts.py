"""Charts drawn on the server as inline SVG (no script, no library): supply levels over time with
the forecast line to empty, and meters over time.

Each chart is a function of plain data to an SVG string; every text in it is escaped. Times are
UTC ``datetime`` values; a series with fewer than one point draws nothing but its legend, and a
chart with no point at all and no given y range says "no data yet" instead of numbering its axis.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 760
HEIGHT = 260
LEFT = 58
RIGHT = 16
TOP = 14
BOTTOM = 34

#: Fill colours of supply colours (the printer's names, lower case); the rest are grey shades.
COLOURS = {
    "black": "#222222",
    "cyan": "#0097c4",
    "magenta": "#c4007a",
    "yellow": "#d4b000",
    "red": "#c43c00",
    "blue": "#2f5bd3",
    "green": "#2c9a3a",
}
METER_COLOURS = ("#2f5bd3", "#222222", "#c4007a", "#2c9a3a", "#d4b000", "#0097c4", "#8a5a00", "#777777")


GREYS = ("#7b8494", "#a3a9b5", "#565e6d")


def colour_of(color: str | None, n: int, *, grey: bool = False) -> str:
    """The colour a name says (``black``, ``Cyan Toner``...), else the n-th of a palette (of
    greys for supplies: a waste box must not look like a yellow toner)."""
    name = (color or "").lower()
    for key, value in COLOURS.items():
        if key in name:
            return value
    palette = GREYS if grey else METER_COLOURS
    return palette[n % len(palette)]


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    points: Sequence[tuple[dt.datetime, float]]
    # A dashed segment (the forecast): from its first to its second point.
    forecast: tuple[tuple[dt.datetime, float], tuple[dt.datetime, float]] | None = None
    note: str = ""


def _ts(t: dt.datetime) -> float:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks, 1)
    if raw <= 0:
        return 1.0
    power: float = 10.0 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power


def _number(v: float, decimals: int = 0) -> str:
    """``v`` for an axis: compact (``12k``, ``1.5M``), with ``decimals`` more digits."""
    if abs(v) >= 1e6:
        return f"{v / 1e6:.{1 + decimals}f}M".replace(".0M", "M")
    if abs(v) >= 1e4:
        return f"{v / 1e3:.{decimals}f}k"
    return f"{v:,.{decimals}f}"


def y_axis(values: Sequence[float], y_from: float | None, y_to: float | None) -> tuple[float, float, float]:
    """The y range (``lo``, ``hi``) and the step between ticks: the given bounds, else fitted to
    ``values`` at round steps. A flat series gets a margin around its value (of 1% of it, at
    least 1), so that its ticks differ; a series of whole numbers (page counts) never gets a
    step below 1."""
    lo = y_from if y_from is not None else (min(values) if values else 0.0)
    hi = y_to if y_to is not None else (max(values) if values else 1.0)
    if hi <= lo:  # a flat series (or one point): a margin around its value, not below 0
        pad = max(1.0, abs(hi) * 0.01)
        if y_from is None:
            lo = hi - pad if hi < 0 or hi - pad >= 0 else 0.0
        if y_to is None or hi <= lo:
            hi = max(hi, lo) + pad
    step = _nice_step(hi - lo, 4)
    if y_from is None or y_to is None:
        if values and all(float(v).is_integer() for v in values) and not step.is_integer():
            step = 1.0 if step < 1 else 2 * step  # whole numbers, whole steps (2.5 -> 5)
        lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
        if hi <= lo:
            hi = lo + step
    return lo, hi, step


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """The labels of ``ticks`` (ascending): compact (``12k``, ``1.5M``) where that keeps them
    distinct, else written out (``12,005``) with the fewest decimals that do and that write each
    tick exactly."""
    for compact in (0, 1):
        labels = [_number(v, compact) for v in ticks]
        small_exact = all(abs(v) >= 1e4 or abs(round(v, compact) - v) < 1e-9 for v in ticks)
        if small_exact and len(set(labels)) == len(labels):
            return labels
    for decimals in range(7):
        labels = [f"{v:,.{decimals}f}" for v in ticks]
        if all(abs(round(v, decimals) - v) < 1e-9 for v in ticks) and len(set(labels)) == len(labels):
            break
    return labels


@dataclass(frozen=True)
class _Plot:
    """The plot area's mapping from (time, value) to SVG coordinates."""

    x0: float
    x1: float
    lo: float
    hi: float
    width: float = WIDTH - LEFT - RIGHT
    height: float = HEIGHT - TOP - BOTTOM

    def sx(self, t: float) -> float:
        return LEFT + (t - self.x0) / (self.x1 - self.x0) * self.width

    def sy(self, v: float) -> float:
        return TOP + (1 - (v - self.lo) / (self.hi - self.lo)) * self.height


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_from: dt.datetime,
    x_to: dt.datetime,
    y_from: float | None = None,
    y_to: float | None = None,
    y_unit: str = "",
    now: dt.datetime | None = None,
) -> str:
    """An SVG line chart of ``series`` between ``x_from`` and ``x_to`` (points outside are
    clipped); the y range is given or fitted to the data."""
    x0, x1 = _ts(x_from), _ts(x_to)
    if x1 <= x0:
        x1 = x0 + 86400.0
    values = [v for s in series for _, v in s.points] + [
        v for s in series if s.forecast for _, v in s.forecast
    ]
    lo, hi, step = y_axis(values, y_from, y_to)
    plot = _Plot(x0, x1, lo, hi)
    # Nothing to draw and no range given: no numbers on the y axis, a note instead.
    empty = not values and (y_from is None or y_to is None)
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<defs><clipPath id="plot-{id(series)}"><rect x="{LEFT}" y="{TOP - 2}" width="{plot.width}" '
        f'height="{plot.height + 4}"/></clipPath></defs>',
        *_y_grid(plot, step, y_unit, empty),
        *_x_grid(plot),
        *_now_line(plot, now),
        f'<g clip-path="url(#plot-{id(series)})">',
        *(mark for s in series for mark in _series_marks(plot, s)),
        "</g>",
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot.height}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot.height}" '
        f'y2="{TOP + plot.height}"/>',
        "</svg>",
    ]
    return f'<figure class="chart-box">{"".join(out)}<ul class="legend">{_legend(series)}</ul></figure>'


def _y_grid(plot: _Plot, step: float, y_unit: str, empty: bool) -> list[str]:
    """Horizontal grid lines with their labels, or the "no data yet" note."""
    out = []
    ticks = [plot.lo + k * step for k in range(round((plot.hi - plot.lo) / step) + 1)]
    for v, label in zip(ticks, tick_labels(ticks), strict=True):
        y = plot.sy(v)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        if not empty:
            out.append(
                f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{escape(label)}{y_unit}</text>"
            )
    if empty:
        out.append(
            f'<text class="tick no-data" x="{LEFT + plot.width / 2:.1f}" y="{TOP + plot.height / 2:.1f}" '
            'text-anchor="middle">no data yet</text>'
        )
    return out


def _x_grid(plot: _Plot) -> list[str]:
    """A vertical line and a date label every day (or every few days: at most about six)."""
    out = []
    day_step = max(1, math.ceil((plot.x1 - plot.x0) / 86400.0 / 6))
    start_day = dt.datetime.fromtimestamp(plot.x0, dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tick = start_day + dt.timedelta(days=1)
    while tick.timestamp() < plot.x1:
        x = plot.sx(tick.timestamp())
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot.height}"/>')
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 14}" text-anchor="middle">{tick:%b %d}</text>'
        )
        tick += dt.timedelta(days=day_step)
    return out


def _now_line(plot: _Plot, now: dt.datetime | None) -> list[str]:
    if now is None or not plot.x0 <= _ts(now) <= plot.x1:
        return []
    x = plot.sx(_ts(now))
    return [
        f'<line class="now" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot.height}"/>',
        f'<text class="tick" x="{x + 3:.1f}" y="{TOP + 10}">now</text>',
    ]


def _series_marks(plot: _Plot, s: Series) -> list[str]:
    """A series' line (a dot when it has one point) and its forecast line."""
    out = []
    pts = [(plot.sx(_ts(t)), plot.sy(val)) for t, val in s.points]
    if len(pts) == 1:
        x, y = pts[0]
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{s.colour}"/>')
    elif pts:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(f'<polyline class="series" points="{path}" stroke="{s.colour}"/>')
    if s.forecast is not None:
        (ta, va), (tb, vb) = s.forecast
        out.append(
            f'<line class="forecast" x1="{plot.sx(_ts(ta)):.1f}" y1="{plot.sy(va):.1f}" '
            f'x2="{plot.sx(_ts(tb)):.1f}" y2="{plot.sy(vb):.1f}" stroke="{s.colour}"/>'
        )
    return out


def _legend(series: Sequence[Series]) -> str:
    return "".join(
        f'<li><span class="swatch" style="background:{s.colour}"></span>{escape(s.label)}'
        + (f' <span class="note">{escape(s.note)}</span>' if s.note else "")
        + "</li>"
        for s in series
    )
