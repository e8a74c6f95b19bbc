"""Discovery of hosts that drop ICMP: two network namespaces this test creates and removes.

``pwA`` holds the discovering side (10.249.0.1); ``pwB`` holds two hosts on a veth pair:
10.249.0.2 runs net-snmp's snmpd and drops ICMP echo requests (nftables), 10.249.0.3 answers
ICMP and runs no agent. No packet leaves the two namespaces. Needs root (namespaces, raw ICMP);
skipped with the reason otherwise.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.discovery_fleet import printer_recordings
from tests.support.peers import NET_SNMP_ENV, snmpd_command, stop

NETWORK = "10.249.0.0/29"
AGENT, PINGABLE = "10.249.0.2", "10.249.0.3"


def missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    for tool in ("ip", "nft", "snmpd", "snmpget"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (`make system-deps` installs it)"
    return None


pytestmark = [
    pytest.mark.real,
    pytest.mark.realtime,
    pytest.mark.skipif(missing() is not None, reason=missing() or ""),
]


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def namespaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tag = str(os.getpid() % 100_000)
    a, b = f"pwA{tag}", f"pwB{tag}"
    workdir: Path = tmp_path_factory.mktemp("netns")
    agent: subprocess.Popen[bytes] | None = None
    log = (workdir / "snmpd.log").open("wb")
    try:
        sh("ip", "netns", "add", a)
        sh("ip", "netns", "add", b)
        sh(
            "ip",
            "link",
            "add",
            f"va{tag}",
            "netns",
            a,
            "type",
            "veth",
            "peer",
            "name",
            f"vb{tag}",
            "netns",
            b,
        )
        sh("ip", "-n", a, "addr", "add", "10.249.0.1/29", "dev", f"va{tag}")
        sh("ip", "-n", b, "addr", "add", f"{AGENT}/29", "dev", f"vb{tag}")
        sh("ip", "-n", b, "addr", "add", f"{PINGABLE}/29", "dev", f"vb{tag}")
        for ns, dev in ((a, f"va{tag}"), (b, f"vb{tag}")):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        rules = workdir / "drop-icmp.nft"
        rules.write_text(
            "table inet pwtest {\n"
            "  chain input { type filter hook input priority 0; policy accept;\n"
            f"    ip daddr {AGENT} icmp type echo-request drop\n"
            "  }\n"
            "}\n"
        )
        sh("ip", "netns", "exec", b, "nft", "-f", str(rules))
        conf = workdir / "snmpd.conf"
        conf.write_text("rocommunity public 10.249.0.0/29\nsysDescr netns test agent\nsysName pw-netns\n")
        agent = subprocess.Popen(
            ["ip", "netns", "exec", b, *snmpd_command(workdir, conf, f"udp:{AGENT}:161")],
            env=NET_SNMP_ENV,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            r = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    a,
                    "snmpget",
                    "-v2c",
                    "-c",
                    "public",
                    "-t",
                    "0.5",
                    "-r",
                    "0",
                    AGENT,
                    "1.3.6.1.2.1.1.1.0",
                ],
                env=NET_SNMP_ENV,
                capture_output=True,
                timeout=10,
                check=False,
            )
            if r.returncode == 0:
                break
            assert time.monotonic() < deadline, f"snmpd in {b} did not answer: {r.stderr!r}"
            assert agent.poll() is None, "snmpd exited early"
        yield a, b
    finally:
        if agent is not None:
            stop(agent)
        log.close()
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False)


def discover_in(ns: str, *args: str) -> tuple[int, list[dict[str, object]], str]:
    r = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            sys.executable,
            "-m",
            "printwatch.cli",
            "discover",
            "--json",
            "--all",
            "--timeout",
            "0.5",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return r.returncode, [json.loads(line) for line in r.stdout.splitlines()], r.stderr


def test_icmp_misses_a_host_that_drops_echo(namespaces: tuple[str, str]) -> None:
    a, _ = namespaces
    _, docs, err = discover_in(a, NETWORK, "--mode", "icmp")
    assert docs == []
    # .1 (itself) and .3 answer echo; .2 drops it.
    assert "2 answered ICMP" in err and "0 SNMP agents" in err, err


def test_snmp_sweep_finds_it(namespaces: tuple[str, str]) -> None:
    a, _ = namespaces
    _, docs, err = discover_in(a, NETWORK, "--mode", "snmp")
    assert [d["address"] for d in docs] == [AGENT], err
    doc = docs[0]
    assert doc["printer"] is False  # net-snmp's agent on Linux: no printer device, no Printer-MIB
    assert doc["sys"] == {"descr": "netns test agent", "object_id": "1.3.6.1.4.1.8072.3.2.10"}
    assert doc["found_by"] == {"sweep": "snmp", "community": 1, "version": "2c", "evidence": []}
    assert "6 addresses (snmp sweep)" in err


def test_auto_falls_back_to_snmp_where_nothing_answers_echo(namespaces: tuple[str, str]) -> None:
    a, _ = namespaces
    _, docs, err = discover_in(a, f"{PINGABLE}/32", f"{AGENT}/32", "--mode", "auto")
    assert [(d["address"], d["found_by"]["sweep"]) for d in docs] == [(AGENT, "snmp")], err  # type: ignore[index]
    assert "icmp-raw+snmp sweep" in err


# An unprivileged process (uid/gid 65534, no capabilities) in a namespace of its own: whether it
# may open a datagram ICMP socket is that namespace's net.ipv4.ping_group_range. It runs the
# base interpreter on a copy of what it imports, made readable for it (the checkout may sit in
# a folder only root can enter: a mktemp -d folder, a home folder).
UNPRIVILEGED = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from printwatch.discovery import Options, discover, icmp_kind
from printwatch.sim import Simulator
recordings = sorted(Path(sys.argv[3]).glob("*.snmprec"))
with Simulator(recordings, count=4, base="127.50.0.10", port=0) as sim:
    opts = Options(port=sim.port, mode=sys.argv[1], max_pps=20000, timeout_s=0.3)
    try:
        d = discover(["127.50.0.0/24"], opts)
    except PermissionError as e:
        print(json.dumps({"kind": icmp_kind(), "error": str(e)}))
        sys.exit(0)
    print(json.dumps({"kind": icmp_kind(), "sweeps": d.sweeps, "printers": [p.address for p in d.printers]}))
"""
#: What the script imports beyond the standard library (printwatch.discovery needs trio).
UNPRIVILEGED_PACKAGES = (
    "printwatch",
    "trio",
    "outcome",
    "sniffio",
    "sortedcontainers",
    "attr",
    "attrs",
    "idna",
)


