"""The MSP console at size (issue 22): how fast its pages answer with S sites x P printers and a
month of their history in the collector's store, served by a real ``collector serve``.

    python bench/console_pages.py [--sites 100] [--printers 100] [--days 30] [--backend postgres]
        [--repeats 15] [--screenshots DIR] [--json bench/results/console_pages.json] [--cache DIR]

**The data** is made by the appliance's own uplink code and received by the collector's own
ingest (``tests/support/console_fleet.py``, shared with the console's test at size, whose
synthetic printers are ``bench/collector_ingest.py``'s) on the collector's store (PostgreSQL from
Debian's packages, initdb'd by ``tests/support/postgres.py``; or DuckDB). No row reaches the
store by another path.

**Measured**: ``collector serve`` in a child process over HTTPS; an admin and a customer (one
site) log in through the login form; each page (HTML, and the JSON and CSV beside it) is asked
``--repeats`` times after one warm-up, one request at a time; the table keeps the median and the
largest (p100 of a few is the honest tail here) latency, as the client sees it (TLS on loopback
included) and the answer's size. ``--screenshots DIR`` saves each page as Debian's Chromium
renders it (Playwright, the admin's session), for the eye. ``--cache DIR`` keeps the filled
PostgreSQL cluster in ``DIR/pg-SxPxD`` and starts it again on the next run of that size instead
of filling (30 days of 100 x 100 take over 20 minutes to fill); the runs then share one store,
which each run's server may change as a serving collector does (migrations, its own tasks).
The goal (issue 22): every page within 200 ms at 10,000 devices across 100 sites on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

try:
    import bench  # noqa: F401
except ImportError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from printwatch.collector import supplies
from printwatch.collector.store import CollectorStore
from printwatch.collector.users import add_user
from printwatch.web.auth.passwords import hash_password

from tests.support.console_fleet import END, fill, serial
from tests.support.ports import free_tcp_port
from tests.support.postgres import run_postgres, start_postgres
from tests.support.tls import Certs, make_certs

PASSWORD = "a console bench password"
GOAL_MS = 200.0
PRINTWATCH = [sys.executable, "-m", "printwatch.cli"]


# -- the server and its pages ---------------------------------------------------------------------


@contextmanager
def serving(store: str, certs: Certs) -> Iterator[str]:
    """``collector serve`` on ``store``; its base URL while the block runs."""
    port = free_tcp_port()
    proc = subprocess.Popen(
        [*PRINTWATCH, "collector", "serve", "--port", str(port), "--cert", str(certs.certfile),
         "--key", str(certs.keyfile), "--store", store, "--duration", "900"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("collector: https://"):
            raise SystemExit(f"collector serve did not start: {line!r}")
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def log_in(client: httpx.Client, user: str) -> None:
    form = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if form.status_code != 200 or csrf is None:
        raise SystemExit(f"no login form: {form.status_code}")
    done = client.post(
        "/console/login", data={"csrf": csrf[1], "user": user, "password": PASSWORD, "next": ""}
    )
    if done.status_code != 303:
        raise SystemExit(f"{user} could not log in: {done.status_code} {done.text[:200]}")


def pages(site: str, device: int) -> list[str]:
    """Every console page (with its JSON and CSV where it has them) at this size."""
    listed = ["/console/sites", "/console/devices", "/console/billing", "/console/supplies"]
    out = [p + ext for p in listed for ext in ("", ".json", ".csv")]
    out += [f"/console/sites/{site}", f"/console/devices/{site}/{device}"]
    out += [f"/console/devices?q={serial(int(site[5:]), device)}", "/console/supplies?offset=1000"]
    # The JSON API's lists (a page of each, as the console's session may ask) and the CSV export.
    return [
        *out, "/api/reads", "/api/reorders", "/api/counters", "/api/missing", "/api/supplies",
        "/api/supplies.csv",
    ]  # fmt: skip


def measure(client: httpx.Client, path: str, repeats: int) -> dict[str, Any] | None:
    """Median and largest latency of ``path`` (ms), its size; None where the console has no such
    page (404) yet; a page slower than the client's timeout is recorded as such, not repeated."""
    started = time.perf_counter()
    try:
        first = client.get(path)
    except httpx.TimeoutException:
        waited = round((time.perf_counter() - started) * 1000, 1)
        return {"path": path, "p50_ms": waited, "max_ms": waited, "bytes": 0, "timed_out": True}
    if first.status_code == 404:
        return None
    if first.status_code != 200:
        raise SystemExit(f"{path}: {first.status_code} {first.text[:200]}")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
    return {
        "path": path, "p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
        "bytes": len(first.content),
    }  # fmt: skip


