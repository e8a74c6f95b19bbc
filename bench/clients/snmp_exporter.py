"""Poll-cycle client: prometheus-snmp-exporter (Go, gosnmp), the Debian package (0.21.0).

This module starts the exporter itself, with a hand-written ``snmp.yml`` in 0.21's format (one
module per community: ``get:`` of the workload's scalars, ``walk:`` of its tables, the
workload's version 2c / max-repetitions / timeout / retries, and a metric for every column of
the three Printer-MIB tables and every scalar, so each value fetched is also turned into a
Prometheus sample), on a free loopback TCP port, then scrapes
``/snmp?target=HOST:PORT&module=...`` once per printer from a pool of ``--concurrency`` threads
(default 100; each keeps one HTTP/1.1 connection), as Prometheus would at each scrape interval.

A printer's varbinds are the exporter's own ``snmp_scrape_pdus_returned`` for that scrape (the
scalars that came back with a value plus the walked varbinds); a scrape that fails (HTTP 500:
the exporter's SNMP error) counts as ``timeout`` or ``snmp_error`` by its message.

The SNMP work is the exporter's: its CPU while the scrapes ran (``utime + stime`` from
``/proc/PID/stat``, before and after) is reported as ``engine_cpu_s`` and its peak RSS (VmHWM)
as ``engine_peak_rss_mb``; the harness takes those as this client's figures and reports the
scraper's own (Python, HTTP) CPU separately.

    python -m bench.clients.snmp_exporter --targets FILE [--concurrency N] [--limit-seconds S]
"""

from __future__ import annotations

import ctypes
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from bench.clients._common import Deadline, Tally, parse_args
from bench.workload import Target, Workload
from tests.support.peers import stop
from tests.support.ports import free_tcp_port

NAME = "snmp_exporter"
BINARY = "prometheus-snmp-exporter"
PDUS_RETURNED = re.compile(rb"^snmp_scrape_pdus_returned (\S+)$", re.MULTILINE)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

HR_DEVICE_INDEX = {"labelname": "hrDeviceIndex", "type": "gauge"}
# (name, column OID, exporter type, second index label) — Printer-MIB (RFC 3805) columns.
TABLE_COLUMNS: dict[str, tuple[str, list[tuple[str, int, str]]]] = {
    "1.3.6.1.2.1.43.11.1": (
        "prtMarkerSuppliesIndex",
        [
            ("prtMarkerSuppliesMarkerIndex", 2, "gauge"),
            ("prtMarkerSuppliesColorantIndex", 3, "gauge"),
            ("prtMarkerSuppliesClass", 4, "gauge"),
            ("prtMarkerSuppliesType", 5, "gauge"),
            ("prtMarkerSuppliesDescription", 6, "DisplayString"),
            ("prtMarkerSuppliesSupplyUnit", 7, "gauge"),
            ("prtMarkerSuppliesMaxCapacity", 8, "gauge"),
            ("prtMarkerSuppliesLevel", 9, "gauge"),
        ],
    ),
    "1.3.6.1.2.1.43.10.2": (
        "prtMarkerIndex",
        [
            ("prtMarkerMarkTech", 2, "gauge"),
            ("prtMarkerCounterUnit", 3, "gauge"),
            ("prtMarkerLifeCount", 4, "counter"),
            ("prtMarkerPowerOnCount", 5, "counter"),
            ("prtMarkerProcessColorants", 6, "gauge"),
            ("prtMarkerSubtractiveColorants", 7, "gauge"),
            ("prtMarkerAddressabilityUnit", 8, "gauge"),
            ("prtMarkerAddressabilityFeedDir", 9, "gauge"),
            ("prtMarkerAddressabilityXFeedDir", 10, "gauge"),
            ("prtMarkerNorthMargin", 11, "gauge"),
            ("prtMarkerSouthMargin", 12, "gauge"),
            ("prtMarkerWestMargin", 13, "gauge"),
            ("prtMarkerEastMargin", 14, "gauge"),
            ("prtMarkerStatus", 15, "gauge"),
        ],
    ),
    "1.3.6.1.2.1.43.18.1": (
        "prtAlertIndex",
        [
            ("prtAlertSeverityLevel", 2, "gauge"),
            ("prtAlertTrainingLevel", 3, "gauge"),
            ("prtAlertGroup", 4, "gauge"),
            ("prtAlertGroupIndex", 5, "gauge"),
            ("prtAlertLocation", 6, "gauge"),
            ("prtAlertCode", 7, "gauge"),
            ("prtAlertDescription", 8, "DisplayString"),
            ("prtAlertTime", 9, "gauge"),
        ],
    ),
}
# Scalar OID (instance) -> (name, exporter type, whether indexed by hrDeviceIndex).
SCALAR_METRICS: dict[str, tuple[str, str, bool]] = {
    "1.3.6.1.2.1.1.1.0": ("sysDescr", "DisplayString", False),
    "1.3.6.1.2.1.1.2.0": ("sysObjectID", "DisplayString", False),
    "1.3.6.1.2.1.1.3.0": ("sysUpTime", "gauge", False),
    "1.3.6.1.2.1.1.5.0": ("sysName", "DisplayString", False),
    "1.3.6.1.2.1.25.3.2.1.5.1": ("hrDeviceStatus", "gauge", True),
    "1.3.6.1.2.1.25.3.5.1.1.1": ("hrPrinterStatus", "gauge", True),
    "1.3.6.1.2.1.25.3.5.1.2.1": ("hrPrinterDetectedErrorState", "OctetString", True),
    "1.3.6.1.2.1.43.5.1.1.17.1": ("prtGeneralSerialNumber", "DisplayString", True),
}