def readable_copy(folder: Path) -> tuple[Path, Path]:
    """``folder`` (made 0755) with ``lib/``: copies of the packages the script imports, and
    ``recordings/``: four printer recordings. Everything world-readable, whatever the umask."""
    folder.chmod(0o755)
    lib, recordings = folder / "lib", folder / "recordings"
    for name in UNPRIVILEGED_PACKAGES:
        source = Path(importlib.import_module(name).__file__ or "").parent
        shutil.copytree(source, lib / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    recordings.mkdir()
    for path in printer_recordings()[:4]:
        shutil.copy(path, recordings / path.name)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() or path.suffix == ".so" else 0o644)
    return lib, recordings


@pytest.mark.parametrize("ping_group_range", ["0 2147483647", "1 0"])
def test_an_unprivileged_process_uses_a_datagram_socket_where_allowed(ping_group_range: str) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    ns = f"pwC{os.getpid() % 100_000}"
    # pytest's tmp_path sits in a 0700 folder: the copy goes to a folder of its own.
    lib, recordings = readable_copy(Path(tempfile.mkdtemp(prefix="pw-unprivileged-")))
    python = getattr(sys, "_base_executable", sys.executable)
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"net.ipv4.ping_group_range={ping_group_range}")
        out = {}
        for mode in ("auto", "icmp"):
            nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
            r = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    *nobody,
                    python,
                    "-S",
                    "-c",
                    UNPRIVILEGED,
                    mode,
                    str(lib),
                    str(recordings),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            assert r.returncode == 0, r.stderr
            out[mode] = json.loads(r.stdout)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False)
        shutil.rmtree(lib.parent, ignore_errors=True)
    printers = ["127.50.0.10", "127.50.0.11", "127.50.0.12", "127.50.0.13"]
    if ping_group_range == "1 0":
        assert out["auto"] == {"kind": None, "sweeps": ["snmp"], "printers": printers}
        assert out["icmp"]["kind"] is None and "ping_group_range" in out["icmp"]["error"]
    else:
        for mode in ("auto", "icmp"):
            assert out[mode] == {"kind": "datagram", "sweeps": ["icmp-datagram"], "printers": printers}
