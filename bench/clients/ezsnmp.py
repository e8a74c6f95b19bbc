"""Poll-cycle client: ezsnmp 2 (net-snmp's C library, bundled in the wheel, under a C++/SWIG
Python binding). Its calls are synchronous; they release the GIL while they wait for the agent
(checked: a thread blocked in a timing-out ``get`` does not slow the main thread), but building
and decoding each request and turning every varbind into a Python ``Result`` runs under the GIL.

For its best showing on two cores it runs ``--processes`` worker processes (default: one per
core), each with a thread pool: ``--concurrency`` (default 16) printers in flight in all, split
evenly. Threads alone keep one core busy at most (the GIL); more threads only add contention
(measured on 2,000 printers: 2 processes x 8 threads took 0.65 ms of CPU per poll, 1 x 64 took
0.8-1.2 ms, 2 x 64 0.8 ms, 4 x 16 0.85 ms).

Per printer, in its own ``Session`` (v2c, numeric OIDs, the workload's community, timeout,
retries and max-repetitions): ``get`` of the scalars, then one ``bulk_walk`` per table
(``bulk_walk`` of several roots at once walks only the first). Exception values
(NOSUCHOBJECT/NOSUCHINSTANCE/ENDOFMIBVIEW: ezsnmp answers an empty table's walk with one, and a
walk that reaches the end of the agent's MIB with up to max-repetitions of them) are not
counted.

    python -m bench.clients.ezsnmp --targets FILE [--concurrency N] [--processes P] [--limit-seconds S]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from multiprocessing.connection import Connection

try:
    import ezsnmp
except ImportError as err:  # pragma: no cover - depends on the environment
    sys.exit(
        f"ezsnmp is not installed ({err}); install it with: pip install -e '.[bench]'  (or `make bench`)"
    )

from bench.clients._common import Deadline, Tally, inside, oid_tuple, parse_args
from bench.workload import Target, Workload

NAME = "ezsnmp"
EXCEPTION_TYPES = {"NOSUCHOBJECT", "NOSUCHINSTANCE", "ENDOFMIBVIEW"}


def _is_value(result: ezsnmp.Result) -> bool:
    # ezsnmp 2.5 quirk: a walk that reaches the end of the agent's MIB returns the endOfMibView
    # varbinds as results (up to max-repetitions of them), each repeating the last OID, with the
    # message "No more variables left in this MIB View ..." as their *type*.
    kind = str(result.type)
    return kind not in EXCEPTION_TYPES and not kind.startswith("No more variables")


def _full_oid(result: ezsnmp.Result) -> tuple[int, ...]:
    # ezsnmp splits an OID into .oid and .index (the last arc(s)), both numeric with print_oids_numerically.
    index = str(result.index)
    return oid_tuple(f"{result.oid}.{index}" if index else str(result.oid))


def poll_one(target: Target, workload: Workload) -> tuple[int, str | None]:
    try:
        session = ezsnmp.Session(
            hostname=target.host,
            port_number=target.port,
            version=2,
            community=target.community,
            timeout=max(1, round(workload.timeout_s)),
            retries=workload.retries,
            print_oids_numerically=True,
            set_max_repeaters_to_num=workload.max_repetitions,
        )
    except ezsnmp.ConnectionError:
        return 0, "connection"
    try:
        count = sum(1 for r in session.get(list(workload.scalars)) if _is_value(r))
        for table in workload.tables:
            root = oid_tuple(table)
            rows = session.bulk_walk([table])
            count += sum(1 for r in rows if _is_value(r) and inside(_full_oid(r), root))
    except ezsnmp.TimeoutError:
        return 0, "timeout"
    except ezsnmp.PacketError:
        return 0, "snmp_error"
    except ezsnmp.GenericError:
        return 0, "other"
    finally:
        session.close()
    return count, None


def _worker(
    targets: list[tuple[int, Target]], workload: Workload, threads: int, end: float, out: Connection
) -> None:
    results: list[tuple[int, int, str | None]] = []

    def work(item: tuple[int, Target]) -> None:
        if time.monotonic() >= end:
            return
        count, error = poll_one(item[1], workload)
        results.append((item[0], count, error))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, targets))
    out.send(results)
    out.close()


def main() -> None:
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    ns, rest = extra.parse_known_args()
    args = parse_args(__doc__ or NAME, default_concurrency=16, argv=rest)
    processes = max(1, min(ns.processes, args.concurrency, len(args.targets) or 1))
    threads = max(1, args.concurrency // processes)
    tally = Tally(len(args.targets))
    deadline = Deadline(args.limit_seconds)
    indexed = list(enumerate(args.targets))
    # fork: the workers inherit the parsed targets and the loaded library; no thread exists yet.
    ctx = multiprocessing.get_context("fork")
    start = time.perf_counter()
    workers = []
    for p in range(processes):
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker, args=(indexed[p::processes], args.workload, threads, deadline.end, send)
        )
        proc.start()
        send.close()
        workers.append((proc, receive))
    for proc, receive in workers:
        try:
            for index, count, error in receive.recv():
                tally.record(index, count, error)
        except EOFError:  # the worker died: its targets stay 'not_polled'
            pass
        proc.join()
    wall_s = time.perf_counter() - start
    tally.emit(
        NAME,
        wall_s,
        args.concurrency,
        processes=processes,
        threads_per_process=threads,
        version=metadata.version("ezsnmp"),
    )


if __name__ == "__main__":
    main()
