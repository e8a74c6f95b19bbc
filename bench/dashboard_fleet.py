"""The dashboard's fleet page with 10,000 printers: server time and transfer size (issue 9's
target: 300 ms or less).

    python bench/dashboard_fleet.py                       # 10,000 printers, 30 days of history
    python bench/dashboard_fleet.py --printers 500 --days 7   # a quick look

Generates the history inside DuckDB (``bench/store_history.py``, the same model as the store's
bench, ending now), opens it with :class:`printwatch.store.Store` as the appliance does, serves
the dashboard with hypercorn's Trio worker on loopback, logs in, and times whole HTTP requests
from a client in another thread (median of ``--repeats``, after one warm-up): the first page of
the fleet, sorted by each column, filtered by state and text, the last page, and a printer page.
Prints each with its size and its ratio to the 300 ms target, and writes them as JSON
(``--results``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import queue
import re
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import httpx
import trio

try:
    from bench import store_history
except ImportError:  # run as a script: put the project root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import store_history

from printwatch.store import Store
from printwatch.web.dashboard import Dashboard, dashboard_app
from printwatch.web.server import serve_http

TARGET_S = 0.300
PASSWORD = "bench password 1"


def requests_of(printers: int) -> list[tuple[str, str]]:
    last = -(-printers // 50)
    return [
        ("fleet, first page (by name)", "/fleet"),
        ("fleet, by address", "/fleet?sort=address"),
        ("fleet, by state", "/fleet?sort=state"),
        ("fleet, by last seen (desc)", "/fleet?sort=last_seen&dir=desc"),
        ("fleet, by lowest supply", "/fleet?sort=supply"),
        ("fleet, by pages per day (desc)", "/fleet?sort=pages&dir=desc"),
        ("fleet, filter state=problem", "/fleet?state=problem"),
        ("fleet, filter text", "/fleet?q=10.0.1"),
        ("fleet, last page", f"/fleet?page={last}"),
        ("fleet, 200 a page", "/fleet?per=200"),
        ("printer page", f"/printer/{printers // 2}"),
    ]


def serve(store: Store, state_dir: Path, ready: queue.Queue[Any]) -> None:
    dashboard, _first = Dashboard.open(store, state_dir)
    dashboard.passwords.change(PASSWORD)
    app = dashboard_app(dashboard)

    async def main() -> None:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            address = await nursery.start(partial(serve_http, app, "127.0.0.1", 0))
            ready.put(
                (f"http://{address[0]}:{address[1]}", trio.lowlevel.current_trio_token(), stop, dashboard)
            )
            await stop.wait()
            nursery.cancel_scope.cancel()

    trio.run(main)


def measure(url: str, printers: int, repeats: int, dashboard: Dashboard) -> list[dict[str, Any]]:
    out = []
    with httpx.Client(base_url=url, timeout=60) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text
        r = c.post("/login", data={"user": "admin", "password": PASSWORD, "csrf": token.group(1)})
        assert r.status_code == 303, r.text
        # the first fleet page starts the pages-per-day computation (a thread); it then serves
        # from memory until the next meter read: timed separately
        assert c.get("/fleet").status_code == 200
        pages = dashboard.data.pages
        pages.wait(600)
        out.append({"request": "pages per day of the fleet (background, per meter read)",
                    "median_s": pages.seconds, "bytes": 0, "ratio_to_target": None})  # fmt: skip
        print(f"  pages per day of the fleet, computed in the background once per meter read: "
              f"{pages.seconds * 1000:.0f} ms", flush=True)  # fmt: skip
        for label, path in requests_of(printers):
            times, size = [], 0
            for n in range(repeats + 1):
                started = time.perf_counter()
                r = c.get(path)
                elapsed = time.perf_counter() - started
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
                size = len(r.content)
                if n:  # the first is a warm-up
                    times.append(elapsed)
            median = statistics.median(times)
            out.append({"request": label, "path": path, "median_s": median, "bytes": size,
                        "ratio_to_target": median / TARGET_S})  # fmt: skip
            print(f"  {label:34} {median * 1000:7.1f} ms  {size / 1024:7.1f} KiB  "
                  f"{median / TARGET_S:5.2f}x the 300 ms target", flush=True)  # fmt: skip
    return out


def run(
    printers: int, days: int, repeats: int, store_path: Path | None = None, *, check: Any = None
) -> list[dict[str, Any]]:
    """Generate (or reuse ``store_path``), serve, measure; ``check(store, dashboard)`` runs on
    the open store before the server stops (the smoke test's checks)."""
    with tempfile.TemporaryDirectory(prefix="printwatch-dash-bench-") as tmp:
        path = store_path or Path(tmp) / "history.duckdb"
        # the generated history ends now, so that "the last 30 days" and "pages per day" have data
        store_history.START = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).replace(
            tzinfo=None, minute=0, second=0, microsecond=0
        )
        fresh = not path.exists()
        if fresh:
            path.parent.mkdir(parents=True, exist_ok=True)
            Store(path).close()
            started = time.perf_counter()
            con = duckdb.connect(str(path))
            counts = store_history.generate(con, printers, days)
            con.close()
            print(f"generated {days} days for {printers:,} printers in "
                  f"{time.perf_counter() - started:.0f} s: {counts}", flush=True)  # fmt: skip
        with Store(path) as store:
            if fresh:  # a live cycle on top
                store.ingest(store_history.cycle_docs(printers, days, 1))
            ready: queue.Queue[Any] = queue.Queue()
            thread = threading.Thread(target=serve, args=(store, path.parent, ready), daemon=True)
            thread.start()
            url, token, stop, dashboard = ready.get(timeout=60)
            try:
                figures = measure(url, printers, repeats, dashboard)
                if check is not None:
                    check(store, dashboard)
            finally:
                trio.from_thread.run_sync(stop.set, trio_token=token)
                thread.join(timeout=10)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--printers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument(
        "--store", type=Path, default=None, help="keep the generated store here (reused if there)"
    )
    args = parser.parse_args()
    figures = run(args.printers, args.days, args.repeats, args.store)
    worst = max(f["median_s"] for f in figures if f["ratio_to_target"] is not None)
    print(
        f"slowest median {worst * 1000:.0f} ms: {'within' if worst <= TARGET_S else 'OVER'} the 300 ms target"
    )
    if args.results:
        args.results.write_text(
            json.dumps({"printers": args.printers, "days": args.days, "figures": figures}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
