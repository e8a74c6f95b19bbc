"""``/console/devices?q=TEXT&site=SITE`` (devices across the sites the principal may see, searched by
serial, model or name, 500 a page (``?offset=``); ``.json``, ``.csv``) and
``/console/devices/{site}/{n}`` (one device: its meter and supply history as charts, its reorders
and snapshots, its identity history; ``.json``). Any role; a customer's own sites only (another
site's device is a 404, as one that does not exist)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from printwatch.collector.access import Denied, require, require_site
from printwatch.collector.console import data
from printwatch.collector.console.sites import _plain
from printwatch.collector.console.view import PREFIX, offset_of, page, split_kind, table_answer
from printwatch.collector.handlers.state import state_of
from printwatch.web.dashboard.charts import Series, colour_of, line_chart

COLUMNS = ("site_id", "n", "serial", "vendor", "model", "name", "address", "registered_at", "last_read")
MAX_QUERY_CHARS = 100


async def devices_page(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    _, kind = split_kind(request.url.path.rsplit("/", 1)[-1])
    text = request.query_params.get("q", "")[:MAX_QUERY_CHARS]
    site = request.query_params.get("site") or None
    if site is not None:
        require_site(who, site)
    offset = offset_of(request)

    def gather() -> tuple[list[dict[str, Any]], int]:
        con = state.store.con.cursor()
        found = data.search_devices(con, who, text=text, site=site, limit=data.MAX_DEVICES, offset=offset)
        return found, data.count_devices(con, who, text=text, site=site)

    rows, total = await state.db(gather)
    return table_answer(
        request, kind, "devices", COLUMNS, rows, "devices.html", title="Devices", active=PREFIX + "/devices",
        q=text, site=site or "", total=total, offset=offset, limit=data.MAX_DEVICES,
    )  # fmt: skip


async def device_page(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    site = request.path_params["site"]
    require_site(who, site)
    n_text, kind = split_kind(request.path_params["n"])
    if not n_text.isdigit() or len(n_text) > 9:
        raise Denied(404, f"no device {n_text[:20]!r} at site {site!r}")
    n = int(n_text)

    def gather() -> dict[str, Any] | None:
        con = state.store.con.cursor()
        found = data.device(con, site, n)
        if found is None:
            return None
        return {
            "device": found,
            "meters": data.meter_history(con, site, n),
            "supplies": data.supply_history(con, site, n),
            "reorders": data.device_reorders(con, site, n),
            "snapshots": data.device_snapshots(con, site, n),
            "identity": data.identity_history(con, who, site, n, found["serial"]),
        }

    found = await state.db(gather)
    if found is None:
        raise Denied(404, f"no device {n} at site {site!r}")
    if kind == "json":
        return JSONResponse(_plain(found), headers={"cache-control": "no-store"})
    d = found["device"]
    return page(
        request, "device.html", title=f"{d['model'] or 'Device'} {d['serial'] or ''} ({site} #{n})",
        active=PREFIX + "/devices", charts=_charts(found, state.now()), **found,
    )  # fmt: skip


def _charts(found: dict[str, Any], now: dt.datetime) -> list[Markup]:
    """The meters' and the supplies' history as SVG (the dashboard's charts)."""
    meters: dict[str, list[tuple[dt.datetime, float]]] = {}
    for r in found["meters"]:
        meters.setdefault(str(r["meter"]), []).append((r["time"], float(r["value"])))
    supplies: dict[int, list[tuple[dt.datetime, float]]] = {}
    for r in found["supplies"]:
        if r["percent"] is not None:
            supplies.setdefault(int(r["supply_index"]), []).append((r["time"], float(r["percent"])))
    times = [t for points in (*meters.values(), *supplies.values()) for t, _ in points]
    start = min(times, default=now) - dt.timedelta(days=1)
    end = max([*times, now])
    end += (end - start) / 20  # room for the "now" line's label
    charts = []
    if meters:
        series = [
            Series(name, colour_of(None, i), points)
            for i, (name, points) in enumerate(sorted(meters.items()))
        ]
        charts.append(Markup(line_chart(series, title="Meters", x_from=start, x_to=end, now=now)))
    if supplies:
        names = _supply_names(found["device"].get("supplies"))
        series = [
            Series(names.get(index, f"supply {index}"), colour_of(names.get(index), index, grey=True), points)
            for index, points in sorted(supplies.items())
        ]
        charts.append(
            Markup(
                line_chart(
                    series, title="Supplies", x_from=start, x_to=end, y_from=0, y_to=100, y_unit="%", now=now
                )
            )
        )
    return charts


def _supply_names(registered: object) -> dict[int, str]:
    """The supplies' names as the appliance registered them (``[[index, type, colour,
    description], ...]``); whatever else it holds names nothing."""
    try:
        entries = json.loads(registered) if isinstance(registered, str) else registered
    except ValueError:
        return {}
    names: dict[int, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, list) and len(entry) >= 4 and isinstance(entry[0], int):
            names[entry[0]] = str(entry[3] or entry[2] or entry[1])[:60]
    return names
