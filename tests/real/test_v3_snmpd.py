"""SNMPv3 against net-snmp's snmpd: every security level and every protocol Debian's net-snmp
5.9 supports, compared with pysnmp reading the same variables as the same user (differential);
wrong passwords, unknown users, a level the user lacks and an unknown context give named
failures at once, not timeouts; a restarted agent (new boots) is resynchronised."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from printwatch.engine import Engine, Plan, Target, TargetResult, V3Credentials, poll
from printwatch.poller.plans import SYSTEM

from tests.real import pysnmp_peer
from tests.real.snmpd_v3 import USERS, User, running_snmpd_v3

Row = tuple[str, str, Any]
VOLATILE = {"TimeTicks", "Counter32", "Counter64"}
GETS = [*SYSTEM.values()]
WALKS = ["1.3.6.1.2.1.1", "1.3.6.1.2.1.2.2"]


@pytest.fixture(scope="module")
def v3_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_snmpd_v3(tmp_path_factory.mktemp("snmpd-v3")) as port:
        yield port


def creds(u: User, **changes: str | None) -> V3Credentials:
    fields = {
        "user": u.name,
        "auth_proto": u.auth_proto,
        "auth_pass": u.auth_pass,
        "priv_proto": u.priv_proto,
        "priv_pass": u.priv_pass,
        "context": None,
        **changes,
    }
    return V3Credentials(
        fields["user"],  # type: ignore[arg-type]
        fields["auth_proto"],
        fields["auth_pass"],
        fields["priv_proto"],
        fields["priv_pass"],
        context=fields["context"],
    )


def stable(rows: list[Row]) -> list[Row]:
    return [(oid, kind, None if kind in VOLATILE else value) for oid, kind, value in rows]


def poll_one(
    port: int, v3: V3Credentials, engine: Engine | None = None, plan: Plan | None = None
) -> TargetResult:
    plan = plan or Plan(gets=GETS, walks=WALKS)
    [r] = poll(
        [Target("127.0.0.1", port, plan=plan, v3=v3)], engine=engine or Engine(timeout_s=1.0, retries=1)
    )
    return r


@pytest.mark.real
@pytest.mark.parametrize("user", USERS, ids=[u.name for u in USERS])
def test_every_level_and_protocol_reads_as_pysnmp_reads_it(v3_port: int, user: User) -> None:
    r = poll_one(v3_port, creds(user))
    assert r.status == "ok", r.failures
    assert r.version == "3"
    usm = pysnmp_peer.usm_user(user.name, user.auth_proto, user.auth_pass, user.priv_proto, user.priv_pass)
    want_values, want_tables = pysnmp_peer.read_v3(v3_port, usm, GETS, WALKS)
    got_values = [(vb.oid, vb.type, vb.value) for vb in (r.gets[o] for o in GETS)]
    assert stable(got_values) == stable(want_values)
    for root in WALKS:
        got = [(vb.oid, vb.type, vb.value) for vb in r.walks[root]]
        assert stable(got) == stable(want_tables[root]), root
    assert r.gets[SYSTEM["name"]].value == b"pw-v3"
    assert len(r.walks["1.3.6.1.2.1.1"]) > 10


WRONG = [
    ("wrong auth password", {"auth_pass": "not-the-password"}, "wrongDigest"),
    ("unknown user", {"user": "pw-nobody"}, "unknownUserName"),
]


@pytest.mark.real
@pytest.mark.parametrize(("case", "changes", "kind"), WRONG, ids=[w[0] for w in WRONG])
def test_refusals_are_named_failures_at_once(
    v3_port: int, case: str, changes: dict[str, str], kind: str
) -> None:
    user = next(u for u in USERS if u.name == "pw-sha-aes")
    started = time.monotonic()
    r = poll_one(v3_port, creds(user, **changes), Engine(timeout_s=2.0, retries=2))
    elapsed = time.monotonic() - started
    assert r.status == kind, (case, r.failures)
    assert {f[2] for f in r.failures} == {kind}, r.failures
    assert r.reachable and r.version == "3"
    # Named at the first answer: far below one timeout (2 s), let alone the three tries.
    assert elapsed < 1.0, elapsed


@pytest.mark.real
@pytest.mark.parametrize(
    "changes", [{"priv_pass": "not-the-password"}, {"context": "Jetdirect"}], ids=["privacy", "context"]
)
def test_silent_refusals_cost_one_request_and_say_why(v3_port: int, changes: dict[str, str]) -> None:
    """net-snmp 5.9 sends no report for a request it cannot decrypt or whose context it lacks
    (RFC 3414 asks for usmStatsDecryptionErrors; the simulator sends it): the engine can only
    time out, but it does so once for the whole target and names the likely causes."""
    user = next(u for u in USERS if u.name == "pw-sha-aes")
    started = time.monotonic()
    r = poll_one(v3_port, creds(user, **changes), Engine(timeout_s=0.3, retries=1))
    elapsed = time.monotonic() - started
    assert r.status == "timeout" and r.version == "3", r.failures
    assert "privacy password" in r.failures[0][3] and "context" in r.failures[0][3]
    assert r.packets_sent == 3  # discovery, then one request tried twice; the rest fail at once
    assert elapsed < 0.3 + 0.6 + 0.5, elapsed


@pytest.mark.real
def test_a_level_the_user_lacks_is_refused_not_read(v3_port: int) -> None:
    # pw-sha-aes may only read with privacy (rouser ... priv): authNoPriv is refused by VACM.
    user = next(u for u in USERS if u.name == "pw-sha-aes")
    r = poll_one(v3_port, creds(user, priv_proto=None, priv_pass=None), Engine(timeout_s=2.0, retries=0))
    assert r.status != "ok" and r.status != "timeout", r.failures
    assert not r.gets or all(vb.type != "OctetString" for vb in r.gets.values())


@pytest.mark.real
def test_restarted_agent_is_resynchronised(tmp_path: Path) -> None:
    """The engine keeps the discovered engine ID and boots; after snmpd restarts (same engine ID
    from its persistent directory, boots + 1) the stale time is answered with notInTimeWindow,
    which the engine follows once and reads on."""
    user = next(u for u in USERS if u.name == "pw-sha256")
    engine = Engine(timeout_s=1.0, retries=1)
    plan = Plan(gets=[SYSTEM["name"]])
    with running_snmpd_v3(tmp_path, [user]) as port:
        first = poll_one(port, creds(user), engine, plan)
        assert first.status == "ok", first.failures
        [(engine_id, boots, _)] = engine.known_engines().values()
        again = poll_one(port, creds(user), engine, plan)
        assert again.status == "ok" and again.packets_sent == first.packets_sent - 1  # no discovery
    with running_snmpd_v3(tmp_path, [user], port=port) as same_port:
        r = poll_one(same_port, creds(user), engine, plan)
        assert r.status == "ok", r.failures
        # Discovery skipped; the cached boots answered with notInTimeWindow; then the read.
        assert r.packets_sent == 2, r.packets_sent
        known = engine.known_engines()[f"127.0.0.1:{same_port}"]
    assert known[0] == engine_id and known[1] == boots + 1
