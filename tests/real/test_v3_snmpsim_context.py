"""SNMPv3 context names against snmpsim: HP's Jetdirect answers some variables only in its
vendor context "Jetdirect" (the recording ``jetdirect_context@Jetdirect.snmprec``). snmpsim,
as an SNMPv3 agent with one authPriv user, serves each data file under the context named after
it; printwatch reads the context as pysnmp does, and a context the agent lacks is named in the
failure (snmpsim, like net-snmp, answers it with silence)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from printwatch.engine import Engine, Plan, Target, V3Credentials, poll

from tests.real import pysnmp_peer
from tests.support.peers import RECORDINGS, stop
from tests.support.ports import free_udp_port

USER, AUTH, PRIV = "pw-ctx", "auth-ctx-pass", "priv-ctx-pass"
HP_DEVICE_ID = "1.3.6.1.4.1.11.2.3.9.1.1.7.0"


@pytest.fixture(scope="module")
def snmpsim_v3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    work = tmp_path_factory.mktemp("snmpsim-v3")
    data = work / "data"
    data.mkdir()
    shutil.copy(RECORDINGS / "jetdirect_context.snmprec", data / "jetdirect_context.snmprec")
    shutil.copy(RECORDINGS / "jetdirect_context@Jetdirect.snmprec", data / "Jetdirect.snmprec")
    port = free_udp_port()
    responder = Path(sys.executable).with_name("snmpsim-command-responder")
    # snmpsim's options are per engine: everything after --v3-engine-id configures that engine.
    cmd = [
        str(responder),
        f"--cache-dir={work / 'cache'}",
        "--v3-engine-id",
        "auto",
        f"--data-dir={data}",
        "--v3-user",
        USER,
        "--v3-auth-key",
        AUTH,
        "--v3-auth-proto",
        "SHA",
        "--v3-priv-key",
        PRIV,
        "--v3-priv-proto",
        "AES",
        "--agent-udpv4-endpoint",
        f"127.0.0.1:{port}",
    ]
    log = (work / "snmpsim.log").open("wb")
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        user = V3Credentials(USER, "SHA", AUTH, "AES", PRIV, context="jetdirect_context")
        plan = Plan(gets=["1.3.6.1.2.1.1.1.0"])
        for _ in range(60):  # snmpsim indexes its data before it answers (bounded: 60 tries)
            if proc.poll() is not None:
                raise RuntimeError(f"snmpsim exited with {proc.returncode}")
            [r] = poll(
                [Target("127.0.0.1", port, plan=plan, v3=user)], engine=Engine(timeout_s=0.5, retries=0)
            )
            if r.status == "ok":
                break
        else:
            raise RuntimeError("snmpsim did not answer over SNMPv3")
        yield port
    finally:
        stop(proc)
        log.close()


def recorded(name: str, oid: str) -> bytes:
    for line in (RECORDINGS / name).read_text().splitlines():
        if line.startswith(oid + "|"):
            return line.split("|", 2)[2].encode()
    raise AssertionError(f"{oid} not in {name}")


@pytest.mark.real
def test_the_jetdirect_context_reads_as_pysnmp_reads_it(snmpsim_v3: int) -> None:
    user = V3Credentials(USER, "SHA", AUTH, "AES", PRIV, context="Jetdirect")
    [r] = poll([Target("127.0.0.1", snmpsim_v3, plan=Plan(gets=[HP_DEVICE_ID]), v3=user)])
    assert r.status == "ok", r.failures
    assert r.gets[HP_DEVICE_ID].value == recorded("jetdirect_context@Jetdirect.snmprec", HP_DEVICE_ID)
    usm = pysnmp_peer.usm_user(USER, "SHA", AUTH, "AES", PRIV)
    values, _ = pysnmp_peer.read_v3(snmpsim_v3, usm, [HP_DEVICE_ID], [], context="Jetdirect")
    assert values == [(HP_DEVICE_ID, "OctetString", r.gets[HP_DEVICE_ID].value)]


@pytest.mark.real
def test_the_main_context_walks_the_supplies(snmpsim_v3: int) -> None:
    user = V3Credentials(USER, "SHA", AUTH, "AES", PRIV, context="jetdirect_context")
    walk = "1.3.6.1.2.1.43.11.1"
    [r] = poll([Target("127.0.0.1", snmpsim_v3, plan=Plan(walks=[walk]), v3=user)])
    assert r.status == "ok", r.failures
    usm = pysnmp_peer.usm_user(USER, "SHA", AUTH, "AES", PRIV)
    _, tables = pysnmp_peer.read_v3(snmpsim_v3, usm, [], [walk], context="jetdirect_context")
    assert [(vb.oid, vb.type, vb.value) for vb in r.walks[walk]] == tables[walk]
    assert len(tables[walk]) > 10


@pytest.mark.real
def test_a_context_the_agent_lacks_is_named(snmpsim_v3: int) -> None:
    user = V3Credentials(USER, "SHA", AUTH, "AES", PRIV, context="NoSuchContext")
    [r] = poll(
        [Target("127.0.0.1", snmpsim_v3, plan=Plan(gets=[HP_DEVICE_ID]), v3=user)],
        engine=Engine(timeout_s=0.5, retries=0),
    )
    assert r.status == "timeout" and r.version == "3"
    assert "context" in r.failures[0][3]
