"""Malformed input: every broken message gives DecodeError with an offset — never a crash or hang."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from printwatch import snmp
from printwatch.cli.selfcheck import sample_messages

from tests.support.examples import examples

CAPTURES = sorted((Path(__file__).resolve().parents[2] / "rust" / "tests" / "captures").glob("*.bin"))
GOOD = [p.read_bytes() for p in CAPTURES] + [snmp.encode(m) for m in sample_messages()]


def reason_of(data: bytes) -> tuple[str, int]:
    with pytest.raises(snmp.DecodeError) as info:
        snmp.decode(data)
    err = info.value
    assert 0 <= err.offset <= len(data)
    assert str(err).endswith(f"at byte {err.offset}")
    return err.reason, err.offset


@pytest.mark.parametrize(
    "data", GOOD, ids=[p.name for p in CAPTURES] + [m.pdu.type for m in sample_messages()]
)
def test_truncated_at_every_byte(data: bytes) -> None:
    assert snmp.decode(data)
    for cut in range(len(data)):
        reason, _ = reason_of(data[:cut])
        assert reason in {"truncated", "length_past_end"}, (cut, reason)


@pytest.mark.parametrize("data", GOOD[:4])
def test_trailing_garbage_after_the_message(data: bytes) -> None:
    assert reason_of(data + b"\x00") == ("trailing_bytes", len(data))


GET = snmp.encode(
    snmp.Message(1, b"public", snmp.Pdu("get", [snmp.VarBind("1.3.6.1.2.1.1.1.0")], request_id=1))
)
# offset: 0 30 26 | 2 02 01 01 | 5 04 06 "public" | 13 a0 19 | 15 02 01 01 | 18 02 01 00 | 21 02 01 00
#         24 30 0e | 26 30 0c | 28 06 08 2b 06 01 02 01 01 01 00 | 38 05 00


def patched(offset: int, new: bytes) -> bytes:
    return GET[:offset] + new + GET[offset + len(new) :]


def test_the_reference_message_layout() -> None:
    assert GET.hex() == "302602010104067075626c6963a019020101020100020100300e300c06082b060102010101000500"


@pytest.mark.parametrize(
    ("data", "reason", "offset"),
    [
        (b"", "truncated", 0),
        (b"\x30", "truncated", 1),
        (patched(1, b"\x80"), "indefinite_length", 1),
        (patched(1, b"\x27"), "length_past_end", 2),  # outer length claims one byte too many
        (patched(1, b"\x25"), "trailing_bytes", 39),  # outer length one short: a byte is left over
        (patched(1, b"\x85"), "length_too_long", 1),
        (patched(1, b"\xff"), "length_too_long", 1),
        (patched(0, b"\x31"), "unexpected_tag", 0),  # SET OF instead of SEQUENCE
        (patched(0, b"\x1f"), "unexpected_tag", 0),  # a fixed tag is expected here
        (patched(38, b"\x1f"), "high_tag_number", 38),  # any tag may come here, but not this form
        (patched(2, b"\x04"), "unexpected_tag", 2),  # version is not an INTEGER
        (patched(4, b"\x03"), "unsupported_version", 4),  # SNMPv3 is not spoken here (yet)
        (patched(5, b"\x02"), "unexpected_tag", 5),  # community is not an OCTET STRING
        (patched(13, b"\xa9"), "unknown_pdu_tag", 13),
        (patched(13, b"\xa4"), "pdu_not_allowed", 13),  # v1 Trap-PDU in a v2c message
        (patched(14, b"\x18"), "trailing_bytes", 39),  # PDU length one short
        (patched(25, b"\x0d"), "trailing_bytes", 39),  # varbind list length one short
        (patched(27, b"\x0b"), "truncated", 39),  # varbind length one short: cuts the value's length
        (patched(27, b"\x0d"), "length_past_end", 28),  # varbind length one too many
        (patched(28, b"\x04"), "unexpected_tag", 28),  # name is not an OID
        (patched(29, b"\x00"), "empty_oid", 30),
        (patched(37, b"\x80"), "malformed_oid", 37),  # sub-identifier starting with 0x80
        (patched(37, b"\x81"), "malformed_oid", 38),  # continuation that never ends
        (patched(38, b"\x09"), "unknown_value_tag", 38),  # REAL where a value goes
        (patched(38, b"\x05\x01"), "length_past_end", 40),
    ],
)
def test_specific_defects(data: bytes, reason: str, offset: int) -> None:
    assert reason_of(data) == (reason, offset)


def value_message(value_tlv: bytes) -> bytes:
    """A v2c response with one varbind whose value element is `value_tlv`."""
    vb = b"\x06\x03\x2b\x06\x01" + value_tlv
    vbs = b"\x30" + bytes([len(vb)]) + vb
    vbl = b"\x30" + bytes([len(vbs)]) + vbs
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + vbl
    pdu = b"\xa2" + bytes([len(pdu_body)]) + pdu_body
    body = b"\x02\x01\x01\x04\x06public" + pdu
    return b"\x30" + bytes([len(body)]) + body


@pytest.mark.parametrize(
    ("value_tlv", "reason"),
    [
        (b"\x02\x00", "empty_integer"),
        (b"\x02\x05\x00\x80\x00\x00\x00", "integer_out_of_range"),
        (b"\x41\x01\x80", "integer_out_of_range"),  # negative Counter32
        (b"\x41\x05\x01\x00\x00\x00\x00", "integer_out_of_range"),  # 2**32
        (b"\x46\x09\x01\x00\x00\x00\x00\x00\x00\x00\x00", "integer_out_of_range"),  # 2**64
        (b"\x40\x03\x01\x02\x03", "bad_ip_address"),
        (b"\x05\x01\x00", "non_empty_null"),
        (b"\x82\x01\x00", "non_empty_null"),
        (b"\x06\x06\x2b\x90\x80\x80\x80\x00", "oid_overflow"),
        (b"\x06\x03\x2b\x80\x01", "malformed_oid"),
        (b"\x24\x03\x04\x01\x41", "unknown_value_tag"),  # constructed OCTET STRING is not SNMP
    ],
)
def test_bad_values(value_tlv: bytes, reason: str) -> None:
    assert reason_of(value_message(value_tlv))[0] == reason


def test_values_at_their_limits_decode() -> None:
    for tlv, value in [
        (b"\x02\x04\x80\x00\x00\x00", -(2**31)),
        (b"\x41\x05\x00\xff\xff\xff\xff", 2**32 - 1),
        (b"\x46\x09\x00" + b"\xff" * 8, 2**64 - 1),
    ]:
        assert snmp.decode(value_message(tlv)).pdu.varbinds[0].value == value


def test_non_minimal_length_is_accepted() -> None:
    """X.690 BER allows a long-form length that is longer than needed; some printers send it."""
    loose = b"\x30\x81" + GET[1:]
    assert snmp.decode(loose) == snmp.decode(GET)


def test_deep_nesting_is_an_error_not_a_recursion() -> None:
    depth = 20_000
    nested = b""
    for _ in range(depth):  # SEQUENCE { SEQUENCE { ... } }, long-form lengths all the way down
        nested = b"\x30\x84" + len(nested).to_bytes(4, "big") + nested
    assert reason_of(nested) == ("unexpected_tag", 6)
    assert reason_of(b"\x30\x80" * depth) == ("indefinite_length", 1)
    # a constructed value where a varbind value goes
    assert reason_of(value_message(b"\x30\x04\x30\x02\x30\x00"))[0] == "unknown_value_tag"


def assert_decodes_or_rejects(data: bytes) -> None:
    """Any input either decodes — and then round-trips through our encoder (SET aside, which
    is never encoded) — or raises DecodeError with an offset inside the input."""
    try:
        msg = snmp.decode(data)
    except snmp.DecodeError as err:
        assert 0 <= err.offset <= len(data)
    else:
        if msg.pdu.type != "set":
            assert snmp.decode(snmp.encode(msg)) == msg


@settings(max_examples=examples(3000), deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    assert_decodes_or_rejects(data)


@settings(max_examples=examples(2000), deadline=None)
@given(st.sampled_from(GOOD), st.integers(min_value=0, max_value=10_000), st.binary(min_size=1, max_size=4))
def test_mutated_real_packets_never_crash(data: bytes, where: int, junk: bytes) -> None:
    at = where % len(data)
    assert_decodes_or_rejects(data[:at] + junk + data[at + len(junk) :])


@pytest.mark.parametrize(
    ("value_tlv", "vtype", "value"),
    [
        (b"\x02\x02\x00\x01", "Integer", 1),
        (b"\x02\x02\xff\x80", "Integer", -128),  # pyasn1's -128
        (b"\x02\x05\x00\x00\x00\x00\x07", "Integer", 7),
        (b"\x41\x06\x00\x00\xff\xff\xff\xff", "Counter32", 2**32 - 1),
        (b"\x46\x0a\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff", "Counter64", 2**64 - 1),
    ],
)
def test_redundant_integer_sign_octets_are_read(value_tlv: bytes, vtype: str, value: int) -> None:
    # X.690 asks senders for minimal INTEGERs; gosnmp and pyasn1 send longer ones and net-snmp
    # reads them. printwatch reads the value and writes it back minimal.
    msg = snmp.decode(value_message(value_tlv))
    [vb] = msg.pdu.varbinds
    assert (vb.type, vb.value) == (vtype, value)
    assert snmp.decode(snmp.encode(msg)) == msg


def test_gosnmp_request_id_in_four_octets_is_read() -> None:
    # prometheus-snmp-exporter 0.21 (gosnmp) sends request-id 0x1a3f32 as 02 04 00 1a 3f 32.
    vbl = b"\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x05\x00\x05\x00"
    body = b"\x02\x04\x00\x1a\x3f\x32\x02\x01\x00\x02\x01\x00" + vbl
    pdu = b"\xa0" + bytes([len(body)]) + body
    msg_body = b"\x02\x01\x01\x04\x06public" + pdu
    msg = snmp.decode(b"\x30" + bytes([len(msg_body)]) + msg_body)
    assert msg.pdu.request_id == 0x1A3F32
