"""Poll-cycle client: printwatch's own engine (``printwatch.engine``: Rust, one UDP socket,
``sendmmsg``/``recvmmsg``, every target in flight at once, one request outstanding per target).

The whole fleet is one batch: ``Engine.start`` hands every target over at once and
``Batch.wait`` takes finished targets back in batches (the GIL is released while it waits).
Every result is materialized in Python — each scalar and each walked row becomes a ``VarBind``
object, as pysnmp's and ezsnmp's results are — so the CPU measured includes handing the data to
Python. ``--concurrency`` has no meaning here (the engine keeps every target in flight, paced
by its packets-per-second cap); ``--max-pps`` sets that cap (default: the engine's 10,000).

    python -m bench.clients.printwatch_engine --targets FILE [--max-pps N] [--limit-seconds S]
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.clients._common import Tally, parse_args
from printwatch import __version__
from printwatch.engine import Engine, Plan, Target

NAME = "printwatch_engine"
EXCEPTIONS = {"NoSuchObject", "NoSuchInstance", "EndOfMibView"}


def main() -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--max-pps", type=int, default=10_000)
    extra, rest = pre.parse_known_args()
    args = parse_args(__doc__ or NAME, default_concurrency=1, argv=rest)
    w = args.workload
    engine = Engine(
        timeout_s=w.timeout_s, retries=w.retries, max_repetitions=w.max_repetitions, max_pps=extra.max_pps
    )
    plan = Plan(gets=list(w.scalars), walks=list(w.tables))
    targets = [Target(t.host, t.port, plan=plan, community=t.community, version="2c") for t in args.targets]
    tally = Tally(len(targets))
    start = time.perf_counter()
    batch = engine.start(targets)
    deadline = start + args.limit_seconds
    while True:
        finished = batch.done
        got = batch.wait(0.2)
        for r in got:
            count = sum(1 for vb in r.gets.values() if vb.type not in EXCEPTIONS)
            count += sum(len(rows) for rows in r.walks.values())
            tally.record(r.index, count, None if r.status == "ok" else r.status)
        if not got and finished:
            break
        if time.perf_counter() > deadline:
            batch.cancel()
    wall_s = time.perf_counter() - start
    stats = batch.statistics()
    tally.emit(NAME, wall_s, len(targets), version=__version__, max_pps=extra.max_pps, engine_stats=stats)


if __name__ == "__main__":
    sys.exit(main())
