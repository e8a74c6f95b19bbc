"""Real SNMP peers for tests: net-snmp's snmpd and its command-line tools, snmpsim, started on
loopback high ports, and a UDP relay that keeps every datagram both ways; the recordings they and
the simulator serve."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import free_udp_port
from tests.support.recordings import RECORDINGS  # noqa: F401 (re-exported: the one place that finds them)

# net-snmp tools print numeric OIDs and load no MIB files (Debian ships no IETF MIBs anyway).
NET_SNMP_ENV = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"{tool} is not installed; `make test` installs it (Debian packages snmpd, snmp)")
    return path


def net_snmp(*args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Runs a net-snmp command-line tool (snmpget, snmpbulkwalk, ...) with numeric output."""
    return subprocess.run(
        [require(args[0]), "-On", *args[1:]],
        env=NET_SNMP_ENV,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def wait_until_answering(port: int, community: str, deadline_s: float, proc: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"agent exited early with status {proc.returncode}")
        r = net_snmp(
            "snmpget",
            "-v2c",
            "-c",
            community,
            "-t",
            "0.5",
            "-r",
            "0",
            f"127.0.0.1:{port}",
            "1.3.6.1.2.1.1.1.0",
        )
        if r.returncode == 0:
            return
    raise RuntimeError(f"agent on 127.0.0.1:{port} did not answer within {deadline_s} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ends a process this test started, by its PID."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


SNMPD_CONF = """\
rocommunity public 127.0.0.1
sysDescr printwatch test agent
sysLocation lab bench 3
sysContact ops@example.invalid
sysName pw-test
"""


def snmpd_command(workdir: Path, conf: Path, endpoint: str, *, only_conf: bool = True) -> list[str]:
    """net-snmp's snmpd in the foreground with ``conf``, listening on ``endpoint``, its log
    (``snmpd.out``) and PID file in ``workdir``. ``only_conf``: ``-C``, no other configuration
    file is read (without it the persistent directory's file is, for the engine boots)."""
    return [
        require("snmpd"),
        "-f",
        "-Lf",
        str(workdir / "snmpd.out"),
        *(["-C"] if only_conf else []),
        "-c",
        str(conf),
        "-p",
        str(workdir / "snmpd.pid"),
        endpoint,
    ]


@contextmanager
def running_snmpd(workdir: Path) -> Iterator[int]:
    """net-snmp's snmpd with its own config on a free high port; yields the port."""
    conf = workdir / "snmpd.conf"
    conf.write_text(SNMPD_CONF)
    port = free_udp_port()
    log = (workdir / "snmpd.log").open("wb")
    cmd = snmpd_command(workdir, conf, f"udp:127.0.0.1:{port}")
    proc = subprocess.Popen(cmd, env=NET_SNMP_ENV, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        wait_until_answering(port, "public", 20.0, proc)
        yield port
    finally:
        stop(proc)
        log.close()


@contextmanager
def running_snmpsim(workdir: Path, recordings: list[Path]) -> Iterator[int]:
    """snmpsim serving each recording under the community named after its file; yields the port."""
    data = workdir / "data"
    data.mkdir()
    for rec in recordings:
        shutil.copy(rec, data / rec.name)
    port = free_udp_port()
    responder = Path(sys.executable).with_name("snmpsim-command-responder")
    log = (workdir / "snmpsim.log").open("wb")
    cmd = [
        str(responder),
        f"--data-dir={data}",
        f"--cache-dir={workdir / 'cache'}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
    ]
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        wait_until_answering(port, recordings[0].stem, 60.0, proc)
        yield port
    finally:
        stop(proc)
        log.close()


@dataclass
class Relay:
    """A UDP relay on loopback that forwards between one client and one agent and keeps every
    datagram: `requests` (client to agent) and `responses` (agent to client)."""

    agent_port: int
    port: int = 0
    requests: list[bytes] = field(default_factory=list)
    responses: list[bytes] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @contextmanager
    def running(self, max_seconds: float = 300.0) -> Iterator[Relay]:
        front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        front.bind(("127.0.0.1", 0))
        back.bind(("127.0.0.1", 0))
        front.settimeout(0.05)
        back.settimeout(0.05)
        self.port = front.getsockname()[1]
        client: list[tuple[str, int]] = []

        def pump() -> None:
            end = time.monotonic() + max_seconds  # bounded: the relay stops by itself
            while not self._stop.is_set() and time.monotonic() < end:
                for sock in (front, back):
                    try:
                        data, addr = sock.recvfrom(65535)
                    except TimeoutError:
                        continue
                    if sock is front:
                        client[:] = [addr]
                        self.requests.append(data)
                        back.sendto(data, ("127.0.0.1", self.agent_port))
                    elif client:
                        self.responses.append(data)
                        front.sendto(data, client[0])

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=5)
            front.close()
            back.close()
