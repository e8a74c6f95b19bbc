"""Bytes on the wire and interpretation CPU of a printer poll with printer semantics (issue 4).

Polls one simulated printer per recording (``../shared/recordings``, identity off) with each
plan of :mod:`printwatch.poller.plans` and prints, per plan, the bytes per printer poll (SNMP
payload both ways, and with 28 bytes of IPv4 + UDP header per datagram), against the bench
workload's plan (``raw``: the system and status scalars and three tables) in the same run; then
the CPU that :func:`printwatch.mib.interpret` spends per printer.

    python bench/poll_bytes.py [--max-repetitions 25] [--rounds 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from printwatch._core import Engine, Plan, Simulator, Target, TargetResult
from printwatch.engine import poll
from printwatch.mib import interpret
from printwatch.poller.documents import vendor_from
from printwatch.poller.plans import STATUS, SYSTEM, base_plan, full_plan, status_plan, vendor_plan

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = Path(
    os.environ.get("PRINTWATCH_RECORDINGS", ROOT.parent / "shared" / "recordings" / "librenms" / "snmprec")
)
HEADER_BYTES = 28
#: The bench workload's plan (bench/workload.py): the scalars, then three tables.
RAW = Plan(
    gets=[*SYSTEM.values(), *STATUS.values()],
    walks=["1.3.6.1.2.1.43.11.1", "1.3.6.1.2.1.43.10.2", "1.3.6.1.2.1.43.18.1"],
)


@dataclass
class Measured:
    printers: int
    #: plan name -> (wire bytes per printer, payload bytes per printer)
    plans: dict[str, tuple[list[int], list[int]]]
    interpret_us: float


def _wire(results: list[TargetResult]) -> list[int]:
    return [
        r.bytes_sent + r.bytes_received + HEADER_BYTES * (r.packets_sent + r.packets_received)
        for r in results
    ]


def _payload(results: list[TargetResult]) -> list[int]:
    return [r.bytes_sent + r.bytes_received for r in results]


def measure(
    recordings: Path, *, max_repetitions: int = 25, rounds: int = 200, base: str = "127.24.0.1"
) -> Measured:
    """Polls one simulated printer per recording with every plan; times interpret()."""
    files = sorted(p for p in recordings.glob("*.snmprec") if "@" not in p.name)
    engine = Engine(timeout_s=1.0, retries=1, max_repetitions=max_repetitions, walk_hints=False)
    hinted = Engine(timeout_s=1.0, retries=1, max_repetitions=max_repetitions)
    prefix = base.rsplit(".", 1)[0]
    hosts = [f"{prefix}.{i + 1}" for i in range(len(files))]
    with Simulator(files, count=len(files), base=base, port=0, identity=False) as sim:

        def run(plans: list[Plan], engine: Engine = engine) -> list[TargetResult]:
            results = poll(
                [Target(h, sim.port, plan=p) for h, p in zip(hosts, plans, strict=True)], engine=engine
            )
            if not all(r.reachable for r in results):
                raise RuntimeError("a simulated printer did not answer")
            return results

        raw = run([RAW] * len(hosts))
        first = run([base_plan()] * len(hosts))
        vendors = [vendor_from(r) for r in first]
        second = run([vendor_plan(v) for v in vendors])
        full = run([full_plan(v) for v in vendors])
        status = run([status_plan()] * len(hosts))
        run([full_plan(v) for v in vendors], hinted)
        full_again = run([full_plan(v) for v in vendors], hinted)
        status_again = run([status_plan()] * len(hosts), hinted)
    plans = {
        "raw (bench workload)": (_wire(raw), _payload(raw)),
        "base plan": (_wire(first), _payload(first)),
        "vendor plan": (_wire(second), _payload(second)),
        "two-step (poll CLI)": (
            [a + b for a, b in zip(_wire(first), _wire(second), strict=True)],
            [a + b for a, b in zip(_payload(first), _payload(second), strict=True)],
        ),
        "full plan (one step)": (_wire(full), _payload(full)),
        "full plan, again": (_wire(full_again), _payload(full_again)),
        "status plan": (_wire(status), _payload(status)),
        "status plan, again": (_wire(status_again), _payload(status_again)),
    }
    start = time.process_time()
    for _ in range(rounds):
        for a, b in zip(first, second, strict=True):
            interpret(a, b, time="2026-11-30T10:00:00Z")
    interpret_us = (time.process_time() - start) / (max(rounds, 1) * len(hosts)) * 1e6
    return Measured(len(hosts), plans, interpret_us)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=RECORDINGS)
    parser.add_argument("--max-repetitions", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=200, help="interpretations timed per printer")
    args = parser.parse_args(argv)
    m = measure(args.recordings, max_repetitions=args.max_repetitions, rounds=args.rounds)
    raw_mean = statistics.mean(m.plans["raw (bench workload)"][0])
    print(f"{m.printers} printers (one per recording), max-repetitions {args.max_repetitions}")
    print(f"{'plan':<24} {'wire B mean':>11} {'median':>7} {'max':>6} {'payload mean':>13} {'x raw':>6}")
    for name, (wire, payload) in m.plans.items():
        print(
            f"{name:<24} {statistics.mean(wire):>11.0f} {statistics.median(wire):>7.0f} {max(wire):>6} "
            f"{statistics.mean(payload):>13.0f} {statistics.mean(wire) / raw_mean:>6.2f}"
        )
    print(f"interpret(): {m.interpret_us:.0f} us CPU per printer ({args.rounds} rounds of each recording)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
