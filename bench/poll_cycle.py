"""The five-minute-budget bench (issue 3): one full poll cycle of a simulated printer fleet by
printwatch's engine and by its peers, measured side by side in one run.

    python bench/poll_cycle.py [--printers 1000 10000] [--peers-printers N ...] [--cli-printers 200]
                               [--fleet CLIENT=N[,N]] [--clients NAME ...] [--concurrency CLIENT=N]
                               [--repeats 3] [--peer-repeats 3] [--json PATH | --no-json]

The fleet simulator (``printwatch._core.Simulator``, a Rust thread) runs in this process,
answering every printer on ``127.20.0.1 ..`` from the recordings (printer ``i`` from recording
``i % n``, per-printer identity on, dynamics off). Each client is a separate process
(``python -m bench.clients.<name> --targets FILE``, see ``bench/clients/``) that polls every
printer once with the workload of ``bench/workload.py`` (GET of 8 scalars, GETBULK walks of
the supplies, marker and alert tables) and prints one JSON line. Per run:

* wall s: the client process's whole life (interpreter start-up included) — the client's own
  figure from first request to last result is kept in the JSON as ``client_wall_s``;
* polls/s: printers / wall s;
* CPU s per 1,000 polls: ``ru_utime + ru_stime`` from ``os.wait4`` of the client process, which
  includes every child it waited for (net-snmp's tools). For prometheus-snmp-exporter the
  exporter's own CPU while the scrapes ran (from /proc/PID/stat) is the client CPU; the Python
  scraper's CPU is reported separately (``driver_cpu_s``);
* poll CPU (s per 1,000 polls): the same without Python's start-up — the client's own
  ``poll_cpu_s``, its CPU and its waited-for children's from argument parsing to its JSON line
  (for the exporter, the exporter's CPU during the scrapes, as above). Ratios are given on both;
* bytes/poll: the simulator's UDP payload byte counters (received + sent) over the run, per
  printer; ``wire`` adds 28 bytes of IPv4 + UDP header per datagram;
* peak RSS MB: ``ru_maxrss`` of the client (the largest of it and its waited-for children), or
  the exporter's VmHWM;
* completeness: printers that answered with as many varbinds as their recording holds
  (``bench.workload.expected_varbinds``); a client that returns less is reported as failing.
  ``sim dropped`` counts datagrams the simulator refused (e.g. undecodable requests).

printwatch's own engine (``bench/clients/printwatch_engine.py``) runs on every fleet size in
``--printers`` and on the peers' sizes; it is skipped with a message while the module or
``printwatch._core.Engine`` is missing. The peers run on the fleet sizes of ``PEER_FLEETS``
(``--peers-printers`` sets them for all but net-snmp's tools, which run on ``--cli-printers``;
``--fleet`` sets one client's). Each (client, fleet) runs ``--repeats`` times for
printwatch and ``--peer-repeats`` for the peers, interleaved; the table shows medians. Ratios
are per printer poll, against printwatch on the same fleet size in the same run.

Results are written as JSON (default ``bench/results/latest.json``, committed).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.workload import Workload, expected_per_printer, fleet_targets, write_targets  # noqa: E402

PRINTWATCH = "printwatch_engine"
PEERS = ("printwatch_objects", "pysnmp_asyncio", "ezsnmp", "netsnmp_cli", "snmp_exporter")
CLIENTS = (PRINTWATCH, *PEERS)
IP_UDP_HEADER_BYTES = 28
DEFAULT_RECORDINGS = Path(
    os.environ.get("PRINTWATCH_RECORDINGS", ROOT.parent / "shared" / "recordings" / "librenms" / "snmprec")
)
# The peers' fleet sizes: the fast ones on both of printwatch's, the slow ones on smaller fleets
# (pysnmp takes about 10 ms of CPU per printer; net-snmp's tools spawn 4 processes per printer).
PEER_FLEETS = {
    "printwatch_objects": [1000, 10000],
    "pysnmp_asyncio": [1000],
    "ezsnmp": [1000, 10000],
    "netsnmp_cli": [200],
    "snmp_exporter": [1000, 10000],
}
TARGETS = {
    "printers_10k_s": 10.0,
    "cpu_vs_pysnmp": 100.0,
    "cpu_vs_snmp_exporter": 5.0,
    "bytes_per_poll": 3000,
}


@dataclass
class Run:
    client: str
    printers: int
    repeat: int
    ok: bool
    wall_s: float = float("nan")
    client_wall_s: float = float("nan")
    cpu_s: float = float("nan")
    # CPU of the poll without Python's start-up (the client's own figure; the exporter's CPU
    # during the scrapes).
    poll_cpu_s: float = float("nan")
    driver_cpu_s: float = 0.0
    peak_rss_mb: float = float("nan")
    payload_bytes: int = 0
    datagrams: int = 0
    sim_dropped: int = 0
    answered: int = 0
    complete: int = 0
    short: int = 0
    excess: int = 0
    varbinds: int = 0
    expected_varbinds: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    failure: str = ""

    @property
    def cpu_ms_per_poll(self) -> float:
        return self.cpu_s / self.printers * 1000

    @property
    def poll_cpu_ms_per_poll(self) -> float:
        return self.poll_cpu_s / self.printers * 1000

    @property
    def bytes_per_poll(self) -> float:
        return self.payload_bytes / self.printers

    @property
    def wire_bytes_per_poll(self) -> float:
        return (self.payload_bytes + IP_UDP_HEADER_BYTES * self.datagrams) / self.printers


def availability(client: str) -> str | None:
    """Why ``client`` cannot run here (None when it can)."""
    if importlib.util.find_spec(f"bench.clients.{client}") is None:
        return f"bench/clients/{client}.py does not exist yet"
    if client == "ezsnmp" and importlib.util.find_spec("ezsnmp") is None:
        return "ezsnmp is not installed: pip install -e '.[bench]' (or: make bench)"
    if client == "pysnmp_asyncio" and importlib.util.find_spec("pysnmp") is None:
        return "pysnmp is not installed: pip install -e '.[test]'"
    if client == "netsnmp_cli" and not all(_which(t) for t in ("snmpget", "snmpbulkwalk")):
        return "net-snmp's tools are missing: apt-get install snmp (or: make system-deps)"
    if client == "snmp_exporter" and not _which("prometheus-snmp-exporter"):
        return (
            "prometheus-snmp-exporter is missing: apt-get install prometheus-snmp-exporter (or: make bench)"
        )
    return None


def _which(tool: str) -> bool:
    import shutil

    return shutil.which(tool) is not None


def run_client(
    client: str,
    targets_file: Path,
    printers: int,
    repeat: int,
    sim: Any,
    expected: list[int],
    limit_s: float,
    concurrency: int | None = None,
) -> Run:
    """Runs one client process over the fleet in ``targets_file`` and measures it."""
    run = Run(client, printers, repeat, ok=False)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        before = sim.stats()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                f"bench.clients.{client}",
                "--targets",
                str(targets_file),
                "--limit-seconds",
                f"{limit_s:g}",
                *(["--concurrency", str(concurrency)] if concurrency else []),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        # A hard bound: the client stops starting targets at limit_s; past twice that (and a
        # minute) it is ended, by its PID.
        killer = threading.Timer(2 * limit_s + 60, lambda: os.kill(proc.pid, signal.SIGKILL))
        killer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        run.wall_s = time.perf_counter() - start
        after = sim.stats()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    run.cpu_s = usage.ru_utime + usage.ru_stime
    run.peak_rss_mb = usage.ru_maxrss / 1024
    run.payload_bytes = (after["bytes_received"] - before["bytes_received"]) + (
        after["bytes_sent"] - before["bytes_sent"]
    )
    run.datagrams = (after["received"] - before["received"]) + (after["answered"] - before["answered"])
    run.sim_dropped = after["dropped"] - before["dropped"]
    run.expected_varbinds = sum(expected)
    if proc.returncode != 0:
        run.failure = f"exit status {proc.returncode}: {stderr.strip()[-600:]}"
        return run
    try:
        result = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        run.failure = f"no JSON line on stdout: {stdout[-300:]!r} {stderr[-300:]!r}"
        return run
    got = result["per_target_varbinds"]
    if len(got) != printers or result["printers"] != printers:
        run.failure = f"answered for {len(got)} printers, expected {printers}"
        return run
    run.ok = True
    run.client_wall_s = float(result["wall_s"])
    run.answered = int(result["answered"])
    run.varbinds = int(result["varbinds"])
    run.errors = dict(result.get("errors", {}))
    failed = {int(i) for i in result.get("failed_targets", {})}
    run.complete = sum(
        1 for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g == e and i not in failed
    )
    run.short = sum(1 for g, e in zip(got, expected, strict=True) if g < e)
    run.excess = sum(1 for g, e in zip(got, expected, strict=True) if g > e)
    if result.get("poll_cpu_s") is not None:
        run.poll_cpu_s = float(result["poll_cpu_s"])
    if "engine_cpu_s" in result:
        run.driver_cpu_s = run.cpu_s - float(result["engine_cpu_s"])
        run.cpu_s = float(result["engine_cpu_s"])
        run.poll_cpu_s = run.cpu_s
        run.peak_rss_mb = float(result["engine_peak_rss_mb"])
    run.detail = {
        k: v
        for k, v in result.items()
        if k not in ("per_target_varbinds", "failed_targets", "errors", "client", "printers")
    }
    return run


@dataclass
class Summary:
    client: str
    printers: int
    runs: int
    ok: bool
    wall_s: float
    polls_per_s: float
    cpu_s_per_1000: float
    poll_cpu_s_per_1000: float
    bytes_per_poll: float
    wire_bytes_per_poll: float
    peak_rss_mb: float
    complete: int
    sim_dropped: int
    errors: dict[str, int]
    failure: str = ""


def summarize(runs: list[Run]) -> Summary:
    first = runs[0]
    good = [r for r in runs if r.ok]
    if not good:
        return Summary(
            first.client, first.printers, len(runs), False, *([float("nan")] * 8), 0, 0, {}, first.failure
        )
    med = statistics.median
    errors: dict[str, int] = {}
    for r in good:
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
    return Summary(
        client=first.client,
        printers=first.printers,
        runs=len(good),
        ok=all(r.complete == r.printers for r in good),
        wall_s=med(r.wall_s for r in good),
        polls_per_s=med(r.printers / r.wall_s for r in good),
        cpu_s_per_1000=med(r.cpu_ms_per_poll for r in good),
        poll_cpu_s_per_1000=med(r.poll_cpu_ms_per_poll for r in good),
        bytes_per_poll=med(r.bytes_per_poll for r in good),
        wire_bytes_per_poll=med(r.wire_bytes_per_poll for r in good),
        peak_rss_mb=max(r.peak_rss_mb for r in good),
        complete=min(r.complete for r in good),
        sim_dropped=sum(r.sim_dropped for r in good),
        errors=errors,
    )


def print_table(summaries: list[Summary], skipped: dict[str, str]) -> None:
    head = (
        f"{'client':<18}{'printers':>9}{'runs':>5}{'wall s':>9}{'polls/s':>9}{'CPU s/1k':>10}"
        f"{'poll CPU':>10}{'B/poll':>8}{'wire B':>8}{'RSS MB':>8}  completeness"
    )
    print(head)
    print("-" * len(head))
    for s in summaries:
        if not s.runs:
            print(f"{s.client:<18}{s.printers:>9}  FAILED: {s.failure}")
            continue
        state = "complete" if s.ok else f"INCOMPLETE {s.complete}/{s.printers}"
        if s.errors:
            state += " errors " + ",".join(f"{k}={v}" for k, v in s.errors.items())
        if s.sim_dropped:
            state += f" sim-dropped={s.sim_dropped}"
        print(
            f"{s.client:<18}{s.printers:>9}{s.runs:>5}{s.wall_s:>9.2f}{s.polls_per_s:>9.0f}"
            f"{s.cpu_s_per_1000:>10.3f}{s.poll_cpu_s_per_1000:>10.3f}{s.bytes_per_poll:>8.0f}{s.wire_bytes_per_poll:>8.0f}"
            f"{s.peak_rss_mb:>8.1f}  {state}"
        )
    for client, why in skipped.items():
        print(f"{client:<18}  SKIPPED: {why}")


def ratios(summaries: list[Summary]) -> list[dict[str, Any]]:
    """Per printer poll, each peer against printwatch on the same fleet size (same run)."""
    ours = {s.printers: s for s in summaries if s.client == PRINTWATCH and s.runs}
    out = []
    for s in summaries:
        if s.client == PRINTWATCH or not s.runs or s.printers not in ours:
            continue
        pw = ours[s.printers]
        out.append(
            {
                "peer": s.client,
                "printers": s.printers,
                "cpu_per_poll_ratio": s.cpu_s_per_1000 / pw.cpu_s_per_1000,
                "poll_cpu_per_poll_ratio": s.poll_cpu_s_per_1000 / pw.poll_cpu_s_per_1000,
                "wall_per_poll_ratio": (s.wall_s / s.printers) / (pw.wall_s / pw.printers),
                "bytes_per_poll_ratio": s.bytes_per_poll / pw.bytes_per_poll,
            }
        )
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--printers", type=int, nargs="+", default=[1000, 10000], help="printwatch's fleet sizes"
    )
    parser.add_argument(
        "--peers-printers",
        type=int,
        nargs="+",
        help="every peer's fleet sizes but net-snmp's tools' (default: "
        + "; ".join(f"{c} {' '.join(map(str, n))}" for c, n in PEER_FLEETS.items() if c != "netsnmp_cli")
        + ")",
    )
    parser.add_argument(
        "--cli-printers", type=int, default=PEER_FLEETS["netsnmp_cli"][0], help="net-snmp's tools' fleet size"
    )
    parser.add_argument(
        "--fleet",
        nargs="+",
        default=[],
        metavar="CLIENT=N[,N]",
        help="one client's fleet sizes, e.g. ezsnmp=500",
    )
    parser.add_argument("--clients", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    parser.add_argument("--repeats", type=int, default=3, help="runs per fleet size for printwatch (median)")
    parser.add_argument(
        "--peer-repeats", type=int, default=3, help="runs per fleet size for each peer (median)"
    )
    parser.add_argument("--recordings", type=Path, default=DEFAULT_RECORDINGS)
    parser.add_argument("--base", default="127.20.0.1", help="the first simulated printer's address")
    parser.add_argument(
        "--limit-seconds", type=float, default=300.0, help="per client run (the 5-minute budget)"
    )
    parser.add_argument(
        "--concurrency",
        nargs="+",
        default=[],
        metavar="CLIENT=N",
        help="override a client's default concurrency, e.g. pysnmp_asyncio=100",
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument("--no-json", action="store_true", help="do not write the JSON results")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    ns = parser.parse_args(argv)

    from printwatch._core import Simulator

    concurrency = _concurrency(ns.concurrency, parser)
    fleets = _fleets(ns, parser)
    skipped = {c: why for c in ns.clients if (why := availability(c)) is not None}
    for client, why in skipped.items():
        print(f"SKIPPING {client}: {why}", flush=True)
    plan = _plan([c for c in ns.clients if c not in skipped], fleets, ns.repeats, ns.peer_repeats)
    if not plan:
        print("nothing to run", file=sys.stderr)
        return 2
    fleet = max(n for _, n, _ in plan)
    workload = Workload()
    runs: dict[tuple[str, int], list[Run]] = {(c, n): [] for c, n, _ in plan}
    started = datetime.datetime.now(datetime.UTC)
    with (
        tempfile.TemporaryDirectory(prefix="pw-poll-cycle-") as tmp,
        Simulator(
            str(ns.recordings), count=fleet, base=ns.base, port=0, identity=True, dynamics=False
        ) as sim,
    ):
        recordings = [ns.recordings / f"{name}.snmprec" for name in sim.recordings]
        expected_all = expected_per_printer(recordings, fleet, workload)
        print(
            f"simulator: {fleet} printers {sim.first}..{sim.last} port {sim.port}, "
            f"{len(recordings)} recordings; workload: {len(workload.scalars)} scalars, "
            f"{len(workload.tables)} tables, max-repetitions {workload.max_repetitions}",
            flush=True,
        )
        files: dict[int, Path] = {}
        for n in sorted({n for _, n, _ in plan}):
            files[n] = Path(tmp) / f"targets-{n}.json"
            write_targets(files[n], fleet_targets(sim.first, n, sim.port), workload)
        _run_plan(plan, runs, files, sim, expected_all, ns.limit_seconds, concurrency)
        sim_stats = dict(sim.stats())

    summaries = [summarize(rs) for rs in runs.values()]
    print()
    print_table(summaries, skipped)
    rows = ratios(summaries)
    _print_ratios(rows, skipped)
    if not ns.no_json:
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        ns.json.write_text(
            json.dumps(
                {
                    "started": started.isoformat(timespec="seconds"),
                    "machine": {
                        "cpus": os.cpu_count(),
                        "python": platform.python_version(),
                        "platform": platform.platform(),
                    },
                    "workload": workload.to_json(),
                    "fleet": fleet,
                    "targets": TARGETS,
                    "skipped": skipped,
                    "summaries": [asdict(s) for s in summaries],
                    "ratios": rows,
                    "runs": [asdict(r) for rs in runs.values() for r in rs],
                    "simulator": sim_stats,
                },
                indent=1,
                default=str,
            )
            + "\n"
        )
        print(f"\nresults: {ns.json}")
    failed = [s for s in summaries if not s.runs]
    return 1 if failed else 0


def _concurrency(items: list[str], parser: argparse.ArgumentParser) -> dict[str, int]:
    """``--concurrency``: a client's concurrency by name (a bad item ends with the usage)."""
    concurrency = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in CLIENTS or not value.isdigit():
            parser.error(f"--concurrency wants CLIENT=N with CLIENT one of {', '.join(CLIENTS)}: {item!r}")
        concurrency[name] = int(value)
    return concurrency


