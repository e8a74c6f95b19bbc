"""The discovery bench: sweep a network of loopback addresses with simulated printers scattered
through it, and compare the ICMP part with fping over the same range in the same run.

    python bench/discovery.py                       # a /16, 2,000 printers, 10,000 packets/s
    python bench/discovery.py --network 127.40.0.0/22 --printers 50 --repeats 1

Each repeat runs, one after another (interleaved across repeats), each in its own process:

* ``discover-snmp`` — printwatch's discovery with ``--mode snmp``: one SNMP GET per address,
  then identification of the agents;
* ``discover-icmp`` — ``--mode icmp``: an ICMP echo per address, then the same SNMP probe and
  identification of every address that answered (on loopback the kernel answers for all of
  them, so this costs an echo more per address than ``snmp``);
* ``icmp-printwatch`` — printwatch's ICMP sweep alone (``IcmpSweep``, no SNMP);
* ``icmp-fping`` — ``fping -g NETWORK -r 0 -t TIMEOUT -i 1000/RATE -q -a`` (Debian's fping),
  the same range, the same number of probes, paced at the same rate.

It reports per run: wall time (``wall_s``: from the start of the sweep to its end, inside the
process; fping's is its whole process), CPU (``work_cpu_s``: the sweep's own, all threads,
without Python's start-up; ``cpu_s``: the whole process from ``wait4``), packets and bytes
sent (payload; with IP/UDP headers), printers found and with their serial; and the ratios
fping / printwatch for the ICMP part. Medians of the repeats; the JSON goes to ``--out``
(default ``bench/results/discovery.json``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.discovery_fleet import printer_recordings  # noqa: E402

#: fping's default ICMP payload is 56 bytes: 64 bytes of ICMP per echo request.
FPING_ICMP_BYTES = 64
RUNS = ("discover-snmp", "discover-icmp", "icmp-printwatch", "icmp-fping")


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One run inside this (child) process; prints its JSON line."""
    import trio
    from printwatch.discovery import Discovery, IcmpSweep, Options, expand_networks, icmp_kind

    started, cpu_started = time.perf_counter(), time.process_time()
    if args.child == "icmp-printwatch":
        kind = icmp_kind()
        if kind is None:
            return {"skipped": "no ICMP socket may be opened here"}
        addresses = expand_networks([args.network])
        sweep = IcmpSweep(addresses, kind=kind, timeout_s=args.timeout, retries=0, max_pps=args.rate)
        alive = 0
        while True:
            finished = sweep.done
            got = sweep.wait(0.2)
            alive += len(got)
            if finished and not got:
                break
        s = sweep.statistics()
        return {
            "wall_s": time.perf_counter() - started,
            "work_cpu_s": time.process_time() - cpu_started,
            "addresses": len(addresses),
            "alive": alive,
            "packets_sent": s["packets_sent"],
            "bytes_sent": s["bytes_sent"],
            "wire_bytes_sent": s["bytes_sent"] + 20 * s["packets_sent"],
        }
    mode = "snmp" if args.child == "discover-snmp" else "icmp"
    d = Discovery(
        [args.network], Options(port=args.port, mode=mode, max_pps=args.rate, timeout_s=args.timeout)
    )
    trio.run(d.run)
    printers = d.printers
    summary = d.summary()
    phases = summary["phases"]
    assert isinstance(phases, dict)
    beyond = sum(phases.get(k, {}).get("bytes_sent", 0) for k in ("identify", "follow_up"))
    return {
        **summary,
        "wall_s": time.perf_counter() - started,
        "work_cpu_s": time.process_time() - cpu_started,
        "serials": {p.address: p.serial for p in printers},
        "probe_bytes_per_address": phases["probe"]["bytes_sent"] / phases["probe"]["packets_sent"],
        "beyond_probe_bytes_per_printer": beyond / len(printers) if printers else None,
        "bytes_per_printer": summary["bytes_sent"] / len(printers) if printers else None,  # type: ignore[operator]
    }


