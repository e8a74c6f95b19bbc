"""The SNMPv3 bench (issue 10): one poll cycle of the same simulated fleet over SNMPv3
authPriv and over v2c, by printwatch's engine and by pysnmp, side by side in one run.

    python bench/v3_cycle.py [--printers 1000] [--pysnmp-printers 300] [--repeats 3]
                             [--auth SHA-256] [--priv AES] [--json PATH]

The fleet simulator (``printwatch._core.Simulator``) runs in this process and answers every
printer both ways: v2c with the community, v3 as one USM user (every printer its own engine ID,
so every printer costs a discovery, a key localization and per-message HMAC and encryption).
Each client is a separate process polling every printer once with the poll-cycle workload
(``bench/workload.py``), measured as ``bench/poll_cycle.py`` measures (wall, CPU of the client
process from ``wait4``, the client's own poll CPU without start-up, bytes on the wire,
completeness); ``$PRINTWATCH_BENCH_V3`` tells a client to speak v3. Medians over ``--repeats``
interleaved runs; the ratios are per printer poll, in the same run:

* printwatch v3 / printwatch v2c — what SNMPv3 authPriv costs the engine;
* pysnmp v3 / printwatch v3 — printwatch's advantage over the reference stack with v3 on;
* pysnmp v3 / pysnmp v2c — the same cost for pysnmp, for scale.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.clients._common import V3_ENV  # noqa: E402
from bench.poll_cycle import DEFAULT_RECORDINGS, Run, Summary, print_table, run_client, summarize  # noqa: E402
from bench.workload import Workload, expected_per_printer, fleet_targets, write_targets  # noqa: E402

USER, AUTH_PASS, PRIV_PASS = "printwatch", "bench-auth-secret", "bench-priv-secret"


def measure(
    label: str, client: str, v3_spec: str | None, targets: Path, n: int, sim: Any, expected: list[int]
) -> Run:
    """One client run; ``v3_spec`` goes to the client in ``$PRINTWATCH_BENCH_V3``."""
    if v3_spec:
        os.environ[V3_ENV] = v3_spec
    try:
        run = run_client(client, targets, n, 0, sim, expected, limit_s=300.0)
    finally:
        os.environ.pop(V3_ENV, None)
    run.client = label
    return run


def ratio(a: Summary | None, b: Summary | None, field: str) -> float | None:
    if a is None or b is None or not a.runs or not b.runs:
        return None
    x, y = getattr(a, field), getattr(b, field)
    return round(x / y, 2) if y else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recordings", type=Path, default=DEFAULT_RECORDINGS)
    parser.add_argument("--printers", type=int, default=1000, help="printwatch's fleet (default 1000)")
    parser.add_argument(
        "--pysnmp-printers", type=int, default=300, help="pysnmp's fleet, 0 to skip it (default 300)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--auth", default="SHA-256", help="authentication protocol (default SHA-256)")
    parser.add_argument("--priv", default="AES", help="privacy protocol (default AES = AES-128)")
    parser.add_argument("--base", default="127.22.0.1")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "v3_latest.json")
    parser.add_argument("--no-json", action="store_true")
    ns = parser.parse_args(argv)

    from printwatch._core import Simulator, V3Credentials

    user = V3Credentials(USER, ns.auth, AUTH_PASS, ns.priv, PRIV_PASS)
    spec = f"{USER}:{ns.auth}:{AUTH_PASS}:{ns.priv}:{PRIV_PASS}"
    workload = Workload()
    plan = [
        ("printwatch v2c", "printwatch_engine", None, ns.printers),
        ("printwatch v3", "printwatch_engine", spec, ns.printers),
    ]
    if ns.pysnmp_printers:
        plan += [
            ("printwatch v3", "printwatch_engine", spec, ns.pysnmp_printers),
            ("pysnmp v2c", "pysnmp_asyncio", None, ns.pysnmp_printers),
            ("pysnmp v3", "pysnmp_asyncio", spec, ns.pysnmp_printers),
        ]
    plan = list(dict.fromkeys(plan))  # the same (label, size) once
    fleet = max(n for *_, n in plan)
    runs: dict[tuple[str, int], list[Run]] = {(label, n): [] for label, _, _, n in plan}
    started = datetime.datetime.now(datetime.UTC)
    with (
        tempfile.TemporaryDirectory(prefix="pw-v3-cycle-") as tmp,
        Simulator(str(ns.recordings), count=fleet, base=ns.base, port=0, v3=user) as sim,
    ):
        recordings = [ns.recordings / f"{name}.snmprec" for name in sim.recordings]
        expected = expected_per_printer(recordings, fleet, workload)
        print(
            f"simulator: {fleet} printers {sim.first}..{sim.last} port {sim.port}, v3 user {USER} "
            f"({user.level}, {user.auth_proto}/{user.priv_proto}) and community public",
            flush=True,
        )
        files: dict[int, Path] = {}
        for n in {n for *_, n in plan}:
            files[n] = Path(tmp) / f"targets-{n}.json"
            write_targets(files[n], fleet_targets(sim.first, n, sim.port), workload)
        for r in range(ns.repeats):
            for label, client, v3_spec, n in plan:
                run = measure(label, client, v3_spec, files[n], n, sim, expected[:n])
                runs[(label, n)].append(run)
                state = "ok" if run.ok else f"FAILED: {run.failure}"
                print(
                    f"  {label:<16} {n:>6} printers  run {r + 1}: wall {run.wall_s:6.2f} s  "
                    f"poll CPU {run.poll_cpu_s:6.2f} s  complete {run.complete}/{n}  {state}",
                    flush=True,
                )

    summaries = {key: summarize(rs) for key, rs in runs.items()}
    print()
    print_table(list(summaries.values()), {})
    rows = [
        ("printwatch v3 / printwatch v2c", ("printwatch v3", ns.printers), ("printwatch v2c", ns.printers)),
        (
            "pysnmp v3 / printwatch v3",
            ("pysnmp v3", ns.pysnmp_printers),
            ("printwatch v3", ns.pysnmp_printers),
        ),
        ("pysnmp v3 / pysnmp v2c", ("pysnmp v3", ns.pysnmp_printers), ("pysnmp v2c", ns.pysnmp_printers)),
    ]
    print()
    print(f"{'ratio (per printer poll)':<34}{'printers':>9}{'poll CPU':>10}{'CPU':>8}{'wall':>8}{'bytes':>8}")
    out_ratios = []
    for name, a_key, b_key in rows:
        a, b = summaries.get(a_key), summaries.get(b_key)
        if a is None or b is None:
            continue
        r = {
            "ratio": name,
            "printers": a_key[1],
            "poll_cpu": ratio(a, b, "poll_cpu_s_per_1000"),
            "cpu": ratio(a, b, "cpu_s_per_1000"),
            "wall": ratio(a, b, "wall_s"),
            "bytes": ratio(a, b, "bytes_per_poll"),
        }
        out_ratios.append(r)
        print(
            f"{name:<34}{a_key[1]:>9}"
            + "".join(
                f"{str(r[k]) + 'x':>{w}}"
                for k, w in (("poll_cpu", 10), ("cpu", 8), ("wall", 8), ("bytes", 8))
            )
        )
    if not ns.no_json:
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "bench": "v3_cycle",
            "started": started.isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "security": {"auth": user.auth_proto, "priv": user.priv_proto, "level": user.level},
            "summaries": [{**asdict(s), "label": s.client} for s in summaries.values()],
            "ratios": out_ratios,
        }
        ns.json.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"\nresults: {ns.json.relative_to(ROOT) if ns.json.is_relative_to(ROOT) else ns.json}")
    ok = all(s.ok for s in summaries.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
