"""What every poll-cycle client shares: its command line, the per-target tally and the one JSON
line it prints.

The JSON line (one line on stdout, nothing else there)::

    {"client": "pysnmp_asyncio", "printers": 1000, "answered": 1000, "varbinds": 81234,
     "per_target_varbinds": [81, 80, ...], "errors": {"timeout": 0, ...}, "wall_s": 12.3,
     "concurrency": 500, "config": {...}}

* ``answered``: targets whose every request got a response.
* ``varbinds``: the sum of ``per_target_varbinds``; a target's count is its scalars that came
  back with a value plus every varbind inside a walked table's subtree (``bench/workload.py``).
* ``errors``: per kind (``timeout``, ``snmp_error``, ``not_polled`` when ``--limit-seconds``
  ran out before a target was started, ``other``...), counted once per failed target;
  ``failed_targets`` maps each failed target's index (a string) to its kind.
* ``wall_s``: from the first request to the last result, measured by the client itself (the
  harness also times the whole process, start-up included).
* ``poll_cpu_s``: CPU seconds from argument parsing (after the interpreter started and the
  client's imports ran) to the JSON line, this process and the children it waited for: the poll
  without Python's start-up, comparable with the exporter's CPU during its scrapes.
* optional ``engine_cpu_s`` / ``engine_peak_rss_mb``: when the SNMP work is done by a separate
  long-running process the client drives (prometheus-snmp-exporter), its CPU during the poll and
  its peak RSS; the harness then takes these as the client's CPU and memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from bench.workload import Target, Workload, read_targets
except ImportError:  # pragma: no cover - run from another directory
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.workload import Target, Workload, read_targets


@dataclass
class Args:
    targets: list[Target]
    workload: Workload
    concurrency: int
    limit_seconds: float


def cpu_now() -> float:
    """CPU seconds so far: this process (all threads) and the children it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


_POLL_CPU_START: list[float] = []


def parse_args(description: str, default_concurrency: int, argv: Sequence[str] | None = None) -> Args:
    _POLL_CPU_START[:] = [cpu_now()]
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--targets", type=Path, required=True, help="JSON targets file (bench/workload.py)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=default_concurrency,
        help=f"in flight (default {default_concurrency})",
    )
    parser.add_argument(
        "--limit-seconds",
        type=float,
        default=600.0,
        help="start no new target after this long; the rest count as errors 'not_polled' (default 600)",
    )
    ns = parser.parse_args(argv)
    if ns.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    targets, workload = read_targets(ns.targets)
    return Args(targets, workload, ns.concurrency, ns.limit_seconds)


@dataclass
class Tally:
    """Per-target results, filled in by the client as targets finish."""

    count: int
    varbinds: list[int] = field(default_factory=list)
    failed: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.varbinds = [0] * self.count
        self.failed = ["not_polled"] * self.count

    def record(self, index: int, varbinds: int, error: str | None) -> None:
        self.varbinds[index] = varbinds
        self.failed[index] = error

    def emit(self, client: str, wall_s: float, concurrency: int, **extra: Any) -> None:
        errors = Counter(e for e in self.failed if e is not None)
        line = {
            "client": client,
            "printers": self.count,
            "answered": sum(1 for e in self.failed if e is None),
            "varbinds": sum(self.varbinds),
            "per_target_varbinds": self.varbinds,
            "errors": dict(sorted(errors.items())),
            "failed_targets": {str(i): e for i, e in enumerate(self.failed) if e is not None},
            "wall_s": round(wall_s, 6),
            "poll_cpu_s": round(cpu_now() - _POLL_CPU_START[0], 6) if _POLL_CPU_START else None,
            "concurrency": concurrency,
            **extra,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


#: SNMPv3 for the v3 bench (``bench/v3_cycle.py``): ``user:AUTH:authpass:PRIV:privpass`` (the
#: privacy part may be left out); unset: the clients speak v2c with the targets' community.
V3_ENV = "PRINTWATCH_BENCH_V3"


def v3_user() -> dict[str, str] | None:
    """The SNMPv3 user ``$PRINTWATCH_BENCH_V3`` names, as keyword arguments, or None."""
    import os

    spec = os.environ.get(V3_ENV)
    if not spec:
        return None
    parts = spec.split(":")
    if len(parts) not in (3, 5):
        raise SystemExit(f"{V3_ENV} wants user:AUTH:authpass[:PRIV:privpass], not {spec!r}")
    names = ("user", "auth_proto", "auth_pass", "priv_proto", "priv_pass")
    return dict(zip(names, parts, strict=False))


def oid_tuple(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.strip().lstrip(".").split("."))


def inside(oid: tuple[int, ...], root: tuple[int, ...]) -> bool:
    """Whether ``oid`` lies strictly inside the subtree ``root``."""
    return len(oid) > len(root) and oid[: len(root)] == root


class Deadline:
    """``--limit-seconds``: whether a new target may still be started."""

    def __init__(self, limit_s: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + limit_s

    def passed(self) -> bool:
        return time.monotonic() >= self.end
