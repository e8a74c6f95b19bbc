"""A printer's page (``/printer/ID``): its details, supply levels over 30 days with each
supply's forecast line to empty, meters, pages per day, the meter reads with their evidence,
its alerts, and the button that calls for assistance.

The charts are SVG drawn by :mod:`~printwatch.web.dashboard.charts` (which escapes its own
labels) and passed to the template as Markup; everything else the printer said is text there.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from printwatch.web.dashboard.alerts import rows as alert_rows
from printwatch.web.dashboard.charts import Series, colour_of, line_chart
from printwatch.web.dashboard.formats import aware, utc
from printwatch.web.dashboard.state import Dashboard
from printwatch.web.dashboard.view import dashboard_of, not_found, page

CHART_DAYS = 30
PAGES_SHOWN = 14  # the last days of the pages-per-day table


def _forecast_series(n: int, f: dict[str, Any], points: list[tuple[dt.datetime, float]]) -> Series:
    colour = colour_of(f.get("color") or f.get("description"), n, grey=True)
    forecast = None
    note = "no forecast yet"
    if f.get("empty_at") is not None and f.get("percent_now") is not None and f.get("as_of") is not None:
        empty_at = aware(f["empty_at"])
        forecast = ((aware(f["as_of"]), float(f["percent_now"])), (empty_at, 0.0))
        note = f"empty {utc(empty_at)[:10]} ({f['days_to_empty']:.0f} days)"
    elif f.get("percent_now") is None:
        note = "level unknown"
    label = str(f.get("description") or f"supply {f['supply_index']}")
    return Series(label, colour, points, forecast, note)


def supply_chart(
    history: Sequence[tuple[int, dt.datetime, float]],
    forecasts: Sequence[dict[str, Any]],
    since: dt.datetime,
    now: dt.datetime,
) -> Markup:
    """Supply levels since ``since`` with each forecast's dashed line to empty (to 60 days ahead)."""
    horizon = now + dt.timedelta(days=14)
    series = []
    for n, f in enumerate(forecasts):
        points = [(t, pct) for i, t, pct in history if i == f["supply_index"]]
        s = _forecast_series(n, f, points)
        if s.forecast is not None:
            horizon = max(horizon, min(s.forecast[1][0], now + dt.timedelta(days=60)))
        series.append(s)
    return Markup(
        line_chart(
            series,
            title="Supply levels (%) and forecast to empty",
            x_from=since,
            x_to=horizon,
            y_from=0,
            y_to=100,
            y_unit="%",
            now=now,
        )
    )


def meter_chart(
    history: Sequence[tuple[str, dt.datetime, int]], since: dt.datetime, now: dt.datetime
) -> Markup:
    """Each meter's reads since ``since``, one line each."""
    names = list(dict.fromkeys(m for m, _, _ in history))
    series = [
        Series(name, colour_of(None, n), [(t, float(v)) for m, t, v in history if m == name])
        for n, name in enumerate(names)
    ]
    return Markup(line_chart(series, title="Meters (pages)", x_from=since, x_to=now, now=now))


def _gather(d: Dashboard, device_id: int, since: dt.datetime) -> dict[str, Any] | None:
    """Everything the page reads, in one snapshot (a worker thread's)."""
    dev = d.data.device(device_id)
    if dev is None:
        return None
    return {
        "dev": dev,
        "forecasts": d.data.forecasts(device_id),
        "supplies": d.data.supply_history(device_id, since),
        "meters": d.data.meter_history(device_id, since),
        "evidence": d.data.meter_evidence(device_id, since),
        "pages": d.data.pages_per_day(device_id, since),
        "alerts": d.data.alerts(device_id=device_id, limit=100),
    }


def context(got: dict[str, Any], since: dt.datetime, now: dt.datetime) -> dict[str, Any]:
    """What ``printer.html`` shows of what :func:`_gather` read."""
    dev: defaultdict[str, Any] = defaultdict(lambda: None, got["dev"])
    target = dev["address"] or ""
    return {
        "dev": dev,
        "name": str(dev["sys_name"] or dev["address"] or dev["identity"]),
        "model": " ".join(str(x) for x in (dev["vendor"], dev["model"]) if x),
        "assist": f"/api/assist/{quote(str(target), safe='')}" if target else "",
        "forecasts": [defaultdict(lambda: None, f) for f in got["forecasts"]],
        "supply_svg": supply_chart(got["supplies"], got["forecasts"], since, now),
        "meter_svg": meter_chart(got["meters"], since, now),
        "meters": [defaultdict(lambda: None, m) for m in got["evidence"]],
        "pages": got["pages"][-PAGES_SHOWN:],
        "alerts": alert_rows(got["alerts"]),
        "now": now,
    }


async def printer(request: Request) -> Response:
    d = dashboard_of(request)
    device_id: int = request.path_params["device_id"]
    now = d.clock()
    since = now - dt.timedelta(days=CHART_DAYS)
    got = await d.read(_gather, d, device_id, since)
    if got is None:
        return not_found(request, f"printer {device_id}")
    return page(request, "printer.html", **context(got, since, now))
