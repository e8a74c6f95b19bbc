"""Poll-cycle client: printwatch's own engine (``printwatch.engine``: Rust, one UDP socket,
``sendmmsg``/``recvmmsg``, every target in flight at once, one request outstanding per target).

The whole fleet is one batch: ``Engine.start`` hands every target over at once and
``Batch.wait`` takes finished targets back in batches (the GIL is released while it waits).
The rows stay in Rust (``TargetResult.varbind_count`` counts them; only the scalars become
Python ``VarBind`` objects, to leave out the ones the agent lacks): the product hands rows to
the history store in bulk, never one Python object per varbind. ``printwatch_objects`` is the
same client turning every row into a Python object, as pysnmp's and ezsnmp's results are, to
show what that costs. ``--concurrency`` has no meaning here (the engine keeps every target in flight, paced
by its packets-per-second cap); ``--max-pps`` sets that cap (default: ``$PRINTWATCH_MAX_PPS``,
else the engine's 10,000 — the harness passes its environment on, so
``PRINTWATCH_MAX_PPS=50000 python bench/poll_cycle.py`` measures a higher cap).

    python -m bench.clients.printwatch_engine --targets FILE [--max-pps N] [--limit-seconds S]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Sequence

from printwatch import __version__
from printwatch.engine import Engine, Plan, Target, TargetResult, V3Credentials, collect

from bench.clients._common import Tally, parse_args, v3_user

NAME = "printwatch_engine"
EXCEPTIONS = {"NoSuchObject", "NoSuchInstance", "EndOfMibView"}


def main(name: str = NAME, objects: bool = False) -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--max-pps", type=int, default=int(os.environ.get("PRINTWATCH_MAX_PPS", "10000")))
    extra, rest = pre.parse_known_args()
    args = parse_args(__doc__ or NAME, default_concurrency=1, argv=rest)
    w = args.workload
    engine = Engine(
        timeout_s=w.timeout_s, retries=w.retries, max_repetitions=w.max_repetitions, max_pps=extra.max_pps
    )
    plan = Plan(gets=list(w.scalars), walks=list(w.tables))
    # $PRINTWATCH_BENCH_V3: every target over SNMPv3 as that user (bench/v3_cycle.py).
    user = v3_user()
    v3 = V3Credentials(**user) if user else None
    version = "3" if v3 else "2c"
    targets = [
        Target(t.host, t.port, plan=plan, community=t.community, version=version, v3=v3) for t in args.targets
    ]
    tally = Tally(len(targets))

    def record(finished: Sequence[TargetResult]) -> None:
        for r in finished:
            gets = r.gets
            count = sum(1 for vb in gets.values() if vb.type not in EXCEPTIONS)
            if objects:
                count += sum(len(rows) for rows in r.walks.values())
            else:
                # Walks never keep exception values, so every other varbind is a row.
                count += r.varbind_count - len(gets)
            tally.record(r.index, count, None if r.status == "ok" else r.status)

    start = time.perf_counter()
    batch = engine.start(targets)
    # --limit-seconds: the batch is cancelled then (unfinished targets end as `cancelled`).
    limit = threading.Timer(args.limit_seconds, batch.cancel)
    limit.start()
    try:
        collect(batch, on_results=record)
    finally:
        limit.cancel()
    wall_s = time.perf_counter() - start
    stats = batch.statistics()
    tally.emit(
        name,
        wall_s,
        len(targets),
        version=__version__,
        max_pps=extra.max_pps,
        engine_stats=stats,
        snmp=v3.level if v3 else "v2c",
    )


if __name__ == "__main__":
    sys.exit(main())
