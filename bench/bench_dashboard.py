"""Smoke test of the dashboard bench (``bench/dashboard_fleet.py``), bounded for ``make test``:
300 printers, 9 days, each request once; and, on that history, that the fleet page is right: its
pages per day equal the store's ``pages_per_day`` view, its sorts and pages agree with sorting the
views in Python. The full run (10,000 printers, 30 days) is in docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from printwatch.store import Store
from printwatch.web.dashboard import Dashboard, FleetQuery

try:
    from bench import dashboard_fleet
except ImportError:  # run with an import mode that does not put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import dashboard_fleet

PRINTERS = 300


def check(store: Store, dashboard: Dashboard) -> None:
    data = dashboard.data
    con = store.reader()
    as_of = con.execute("SELECT max(last_meter_at) FROM devices").fetchone()[0]  # type: ignore[index]
    first_day = as_of.date().toordinal() - 6
    total: dict[int, int] = {}
    for device_id, day, pages in con.execute("SELECT device_id, day, pages FROM pages_per_day").fetchall():
        if day.toordinal() >= first_day:
            total[device_id] = total.get(device_id, 0) + pages
    view = {d: n / 7 for d, n in total.items()}
    assert data.pages.values and data.pages.as_of == as_of
    assert set(data.pages.values) == set(view)
    assert all(abs(data.pages.values[d] - view[d]) < 1e-9 for d in view)

    def fleet(**kw: Any) -> list[int]:
        with data.reading():
            page = data.fleet(FleetQuery(**kw))
        assert page.total == PRINTERS or kw.get("state") or kw.get("text")
        return [r.device_id for r in page.rows]

    by_pages = sorted(view, key=lambda d: (-view[d], d))  # ties by device id
    assert fleet(sort="pages", descending=True, per_page=25) == by_pages[:25]
    assert fleet(sort="pages", descending=True, per_page=25, page=3) == by_pages[50:75]
    lowest = dict(
        con.execute("SELECT device_id, min(percent_now) FROM supply_forecast GROUP BY 1").fetchall()
    )
    got = fleet(sort="supply", per_page=50)
    values = [lowest.get(d) for d in got]
    assert values == sorted(values, key=lambda v: (v is None, v))
    names = fleet(sort="name", per_page=200) + fleet(sort="name", per_page=200, page=2)
    assert len(names) == len(set(names)) == PRINTERS  # pages do not overlap and cover the fleet
    con.close()


def test_dashboard_bench_serves_every_request_and_the_fleet_is_right(tmp_path: Path) -> None:
    figures = dashboard_fleet.run(PRINTERS, 9, 1, tmp_path / "history.duckdb", check=check)
    timed = [f for f in figures if f["ratio_to_target"] is not None]
    assert len(timed) == len(dashboard_fleet.requests_of(PRINTERS))
    assert all(f["bytes"] > 1000 for f in timed)
