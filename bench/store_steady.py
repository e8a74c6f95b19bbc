"""The store's own cost of a steady status cycle: N unchanged printers through a real ``Store``.

Each cycle gives the store N documents of the poller's answer cache (``Documents``: each printer's
document of its last answer, with this poll's time, RTT and uptime; ``tests/store/docs.py``'s
printer: two meters and a black toner), as the appliance's status job does, and times the three
steps the store runs on them: the registry's serial claims (``check_claims``), the ingestor's
batch (``Ingestor.batch``) and the write (``Store._write``), in CPU seconds of this process and
wall seconds. The first cycle registers every printer; from the second on every device is
settled, which is the steady state of a fleet where nothing changed (docs/benchmarks.md, "The
store's share of a steady cycle").

    python bench/store_steady.py --printers 10000 --cycles 8

A temporary folder holds the store, removed at the end.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    from tests.store.docs import doc, every
except ImportError:  # run as a script: the project root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.store.docs import doc, every

from printwatch.mib.interpret import Answer, Documents
from printwatch.store.store import Store


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printers", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=8, help="status cycles (default 8)")
    args = parser.parse_args(argv)
    if args.printers < 1 or args.cycles < 3:
        parser.error("at least 1 printer and 3 cycles (the first registers, the second settles)")
    addresses = [f"10.{n // 65536}.{n // 256 % 256}.{n % 256}" for n in range(args.printers)]
    t0 = every(1, 1)[0]
    base = {a: doc(a, t0, serial=f"S{i}", total=1000 + i, black=500) for i, a in enumerate(addresses)}
    answers = {a: Answer(a.encode(), d) for a, d in base.items()}
    steady: list[float] = []
    with tempfile.TemporaryDirectory(prefix="printwatch-store-steady-") as folder:
        store = Store(Path(folder) / "history.duckdb")
        try:
            for i, t in enumerate(every(1, args.cycles)):
                stamp = t.strftime("%Y-%m-%dT%H:%M:%SZ")
                docs = []
                for a in addresses:
                    d = {**base[a], "time": stamp, "rtt_ms": 0.4 + (i % 3) / 10}
                    d["sys"] = {**d["sys"], "uptime_s": 1234 + 60 * i}
                    docs.append(d)
                batch_in = Documents(docs, [answers[a] for a in addresses])
                c0, w0 = cpu_s(), time.perf_counter()
                store.registry.check_claims(batch_in, store.settings.max_pages_per_minute)
                c1 = cpu_s()
                batch = store.ingestor.batch(batch_in)
                c2 = cpu_s()
                store._write([batch])
                c3, w3 = cpu_s(), time.perf_counter()
                if i >= 2:
                    steady.append(c3 - c0)
                print(
                    f"cycle {i + 1}: CPU claims {c1 - c0:.3f} s, batch {c2 - c1:.3f} s, "
                    f"write {c3 - c2:.3f} s, total {c3 - c0:.3f} s; wall {w3 - w0:.3f} s; "
                    f"settled hits {store.ingestor.settled_hits}",
                    flush=True,
                )
        finally:
            store.close()
    median = statistics.median(steady)
    print(f"steady cycles (3 on): median CPU {median:.3f} s for {args.printers:,} printers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