def _fleets(ns: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, list[int]]:
    """Each client's fleet sizes: the defaults, then ``--peers-printers``, ``--cli-printers``,
    ``--printers`` and each ``--fleet`` (a bad item ends with the usage)."""
    fleets = {c: list(n) for c, n in PEER_FLEETS.items()}
    if ns.peers_printers:
        fleets.update({c: list(ns.peers_printers) for c in PEERS if c != "netsnmp_cli"})
    fleets["netsnmp_cli"] = [ns.cli_printers]
    fleets[PRINTWATCH] = list(ns.printers)
    for item in ns.fleet:
        name, _, value = item.partition("=")
        sizes = value.split(",")
        if name not in CLIENTS or not all(v.isdigit() and int(v) > 0 for v in sizes):
            parser.error(f"--fleet wants CLIENT=N[,N] with CLIENT one of {', '.join(CLIENTS)}: {item!r}")
        fleets[name] = [int(v) for v in sizes]
    return fleets


def _plan(
    active: list[str], fleets: dict[str, list[int]], repeats: int, peer_repeats: int
) -> list[tuple[str, int, int]]:
    """(client, printers, repeats) for each client that runs."""
    plan: list[tuple[str, int, int]] = []
    for client in active:
        if client == PRINTWATCH:
            # Its own sizes, and every size a peer runs on, so each ratio compares equal fleets.
            sizes = set(fleets[PRINTWATCH]).union(*(fleets[c] for c in active if c != PRINTWATCH))
            plan += [(client, n, repeats) for n in sorted(sizes)]
        else:
            plan += [(client, n, peer_repeats) for n in fleets[client]]
    return plan


