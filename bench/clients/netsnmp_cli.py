"""Poll-cycle client: net-snmp's command-line tools, one process per request as a shell script or
a cron-driven poller would run them.

Per printer: ``snmpget`` of the scalars, then ``snmpbulkwalk -Cr<max-repetitions>`` of each
table, all with ``-On`` (numeric OIDs), ``-v2c``, the workload's community, timeout and
retries, and no MIB files loaded (``MIBS=`` — Debian ships no IETF MIBs anyway). The four
commands of a printer run one after another; ``--concurrency`` printers (default 2 x cores) run
side by side from a thread pool, so that many processes are alive at once. The processes' CPU
is the client's CPU: the harness takes it from ``wait4`` of this script, which includes its
waited-for children.

A varbind is an output line ``.OID = TYPE: value`` whose value is not an exception
("No Such Object/Instance", "No more variables"); multi-line string values continue on lines
that do not start with an OID and are not counted twice.

    python -m bench.clients.netsnmp_cli --targets FILE [--concurrency N] [--limit-seconds S]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench.clients._common import Deadline, Tally, inside, oid_tuple, parse_args
from bench.workload import Target, Workload

NAME = "netsnmp_cli"
ENV = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}
VARBIND_LINE = re.compile(r"^(\.?\d+(?:\.\d+)+) = (.*)$")
EXCEPTION_VALUES = ("No Such Object", "No Such Instance", "No more variables")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(
            f"{name} is not installed; install net-snmp's tools with: apt-get install snmp  (or `make test`)"
        )
    return path


def count_varbinds(output: str, root: tuple[int, ...] | None) -> int:
    count = 0
    for line in output.splitlines():
        match = VARBIND_LINE.match(line)
        if match is None or match.group(2).startswith(EXCEPTION_VALUES):
            continue
        if root is None or inside(oid_tuple(match.group(1)), root):
            count += 1
    return count


def _error_kind(result: subprocess.CompletedProcess[str]) -> str:
    text = result.stderr + result.stdout
    if "Timeout" in text:
        return "timeout"
    if "Error in packet" in text or "Reason:" in text:
        return "snmp_error"
    return "other"


def _run(argv: list[str], limit_s: float) -> subprocess.CompletedProcess[str]:
    """One net-snmp command, its output as text (undecodable bytes replaced), ``limit_s`` at most."""
    return subprocess.run(
        argv,
        env=ENV,
        capture_output=True,
        text=True,
        errors="replace",
        stdin=subprocess.DEVNULL,
        timeout=limit_s,
        check=False,
    )


def poll_one(target: Target, workload: Workload, tools: dict[str, str]) -> tuple[int, str | None]:
    common = [
        "-v2c",
        "-c",
        target.community,
        "-On",
        "-t",
        f"{workload.timeout_s:g}",
        "-r",
        str(workload.retries),
    ]
    agent = f"udp:{target.address}"
    limit_s = (workload.timeout_s * (workload.retries + 1)) * 50 + 30  # a bound, never reached when healthy
    get = _run([tools["snmpget"], *common, agent, *workload.scalars], limit_s)
    if get.returncode != 0:
        return 0, _error_kind(get)
    count = count_varbinds(get.stdout, None)
    for table in workload.tables:
        walk = _run([tools["snmpbulkwalk"], *common, f"-Cr{workload.max_repetitions}", agent, table], limit_s)
        if walk.returncode != 0:
            return count, _error_kind(walk)
        count += count_varbinds(walk.stdout, oid_tuple(table))
    return count, None


def main() -> None:
    args = parse_args(__doc__ or NAME, default_concurrency=2 * (os.cpu_count() or 1))
    tools = {name: _tool(name) for name in ("snmpget", "snmpbulkwalk")}
    version = subprocess.run(
        [tools["snmpget"], "--version"], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    tally = Tally(len(args.targets))
    deadline = Deadline(args.limit_seconds)

    def work(index: int) -> None:
        if deadline.passed():
            return
        try:
            count, error = poll_one(args.targets[index], args.workload, tools)
        except subprocess.TimeoutExpired:
            count, error = 0, "timeout"
        tally.record(index, count, error)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        list(pool.map(work, range(len(args.targets))))
    wall_s = time.perf_counter() - start
    tally.emit(NAME, wall_s, args.concurrency, version=(version.stdout + version.stderr).strip())


if __name__ == "__main__":
    main()