def run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Runs one measurement in its own process; adds its CPU (wait4: the process and its
    threads, Python's start-up included)."""
    if name == "icmp-fping":
        fping = shutil.which("fping")
        if fping is None:
            return {"skipped": "fping is not installed (`make system-deps` installs it)"}
        cmd = [fping, "-g", args.network, "-r", "0", "-t", str(round(args.timeout * 1000))]
        cmd += ["-i", f"{1000 / args.rate:g}", "-q", "-a"]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--network", args.network]
        cmd += ["--rate", str(args.rate), "--timeout", str(args.timeout), "--port", str(args.port)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    if name == "icmp-fping":
        # fping exits 1 when some target was unreachable; its alive list is on stdout.
        alive = len(out.split())
        from printwatch.discovery import expand_networks

        n = len(expand_networks([args.network]))
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "work_cpu_s": cpu,
            "addresses": n,
            "alive": alive,
            "packets_sent": n,
            "bytes_sent": n * FPING_ICMP_BYTES,
            "wire_bytes_sent": n * (FPING_ICMP_BYTES + 20),
        }
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["cpu_s"] = cpu
    result["process_wall_s"] = wall
    return result


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", default="127.40.0.0/16")
    parser.add_argument("--printers", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=10_000, help="packets per second cap (default 10000)")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for each answer")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", nargs="*", default=list(RUNS), choices=RUNS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "discovery.json")
    parser.add_argument("--child", choices=RUNS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0

    from printwatch.discovery import expand_networks
    from printwatch.sim import Simulator

    addresses = expand_networks([args.network])
    stride = max(1, (len(addresses) - 2) // args.printers)
    base = addresses[1]
    recordings = printer_recordings()
    with Simulator(recordings, count=args.printers, base=base, stride=stride, port=0, seed=11) as sim:
        expected = {sim.printer(i)["address"]: sim.printer(i)["serial"] for i in range(sim.count)}
        args.port = sim.port
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in args.runs}
        for repeat in range(args.repeats):
            for name in args.runs:
                r = run_child(name, args)
                if "serials" in r:
                    serials = r.pop("serials")
                    # Where the simulator gives a printer its own serial, discovery must read exactly it;
                    # recordings without prtGeneralSerialNumber keep their vendor serial OID as recorded,
                    # which discovery reads as well (counted apart).
                    r["missing"] = len(set(expected) - set(serials))
                    r["extra"] = len(set(serials) - set(expected))
                    r["wrong_serial"] = sum(1 for a, s in expected.items() if s and serials.get(a) != s)
                    r["vendor_serial_only"] = sum(1 for a, s in serials.items() if s and not expected.get(a))
                    r["complete"] = not (r["missing"] or r["extra"] or r["wrong_serial"])
                results[name].append(r)
                print(f"repeat {repeat + 1} {name}: {json.dumps(r)}", file=sys.stderr)
    table = {
        name: {k: median(runs, k) for k in runs[0] if isinstance(runs[0][k], (int, float))}
        for name, runs in results.items()
        if runs and "skipped" not in runs[0]
    }
    ratios: dict[str, float] = {}
    ours, theirs = table.get("icmp-printwatch"), table.get("icmp-fping")
    if ours and theirs:
        for k in ("wall_s", "work_cpu_s", "cpu_s", "bytes_sent", "wire_bytes_sent"):
            if ours.get(k) and theirs.get(k):
                ratios[k] = theirs[k] / ours[k]  # type: ignore[operator]
    doc = {
        "measured": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "network": args.network,
        "addresses": len(addresses),
        "printers": args.printers,
        "stride": stride,
        "recordings": [p.stem for p in recordings],
        "rate_pps": args.rate,
        "timeout_s": args.timeout,
        "repeats": args.repeats,
        "runs": results,
        "medians": table,
        "ratios_fping_over_printwatch_icmp": ratios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({"medians": table, "ratios_fping_over_printwatch_icmp": ratios}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
