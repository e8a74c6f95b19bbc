"""The alerts' cost in a status cycle: evaluation beside the store's write of the same cycle.

A fleet of N printers (default 10,000), each status cycle one contract-shaped document per
printer (four supplies falling at their own rate, one printer in 10 low on some supply, one in
50 with a fault that comes and goes, one in 30 not answering for a few cycles in a row). Each
cycle is written with ``Store.ingest`` and then evaluated with ``AlertService.evaluate`` (the
rules, the hysteresis counters, the alert log and the outbox in one transaction), both on the
same file in the same run; the report gives the medians and the ratio evaluation / write.

    .venv/bin/python bench/alerts_cycle.py --printers 10000 --cycles 8
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from printwatch.alerts import AlertService
from printwatch.config.model import WebhookConfig
from printwatch.store import Store

T0 = dt.datetime(2026, 11, 2, 8, 0, 0)
COLORS = ("black", "cyan", "magenta", "yellow")


def document(i: int, cycle: int, when: dt.datetime) -> dict[str, Any]:
    target = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:161"
    time_ = when.isoformat() + "Z"
    if i % 30 == 7 and cycle % 8 in (2, 3, 4, 5):
        return {"target": target, "reachable": False, "error": "timeout", "time": time_}
    supplies = []
    for k, color in enumerate(COLORS):
        percent = max(0.0, 90.0 - (i % 97 + k * 7) * 0.8 - cycle * 0.3)
        if i % 10 == 3 and k == 1:
            percent = 8.0
        state = "empty" if percent <= 0 else ("low" if percent <= 20 else "ok")
        supplies.append(
            {
                "index": k + 1,
                "description": f"{color.title()} Toner",
                "type": "toner",
                "class": "consumed",
                "color": color,
                "unit": "percent",
                "max_capacity": 100,
                "level": int(percent),
                "percent": percent,
                "state": state,
                "coarse": False,
                "flags": [],
            }
        )
    errors = ["jammed"] if i % 50 == 11 and cycle % 3 == 0 else []
    return {
        "target": target,
        "reachable": True,
        "version": "2c",
        "rtt_ms": 0.5,
        "time": time_,
        "sys": {"descr": "Bench MFP", "object_id": "1.3.6.1.4.1.11", "name": f"mfp-{i}", "uptime_s": 1000},
        "vendor": "hp",
        "model": "Bench 500",
        "serial": f"BNCH{i:07d}",
        "mac": None,
        "status": {"device": "running", "printer": "idle", "errors": errors},
        "meters": {"total": 10_000 + i + 20 * cycle},
        "meter_evidence": {},
        "supplies": supplies,
        "trays": [],
        "alerts": [],
        "warnings": [],
    }


def run(printers: int, cycles: int, workdir: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    store = Store(workdir / "alerts-bench.duckdb", poll_interval_s=300, meter_interval_s=3600)
    # A webhook channel, so that every opening and closing queues a notification too.
    service = AlertService(store, webhooks=(WebhookConfig(url="http://127.0.0.1:9/unused"),))
    write_s: list[float] = []
    eval_s: list[float] = []
    opened = closed = 0
    try:
        for c in range(cycles):
            when = T0 + dt.timedelta(minutes=5 * c)
            docs = [document(i, c, when) for i in range(printers)]
            t0 = time.perf_counter()
            result = store.ingest(docs)
            t1 = time.perf_counter()
            outcome = service.evaluate(docs)
            t2 = time.perf_counter()
            assert result.error is None and not result.refused
            write_s.append(t1 - t0)
            eval_s.append(t2 - t1)
            opened += len(outcome.opened)
            closed += len(outcome.closed)
            log(
                f"cycle {c}: write {t1 - t0:.3f} s, alerts {t2 - t1:.3f} s "
                f"({len(outcome.opened)} opened, {len(outcome.closed)} closed, {outcome.still_open} open)"
            )
        row = store.reader().execute("SELECT count(*) FROM alert_outbox").fetchone()
        queued = int(row[0]) if row else 0
    finally:
        store.close()
    # The first cycle creates every device and supply: the steady state is the rest.
    steady_w, steady_e = write_s[1:] or write_s, eval_s[1:] or eval_s
    out = {
        "printers": printers,
        "cycles": cycles,
        "write_median_s": statistics.median(steady_w),
        "alerts_median_s": statistics.median(steady_e),
        "alerts_over_write": statistics.median(steady_e) / statistics.median(steady_w),
        "first_cycle": {"write_s": write_s[0], "alerts_s": eval_s[0]},
        "opened": opened,
        "closed": closed,
        "notifications_queued": queued,
    }
    return out


def report(out: dict[str, Any]) -> str:
    return (
        f"{out['printers']} printers, {out['cycles']} status cycles: store write median "
        f"{out['write_median_s']:.3f} s, alerts evaluation median {out['alerts_median_s']:.3f} s "
        f"(alerts/write {out['alerts_over_write']:.2f}); {out['opened']} alerts opened, "
        f"{out['closed']} closed, {out['notifications_queued']} notifications queued"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printers", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="printwatch-alerts-bench-") as tmp:
        out = run(args.printers, args.cycles, Path(tmp), log=lambda s: print(s, file=sys.stderr))
    print(report(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
