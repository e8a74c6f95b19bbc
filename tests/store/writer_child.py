"""A writer process for the reliability tests: ``python -m tests.store.writer_child MODE PATH``.

``kill``: ingests cycles of 4,000 printers forever, printing ``writing N`` before and ``committed
N`` after each. ``fsize``: ingests under a file size limit (RLIMIT_FSIZE: writes fail with EFBIG as
on a full disk), then lifts it, printing each result as a JSON line.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from datetime import timedelta
from pathlib import Path

from printwatch.store import Store

from tests.store.docs import T0, doc

FLEET = 4000


def cycle(k: int, fleet: int = FLEET) -> list[dict[str, object]]:
    t = T0 + timedelta(minutes=5 * k)
    return [
        doc(
            f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
            t,
            serial=f"SN{i:08d}",
            total=1000 + k * 10 + i,
            toner=90 - k,
        )
        for i in range(fleet)
    ]


def run_kill(path: Path) -> None:
    with Store(path, meter_interval_s=0) as store:
        for k in range(10_000):
            docs = cycle(k)
            print(f"writing {k}", flush=True)
            result = store.ingest(docs)
            assert result.error is None, result.error
            print(f"committed {k}", flush=True)


def run_fsize(path: Path) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    with Store(path, meter_interval_s=0) as store:
        first = store.ingest(cycle(0, 500))
        print(json.dumps({"step": "unlimited", "written": first.written, "error": first.error}), flush=True)
        store.con.execute("CHECKPOINT")
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        # No file may grow past 64 KiB: the write-ahead log of a cycle cannot be written (EFBIG).
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
        for k in (1, 2):
            r = store.ingest(cycle(k, 500))
            print(
                json.dumps({"step": "limited", "written": r.written, "pending": r.pending, "error": r.error}),
                flush=True,
            )
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        r = store.ingest(cycle(3, 500))
        print(
            json.dumps({"step": "lifted", "written": r.written, "pending": r.pending, "error": r.error}),
            flush=True,
        )


if __name__ == "__main__":
    {"kill": run_kill, "fsize": run_fsize}[sys.argv[1]](Path(sys.argv[2]))