def screenshots(base: str, certs: Certs, cookies: httpx.Cookies, paths: list[str], out: Path) -> list[Path]:
    """Each HTML page as Debian's Chromium renders it, in the admin's session."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            context = browser.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 1000})
            context.add_cookies([{"name": c.name, "value": c.value or "", "url": base} for c in cookies.jar])
            page = context.new_page()
            for path in paths:
                page.goto(base + path)
                name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") + ".png"
                page.screenshot(path=str(out / name), full_page=False)
                saved.append(out / name)
        finally:
            browser.close()
    return saved


# -- the run --------------------------------------------------------------------------------------


def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    site, device = f"site-{min(7, args.sites - 1):05d}", min(42, args.printers)
    with (
        tempfile.TemporaryDirectory(prefix="console-bench-") as tmp,
        _store(args, Path(tmp)) as (where, filled),
    ):
        certs = make_certs(Path(tmp))
        if filled is None:
            store = CollectorStore(where)
            messages = fill(store, args.sites, args.printers, args.days, log)
            hashed = hash_password(PASSWORD)
            add_user(store, "admin", PASSWORD, "admin", now=END.replace(tzinfo=None), password_hash=hashed)
            add_user(store, "acme", PASSWORD, "customer", sites=[site], now=END.replace(tzinfo=None),
                     password_hash=hashed)  # fmt: skip
            store.close()
            if args.cache is not None and args.backend == "postgres":
                (_cached(args) / FILLED).write_text(json.dumps({"messages": messages}) + "\n")
        else:
            messages = filled
            log(f"  the filled store reused from {_cached(args)} ({messages} messages)")
        # Migrated to this printwatch's schema, the supplies queue refreshed as the upload handler
        # does after each upload: before the clock starts (a serve's own first turn finds nothing).
        started = time.monotonic()
        store = CollectorStore(where)
        log(f"  supplies refreshed: {supplies.refresh(store)}")
        store.close()
        log(f"  store opened and refreshed in {time.monotonic() - started:.1f} s")
        rows: dict[str, list[dict[str, Any]]] = {}
        trust = ssl.create_default_context(cafile=str(certs.ca_file))
        with serving(str(where), certs) as base:
            for user in ("admin", "acme"):
                with httpx.Client(base_url=base, verify=trust, timeout=args.timeout_s) as client:
                    log_in(client, user)
                    found = []
                    for path in pages(site, device):
                        found.append(measure(client, path, args.repeats))
                        log(f"  {user} {path}: {found[-1]}")
                    rows[user] = [f for f in found if f is not None]
                    if user == "admin" and args.screenshots:
                        html = [r["path"] for r in rows[user] if not r["path"].endswith((".json", ".csv"))]
                        saved = screenshots(base, certs, client.cookies, html, args.screenshots)
                        log(f"  {len(saved)} screenshots in {args.screenshots}")
    worst = max(r["p50_ms"] for r in rows["admin"])
    return {
        "backend": args.backend, "sites": args.sites, "printers": args.printers, "days": args.days,
        "devices": args.sites * args.printers, "messages": messages, "repeats": args.repeats,
        "load_average": os.getloadavg()[0], "goal_ms": GOAL_MS, "worst_p50_ms": worst,
        "pages": rows,
    }  # fmt: skip


#: Written into a cached cluster's folder once its fill is complete (a fill cut short is redone).
FILLED = "filled.json"


def _cached(args: argparse.Namespace) -> Path:
    """The folder of the PostgreSQL cluster kept for this size under ``--cache``."""
    return args.cache.resolve() / f"pg-{args.sites}x{args.printers}x{args.days}"


@contextmanager
def _store(args: argparse.Namespace, tmp: Path) -> Iterator[tuple[str | Path, int | None]]:
    """Where the store is, and the number of messages when it is already filled (a cache hit)."""
    if args.backend == "duckdb":
        yield tmp / "collector.duckdb", None
        return
    os.chmod(tmp, 0o711)  # the server runs as nobody when this is root: it passes through to its folder
    if args.cache is None:
        (tmp / "pg").mkdir()
        server = start_postgres(tmp / "pg")
        filled = None
    else:
        folder = _cached(args)
        for up in (folder.parent, *folder.parent.parents):
            if up == Path("/"):
                break
            os.chmod(up, os.stat(up).st_mode | 0o011)  # nobody passes through to the cluster
        done = folder / FILLED
        if done.exists():
            server = run_postgres(folder, free_tcp_port())
            filled = int(json.loads(done.read_text())["messages"])
        else:
            shutil.rmtree(folder, ignore_errors=True)  # a fill cut short: made again
            folder.mkdir(parents=True)
            server = start_postgres(folder)
            filled = None
    try:
        yield server.url(), filled
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--printers", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--backend", choices=["postgres", "duckdb"], default="postgres")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--screenshots", type=Path, default=None, metavar="DIR")
    parser.add_argument("--timeout-s", type=float, default=60.0, help="a page slower is recorded as such")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument(
        "--cache", type=Path, default=None, metavar="DIR",
        help="keep the filled PostgreSQL cluster in DIR (one per size) and reuse it: no second fill",
    )  # fmt: skip
    args = parser.parse_args()
    result = run(args, lambda line: print(line, file=sys.stderr, flush=True))
    for user, found in result["pages"].items():
        print(f"{user}: {'page':<48} {'p50 ms':>8} {'max ms':>8} {'bytes':>9}")
        for r in found:
            print(f"{'':<{len(user) + 2}}{r['path']:<48} {r['p50_ms']:>8} {r['max_ms']:>8} {r['bytes']:>9}")
    print(f"worst median {result['worst_p50_ms']} ms (goal {GOAL_MS} ms), load {result['load_average']:.1f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
