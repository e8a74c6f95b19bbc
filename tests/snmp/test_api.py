"""The public codec API: construction rules, round trips, and errors that say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from printwatch import snmp
from printwatch.cli.selfcheck import sample_messages

CAPTURES = Path(__file__).resolve().parents[2] / "rust" / "tests" / "captures"


@pytest.mark.parametrize("msg", sample_messages(), ids=lambda m: m.pdu.type)
def test_every_pdu_kind_round_trips(msg: snmp.Message) -> None:
    data = snmp.encode(msg)
    back = snmp.decode(data)
    assert back == msg
    assert snmp.encode(back) == data


def test_fields_of_a_decoded_capture() -> None:
    msg = snmp.decode((CAPTURES / "snmpget_response.bin").read_bytes())
    assert (msg.version, msg.community, msg.pdu.type) == (1, b"public", "response")
    assert msg.pdu.error_status == 0 and msg.pdu.non_repeaters is None
    descr, uptime = msg.pdu.varbinds
    assert (descr.oid, descr.type, descr.value) == (
        "1.3.6.1.2.1.1.1.0",
        "OctetString",
        b"printwatch capture host",
    )
    assert (uptime.oid, uptime.type) == ("1.3.6.1.2.1.1.3.0", "TimeTicks")
    assert isinstance(uptime.value, int)


def test_v1_error_response_capture() -> None:
    msg = snmp.decode((CAPTURES / "snmpget_v1_nosuchname_response.bin").read_bytes())
    assert msg.version == 0
    assert (msg.pdu.error_status, msg.pdu.error_index) == (2, 2)  # noSuchName, second varbind


def test_getbulk_fields() -> None:
    msg = snmp.decode((CAPTURES / "snmpbulkwalk_supplies_request.bin").read_bytes())
    assert msg.pdu.type == "getbulk"
    assert (msg.pdu.non_repeaters, msg.pdu.max_repetitions) == (0, 30)
    assert (msg.pdu.error_status, msg.pdu.error_index) == (0, 0)


def test_values_are_checked_against_their_type() -> None:
    with pytest.raises(ValueError, match="out of range"):
        snmp.VarBind("1.3.6.1", "Integer", 2**31)
    with pytest.raises(ValueError, match="out of range"):
        snmp.VarBind("1.3.6.1", "Counter32", -1)
    with pytest.raises(TypeError, match="bytes"):
        snmp.VarBind("1.3.6.1", "OctetString", "text")
    with pytest.raises(TypeError, match="int"):
        snmp.VarBind("1.3.6.1", "Gauge32", True)
    with pytest.raises(TypeError, match="None"):
        snmp.VarBind("1.3.6.1", "Null", 0)
    with pytest.raises(ValueError, match="bad IPv4"):
        snmp.VarBind("1.3.6.1", "IpAddress", "1.2.3")
    with pytest.raises(ValueError, match="unknown value type"):
        snmp.VarBind("1.3.6.1", "Float", 1)
    assert snmp.VarBind("1.3.6.1", "OctetString", bytearray(b"ab")).value == b"ab"


@pytest.mark.parametrize(
    "oid", ["", "1", "3.1", "1.40.1", "1..3", "1.3.x", "1.3.4294967296", ".".join(["1"] * 129)]
)
def test_bad_oids_are_refused(oid: str) -> None:
    with pytest.raises(ValueError, match="bad OID"):
        snmp.VarBind(oid)


def test_oid_normalisation() -> None:
    assert snmp.VarBind(".1.3.6.1.2.1").oid == "1.3.6.1.2.1"
    assert snmp.VarBind("1.3.6.1.4.1.4294967295").oid == "1.3.6.1.4.1.4294967295"


def test_pdu_rules() -> None:
    with pytest.raises(ValueError, match="unknown PDU type"):
        snmp.Pdu("walk")
    with pytest.raises(ValueError, match="getbulk only"):
        snmp.Pdu("get", non_repeaters=1)
    with pytest.raises(ValueError, match="max_repetitions"):
        snmp.Pdu("getbulk", max_repetitions=-1)
    with pytest.raises(ValueError, match="enterprise and agent_addr"):
        snmp.Pdu("trapv1")
    with pytest.raises(TypeError, match=r"varbinds\[1\]"):
        snmp.Pdu("get", [snmp.VarBind("1.3.6"), "1.3.6"])  # type: ignore[list-item]
    bulk = snmp.Pdu("getbulk")
    assert (bulk.non_repeaters, bulk.max_repetitions) == (0, 10)


def test_message_rules() -> None:
    with pytest.raises(ValueError, match="version"):
        snmp.Message(3, b"public", snmp.Pdu("get"))
    with pytest.raises(TypeError, match="bytes"):
        snmp.Message(1, "public", snmp.Pdu("get"))  # type: ignore[arg-type]


def test_set_is_never_encoded() -> None:
    with pytest.raises(snmp.EncodeError, match="never sends a SetRequest"):
        snmp.encode(
            snmp.Message(
                1, b"private", snmp.Pdu("set", [snmp.VarBind("1.3.6.1.2.1.1.5.0", "OctetString", b"x")])
            )
        )


@pytest.mark.parametrize(
    ("version", "pdu"),
    [
        (0, snmp.Pdu("getbulk")),
        (0, snmp.Pdu("inform")),
        (0, snmp.Pdu("trap")),
        (0, snmp.Pdu("report")),
        (1, snmp.Pdu("trapv1", enterprise="1.3.6.1.4.1", agent_addr="10.0.0.1")),
    ],
)
def test_pdu_must_exist_in_its_version(version: int, pdu: snmp.Pdu) -> None:
    with pytest.raises(snmp.EncodeError, match="not allowed in SNMP version"):
        snmp.encode(snmp.Message(version, b"public", pdu))


def test_equality_and_repr() -> None:
    a = snmp.VarBind("1.3.6.1", "Integer", 5)
    assert a == snmp.VarBind("1.3.6.1", "Integer", 5)
    assert a != snmp.VarBind("1.3.6.1", "Gauge32", 5)
    assert a != snmp.VarBind("1.3.6.2", "Integer", 5)
    assert a != "not a varbind"
    assert repr(a) == "VarBind('1.3.6.1', \"Integer\", 5)"
    assert "request_id=7" in repr(snmp.Pdu("get", [a], request_id=7))


def test_errors_belong_to_the_printwatch_family() -> None:
    from printwatch import PrintwatchError

    assert issubclass(snmp.DecodeError, PrintwatchError)
    assert issubclass(snmp.EncodeError, PrintwatchError)