def _run_plan(
    plan: list[tuple[str, int, int]],
    runs: dict[tuple[str, int], list[Run]],
    files: dict[int, Path],
    sim: Any,
    expected_all: list[int],
    limit_s: float,
    concurrency: dict[str, int],
) -> None:
    """The plan's runs into ``runs``, interleaved: round r runs every (client, size) that
    still wants a repeat."""
    for r in range(max(k for _, _, k in plan)):
        for client, n, k in plan:
            if r >= k:
                continue
            run = run_client(client, files[n], n, r, sim, expected_all[:n], limit_s, concurrency.get(client))
            runs[(client, n)].append(run)
            status = "ok" if run.ok else f"FAILED: {run.failure}"
            print(
                f"  {client:<18} {n:>6} printers  run {r + 1}: wall {run.wall_s:7.2f} s  "
                f"CPU {run.cpu_s:7.2f} s  complete {run.complete}/{n}  {status}",
                flush=True,
            )


def _print_ratios(rows: list[dict[str, Any]], skipped: dict[str, str]) -> None:
    if rows:
        print("\nratios per printer poll, peer / printwatch (same fleet size, same run):")
        for row in rows:
            print(
                f"  {row['peer']:<18} {row['printers']:>6} printers: CPU x{row['cpu_per_poll_ratio']:.1f}  "
                f"poll CPU x{row['poll_cpu_per_poll_ratio']:.1f}  "
                f"wall x{row['wall_per_poll_ratio']:.1f}  bytes x{row['bytes_per_poll_ratio']:.2f}"
            )
    elif PRINTWATCH in skipped:
        print(f"\nno ratios: {PRINTWATCH} was skipped ({skipped[PRINTWATCH]})")


if __name__ == "__main__":
    sys.exit(main())
