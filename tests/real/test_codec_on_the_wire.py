"""Real packets: net-snmp's command-line tools talk to snmpd and to snmpsim through a relay that
keeps every datagram; printwatch decodes each one and re-encodes it byte for byte."""

from __future__ import annotations

from pathlib import Path

from printwatch import snmp

from tests.support.peers import Relay, net_snmp


def check_wire(datagrams: list[bytes]) -> list[snmp.Message]:
    messages = []
    for data in datagrams:
        msg = snmp.decode(data)
        assert snmp.encode(msg) == data, f"re-encoding differs for {data.hex()}"
        messages.append(msg)
    return messages


def test_snmpd_get_getnext_bulk_v1_v2c(snmpd_port: int) -> None:
    with Relay(snmpd_port).running() as relay:
        target = f"127.0.0.1:{relay.port}"
        assert (
            net_snmp(
                "snmpget", "-v2c", "-c", "public", target, "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0"
            ).returncode
            == 0
        )
        assert net_snmp("snmpget", "-v1", "-c", "public", target, "1.3.6.1.2.1.1.5.0").returncode == 0
        v1_missing = net_snmp(
            "snmpget", "-v1", "-c", "public", target, "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.99.0"
        )
        assert "noSuchName" in v1_missing.stderr
        assert net_snmp("snmpget", "-v2c", "-c", "public", target, "1.3.6.1.2.1.1.99.0").returncode == 0
        assert net_snmp("snmpgetnext", "-v2c", "-c", "public", target, "1.3.6.1.2.1.1").returncode == 0
        net_snmp("snmpgetnext", "-v2c", "-c", "public", target, "1.3.7")  # past the end: endOfMibView
        walk = net_snmp("snmpbulkwalk", "-v2c", "-c", "public", "-Cr25", target, "1.3.6.1.2.1")
        assert walk.returncode == 0
        v1walk = net_snmp("snmpwalk", "-v1", "-c", "public", target, "1.3.6.1.2.1.1")
        assert v1walk.returncode == 0
        wrong = net_snmp(
            "snmpget", "-v2c", "-c", "wrong", "-t", "0.3", "-r", "0", target, "1.3.6.1.2.1.1.1.0"
        )
        assert wrong.returncode != 0  # snmpd drops a bad community: a request with no response
    requests = check_wire(relay.requests)
    responses = check_wire(relay.responses)
    assert len(responses) >= 40, "the bulk walk of mib-2 takes many round trips"
    assert {m.pdu.type for m in requests} == {"get", "getnext", "getbulk"}
    assert {m.pdu.type for m in responses} == {"response"}
    assert {m.version for m in requests} == {0, 1}
    # every response answers a request with the same id
    assert {m.pdu.request_id for m in responses} <= {m.pdu.request_id for m in requests}
    seen_types = {vb.type for m in responses for vb in m.pdu.varbinds}
    assert {
        "OctetString",
        "ObjectIdentifier",
        "TimeTicks",
        "Integer",
        "Counter32",
        "Gauge32",
        "NoSuchObject",
        "EndOfMibView",
    } <= seen_types, seen_types
    by_oid = {vb.oid: vb for m in responses for vb in m.pdu.varbinds}
    assert by_oid["1.3.6.1.2.1.1.1.0"].value == b"printwatch test agent"
    assert by_oid["1.3.6.1.2.1.1.6.0"].value == b"lab bench 3"
    # the bulk walk's text output and our decoding agree on every sysName-like string
    assert "pw-test" in walk.stdout and by_oid["1.3.6.1.2.1.1.5.0"].value == b"pw-test"


def walk_lines(output: str) -> dict[str, str]:
    """OID -> raw value text of snmpbulkwalk -On output (first line of each variable)."""
    out = {}
    for line in output.splitlines():
        if line.startswith(".") and " = " in line:
            oid, value = line.split(" = ", 1)
            out[oid.lstrip(".")] = value
    return out


def test_snmpsim_every_recording(snmpsim_port: int, recordings: list[Path]) -> None:
    """Bulk-walk every printer recording through snmpsim; every datagram round-trips and every
    variable that net-snmp printed is among the ones printwatch decoded."""
    total = 0
    for rec in recordings:
        community = rec.stem
        with Relay(snmpsim_port).running() as relay:
            walk = net_snmp(
                "snmpbulkwalk",
                "-v2c",
                "-c",
                community,
                "-Cr25",
                "-t",
                "5",
                f"127.0.0.1:{relay.port}",
                "1.3.6",
                timeout_s=120,
            )
        assert walk.returncode == 0, (rec.name, walk.stderr)
        check_wire(relay.requests)
        responses = check_wire(relay.responses)
        decoded = {vb.oid for m in responses for vb in m.pdu.varbinds if vb.type != "EndOfMibView"}
        printed = walk_lines(walk.stdout)
        assert set(printed) <= decoded, (rec.name, sorted(set(printed) - decoded)[:5])
        # Every variable net-snmp printed comes from the recording. (Not the converse: snmpsim
        # answers endOfMibView at a line it cannot serve, e.g. okilan_9450g line 23, a Counter32
        # recorded as "6git3159", so its walk of that recording stops there.)
        recorded = {ln.split("|", 1)[0] for ln in rec.read_text(errors="replace").splitlines() if ln.strip()}
        assert set(printed) <= recorded, (rec.name, sorted(set(printed) - recorded)[:5])
        total += len(printed)
    assert total > 2000, total


def test_snmpsim_counter64_and_binary_strings(snmpsim_port: int) -> None:
    """Values with the less common encodings, checked against the recording's own text."""
    with Relay(snmpsim_port).running() as relay:
        # jetdirect: ipSystemStatsHCInReceives.2 is Counter64 15063260; ifPhysAddress.2 is binary
        r = net_snmp(
            "snmpget",
            "-v2c",
            "-c",
            "jetdirect",
            f"127.0.0.1:{relay.port}",
            "1.3.6.1.2.1.4.31.1.1.4.2",
            "1.3.6.1.2.1.2.2.1.6.2",
        )
        assert r.returncode == 0, r.stderr
    (response,) = check_wire(relay.responses)
    counter, mac = response.pdu.varbinds
    assert (counter.type, counter.value) == ("Counter64", 15063260)
    assert (mac.type, mac.value) == ("OctetString", bytes.fromhex("9457A534DF33"))