def _metric_lines(name: str, oid: str, kind: str, indexes: list[dict[str, str]]) -> list[str]:
    lines = [f"  - name: {name}", f"    oid: {oid}", f"    type: {kind}", f"    help: {name} - {oid}"]
    if indexes:
        lines.append("    indexes:")
        for index in indexes:
            lines += [f"    - labelname: {index['labelname']}", f"      type: {index['type']}"]
    return lines


def snmp_yml(workload: Workload, communities: dict[str, str]) -> str:
    """The exporter's configuration: one module per community (module name -> community)."""
    metrics: list[str] = []
    for oid in workload.scalars:
        if oid not in SCALAR_METRICS:
            raise ValueError(f"no metric definition for scalar {oid}: add it to SCALAR_METRICS")
        name, kind, indexed = SCALAR_METRICS[oid]
        column = oid.rsplit(".", 1)[0]  # the exporter matches a metric's OID as a prefix of the instance
        metrics += _metric_lines(name, column, kind, [HR_DEVICE_INDEX] if indexed else [])
    for table in workload.tables:
        if table not in TABLE_COLUMNS:
            raise ValueError(f"no metric definitions for table {table}: add it to TABLE_COLUMNS")
        index_name, columns = TABLE_COLUMNS[table]
        for name, column, kind in columns:
            indexes = [HR_DEVICE_INDEX, {"labelname": index_name, "type": "gauge"}]
            metrics += _metric_lines(name, f"{table}.1.{column}", kind, indexes)
    out: list[str] = []
    for module, community in communities.items():
        out += [
            f"{module}:",
            "  version: 2",
            "  auth:",
            f"    community: '{community}'",
            f"  max_repetitions: {workload.max_repetitions}",
            f"  retries: {workload.retries}",
            f"  timeout: {int(workload.timeout_s * 1000)}ms",
            "  get:",
            *(f"  - {oid}" for oid in workload.scalars),
            "  walk:",
            *(f"  - {oid}" for oid in workload.tables),
            "  metrics:",
            *metrics,
        ]
    return "\n".join(out) + "\n"


def process_cpu_s(pid: int) -> float:
    """utime + stime of a live process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


def process_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path, deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"{BINARY} exited with status {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{BINARY} did not answer on 127.0.0.1:{port} within {deadline_s} s")


def _die_with_parent() -> None:
    """In the exporter's child before exec: SIGTERM it if this client dies first (even killed),
    so the exporter never outlives the bench."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _error_kind(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").lower()
    if "timeout" in text:
        return "timeout"
    if "error" in text:
        return "snmp_error"
    return "other"


def main() -> None:
    args = parse_args(__doc__ or NAME, default_concurrency=100)
    binary = shutil.which(BINARY)
    if binary is None:
        sys.exit(f"{BINARY} is not installed; install it with: apt-get install {BINARY}  (or: make bench)")
    communities = sorted({t.community for t in args.targets})
    modules = {c: f"printer_{i}" for i, c in enumerate(communities)}
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    with tempfile.TemporaryDirectory(prefix="pw-snmp-exporter-") as tmp:
        config = Path(tmp) / "snmp.yml"
        config.write_text(snmp_yml(args.workload, {m: c for c, m in modules.items()}))
        log = Path(tmp) / "exporter.log"
        port = free_tcp_port()
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=error",
                ],
                stdout=log_file,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        try:
            _wait_ready(port, proc, log)
            tally, wall_s, cpu_s = scrape_all(
                port, proc.pid, args.targets, modules, args.concurrency, args.limit_seconds
            )
            peak_mb = process_peak_rss_mb(proc.pid)
        finally:
            stop(proc)
    tally.emit(
        NAME,
        wall_s,
        args.concurrency,
        engine_cpu_s=round(cpu_s, 4),
        engine_peak_rss_mb=round(peak_mb, 2),
        engine_pid=proc.pid,
        version=(version.stdout + version.stderr).strip().splitlines()[0] if version.returncode == 0 else "?",
    )


def scrape_all(
    port: int, pid: int, targets: list[Target], modules: dict[str, str], concurrency: int, limit_s: float
) -> tuple[Tally, float, float]:
    tally = Tally(len(targets))
    deadline = Deadline(limit_s)
    local = threading.local()
    http_timeout_s = 60.0

    def scrape(index: int) -> None:
        if deadline.passed():
            return
        target = targets[index]
        query = urlencode({"target": target.address, "module": modules[target.community]})
        conn: http.client.HTTPConnection | None = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=http_timeout_s)
        try:
            conn.request("GET", f"/snmp?{query}")
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            local.conn = None
            tally.record(index, 0, "http_error")
            return
        if response.status != 200:
            tally.record(index, 0, _error_kind(body))
            return
        match = PDUS_RETURNED.search(body)
        if match is None:
            tally.record(index, 0, "other")
            return
        tally.record(index, int(float(match.group(1))), None)

    cpu_before = process_cpu_s(pid)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(scrape, range(len(targets))))
    wall_s = time.perf_counter() - start
    cpu_s = process_cpu_s(pid) - cpu_before
    return tally, wall_s, cpu_s


if __name__ == "__main__":
    main()
