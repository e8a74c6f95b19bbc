"""Differential tests: printwatch's SNMP codec (``printwatch.snmp``) against pysnmp.

pysnmp (its ASN.1 message definitions in ``pysnmp.proto``, encoded and decoded by pyasn1's BER
codec) is the reference. Each message is described by a plain :class:`Model` (every field and
every varbind as Python values), and is checked in both directions:

1. printwatch encodes it; pysnmp decodes the bytes back to the same model.
2. pysnmp encodes it; printwatch decodes the bytes back to the same model and re-encodes them
   byte for byte (a SetRequest is decoded, but printwatch refuses to encode it).

Known differences between the two, each handled explicitly below and pinned by its own test:

* pyasn1 0.6.5 (``pyasn1.compat.integer.to_bytes``, used by its BER INTEGER encoder) encodes the
  INTEGERs -2**(8k-1) (-128, -32768, -8388608, -2**31) with a redundant leading 0xFF octet,
  e.g. -128 as ``02 02 ff 80`` instead of ``02 01 80``. X.690 8.3.2 forbids that in BER (not
  only in DER) for senders; printwatch's decoder reads it, as net-snmp does. Upstream:
  https://github.com/pyasn1/pyasn1/issues/117 (fix proposed in pull request #118). When pysnmp
  encodes such a value, direction 2 asserts that printwatch reads the value and writes it back
  one octet shorter, instead of a byte-for-byte round trip.
* pysnmp's SNMPv1 definitions (RFC 1157 / RFC 1155) have no Counter64 and no
  noSuchObject/noSuchInstance/endOfMibView, so pysnmp can neither encode nor decode a v1
  message carrying them; printwatch encodes and decodes any value type in v1.
* pysnmp's SNMPv2c PDU (RFC 3416) constrains error-index to 0..max-bindings, so it refuses a
  negative error-index; printwatch accepts any Integer32.

For the last two, the test asserts that pysnmp's own definitions refuse the message, then compares
against ``LAX``: the same pysnmp types with only that restriction lifted.

pysnmp 7.1.30 emits no DeprecationWarning on import or through the snake_case API used here, so
nothing needs filtering (pytest runs with ``filterwarnings = error``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from hypothesis import currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from printwatch import snmp
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import namedtype, univ
from pyasn1.type.error import ValueConstraintError
from pysnmp.proto import api, rfc1155, rfc1157, rfc1902, rfc1905

from tests.support.examples import examples

V1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

# ---------------------------------------------------------------------------------------------
# The model: a message as plain Python values.
# ---------------------------------------------------------------------------------------------

STANDARD_FIELDS = ("request_id", "error_status", "error_index")
BULK_FIELDS = ("request_id", "non_repeaters", "max_repetitions")
TRAP_V1_FIELDS = ("enterprise", "agent_addr", "generic_trap", "specific_trap", "timestamp")


def field_names(pdu_type: str) -> tuple[str, ...]:
    return {"getbulk": BULK_FIELDS, "trapv1": TRAP_V1_FIELDS}.get(pdu_type, STANDARD_FIELDS)


@dataclasses.dataclass(frozen=True)
class Model:
    version: int
    community: bytes
    pdu_type: str
    fields: tuple[tuple[str, Any], ...]  # (name, value) in field_names(pdu_type) order
    varbinds: tuple[tuple[str, str, Any], ...]  # (oid, type, value)

    def field(self, name: str) -> Any:
        return dict(self.fields)[name]


def model(version: int, community: bytes, pdu_type: str, varbinds=(), **fields: Any) -> Model:
    defaults = {
        "request_id": 0,
        "error_status": 0,
        "error_index": 0,
        "non_repeaters": 0,
        "max_repetitions": 0,
        "enterprise": "1.3.6.1.4.1",
        "agent_addr": "0.0.0.0",
        "generic_trap": 0,
        "specific_trap": 0,
        "timestamp": 0,
    }
    names = field_names(pdu_type)
    assert set(fields) <= set(names), fields
    return Model(
        version, community, pdu_type, tuple((n, fields.get(n, defaults[n])) for n in names), tuple(varbinds)
    )


VALID_COMBOS = [(0, t) for t in ("get", "getnext", "response", "set", "trapv1")] + [
    (1, t) for t in ("get", "getnext", "getbulk", "response", "set", "trap", "inform", "report")
]
INVALID_COMBOS = [(0, t) for t in ("getbulk", "trap", "inform", "report")] + [(1, "trapv1")]
assert {t for _, t in VALID_COMBOS} == set(snmp.PDU_TYPES)

SMIV1_TYPES = frozenset(
    (
        "Integer",
        "OctetString",
        "Null",
        "ObjectIdentifier",
        "IpAddress",
        "Counter32",
        "Gauge32",
        "TimeTicks",
        "Opaque",
    )
)
INT_TYPES = frozenset(("Integer", "Counter32", "Gauge32", "TimeTicks", "Counter64"))
NONE_TYPES = frozenset(("Null", "NoSuchObject", "NoSuchInstance", "EndOfMibView"))
assert SMIV1_TYPES | {"Counter64"} | NONE_TYPES == set(snmp.VALUE_TYPES)

# The INTEGER values pyasn1 encodes with a redundant leading 0xFF (see the module docstring).
PYASN1_NON_MINIMAL = frozenset(-(2 ** (8 * k - 1)) for k in range(1, 5))
SIGNED_FIELDS = ("request_id", "error_status", "error_index", "generic_trap", "specific_trap")


def pyasn1_non_minimal(m: Model) -> bool:
    """Whether pyasn1 encodes one of this message's INTEGERs with a redundant 0xFF octet."""
    ints = [v for n, v in m.fields if n in SIGNED_FIELDS]
    ints += [v for _, t, v in m.varbinds if t == "Integer"]
    return any(v in PYASN1_NON_MINIMAL for v in ints)


def pysnmp_refusal(m: Model) -> type[PyAsn1Error] | None:
    """The error pysnmp's own definitions for this version raise for the message, if any."""
    if m.version == 0 and any(t not in SMIV1_TYPES for _, t, _ in m.varbinds):
        return PyAsn1Error  # RFC 1155 ObjectSyntax has no such type
    if m.version == 1 and m.pdu_type != "getbulk" and m.field("error_index") < 0:
        return ValueConstraintError  # RFC 3416: error-index INTEGER (0..max-bindings)
    return None


# ---------------------------------------------------------------------------------------------
# printwatch side
# ---------------------------------------------------------------------------------------------


def to_printwatch(m: Model) -> snmp.Message:
    varbinds = [snmp.VarBind(oid, t, v) for oid, t, v in m.varbinds]
    return snmp.Message(m.version, m.community, snmp.Pdu(m.pdu_type, varbinds, **dict(m.fields)))


def from_printwatch(msg: snmp.Message) -> Model:
    pdu = msg.pdu
    # The API's invariants: fields that do not belong to the PDU type read 0 or None.
    if pdu.type == "getbulk":
        assert (pdu.error_status, pdu.error_index) == (0, 0)
    else:
        assert (pdu.non_repeaters, pdu.max_repetitions) == (None, None)
    if pdu.type == "trapv1":
        assert (pdu.request_id, pdu.error_status, pdu.error_index) == (0, 0, 0)
    else:
        assert (pdu.enterprise, pdu.agent_addr, pdu.generic_trap, pdu.specific_trap, pdu.timestamp) == (
            None,
        ) * 5
    varbinds = tuple((vb.oid, vb.type, vb.value) for vb in pdu.varbinds)
    fields = tuple((n, getattr(pdu, n)) for n in field_names(pdu.type))
    return Model(msg.version, msg.community, pdu.type, fields, varbinds)


# ---------------------------------------------------------------------------------------------
# pysnmp side
# ---------------------------------------------------------------------------------------------

# LAX: pysnmp's message definitions with only the two restrictions printwatch does not have
# lifted: every PDU carries RFC 1905 varbinds (all SNMPv2 types, also inside the v1 Trap-PDU),
# and error-index is any Integer32. It also offers every PDU under one version field, which the
# mismatch tests use to build messages that neither version allows.
_LAX_PDU_COMPONENTS = namedtype.NamedTypes(
    namedtype.NamedType("request-id", rfc1902.Integer32()),
    namedtype.NamedType("error-status", rfc1905.errorStatus),
    namedtype.NamedType("error-index", rfc1902.Integer32()),
    namedtype.NamedType("variable-bindings", rfc1905.VarBindList()),
)


def _lax(cls: type) -> type:
    return type(f"Lax{cls.__name__}", (cls,), {"componentType": _LAX_PDU_COMPONENTS})


class LaxTrapV1PDU(rfc1157.TrapPDU):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("enterprise", univ.ObjectIdentifier()),
        namedtype.NamedType("agent-addr", rfc1155.NetworkAddress()),
        namedtype.NamedType("generic-trap", rfc1157.genericTrap),
        namedtype.NamedType("specific-trap", univ.Integer()),
        namedtype.NamedType("time-stamp", rfc1155.TimeTicks()),
        namedtype.NamedType("variable-bindings", rfc1905.VarBindList()),
    )


_LAX_PDUS = {
    "get": ("get-request", _lax(rfc1905.GetRequestPDU)),
    "getnext": ("get-next-request", _lax(rfc1905.GetNextRequestPDU)),
    "getbulk": ("get-bulk-request", rfc1905.GetBulkRequestPDU),
    "response": ("response", _lax(rfc1905.ResponsePDU)),
    "set": ("set-request", _lax(rfc1905.SetRequestPDU)),
    "inform": ("inform-request", _lax(rfc1905.InformRequestPDU)),
    "trap": ("snmpV2-trap", _lax(rfc1905.SNMPv2TrapPDU)),
    "report": ("report", _lax(rfc1905.ReportPDU)),
    "trapv1": ("trap", LaxTrapV1PDU),
}


class LaxPDUs(univ.Choice):
    componentType = namedtype.NamedTypes(
        *(namedtype.NamedType(name, cls()) for name, cls in _LAX_PDUS.values())
    )


class LaxMessage(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("version", univ.Integer()),
        namedtype.NamedType("community", univ.OctetString()),
        namedtype.NamedType("data", LaxPDUs()),
    )


class Spec(NamedTuple):
    name: str
    message: type
    pdus: dict[str, tuple[str, type]]  # printwatch PDU type -> (pyasn1 component name, class)
    values: dict[str, Callable[[Any], Any]]  # printwatch value type -> pysnmp value


def _ip(dotted: str) -> bytes:
    return bytes(int(x) for x in dotted.split("."))


def _arcs(dotted: str) -> tuple[int, ...]:
    return tuple(int(x) for x in dotted.split("."))


V1_VALUES = {
    "Integer": V1.Integer,
    "OctetString": V1.OctetString,
    "Null": lambda _: V1.Null(""),
    "ObjectIdentifier": lambda v: V1.ObjectIdentifier(_arcs(v)),
    "IpAddress": lambda v: V1.IpAddress(_ip(v)),
    "Counter32": V1.Counter,
    "Gauge32": V1.Gauge,
    "TimeTicks": V1.TimeTicks,
    "Opaque": V1.Opaque,
}
V2C_VALUES = {
    "Integer": V2C.Integer,
    "OctetString": V2C.OctetString,
    "Null": lambda _: V2C.Null(""),
    "ObjectIdentifier": lambda v: V2C.ObjectIdentifier(_arcs(v)),
    "IpAddress": lambda v: V2C.IpAddress(_ip(v)),
    "Counter32": V2C.Counter32,
    "Gauge32": V2C.Gauge32,
    "TimeTicks": V2C.TimeTicks,
    "Opaque": V2C.Opaque,  # the value is the raw content of tag 0x44, like printwatch's
    "Counter64": V2C.Counter64,
    "NoSuchObject": lambda _: rfc1905.noSuchObject,
    "NoSuchInstance": lambda _: rfc1905.noSuchInstance,
    "EndOfMibView": lambda _: rfc1905.endOfMibView,
}
assert set(V2C_VALUES) == set(snmp.VALUE_TYPES) and set(V1_VALUES) == SMIV1_TYPES

SPEC_V1 = Spec(
    "v1",
    V1.Message,
    {
        "get": ("get-request", V1.GetRequestPDU),
        "getnext": ("get-next-request", V1.GetNextRequestPDU),
        "response": ("get-response", V1.GetResponsePDU),
        "set": ("set-request", V1.SetRequestPDU),
        "trapv1": ("trap", V1.TrapPDU),
    },
    {**V2C_VALUES, **V1_VALUES},
)  # SMIv2-only values: pysnmp's v1 API refuses them itself
SPEC_V2C = Spec(
    "v2c",
    V2C.Message,
    {
        "get": ("get-request", V2C.GetRequestPDU),
        "getnext": ("get-next-request", V2C.GetNextRequestPDU),
        "getbulk": ("get-bulk-request", V2C.GetBulkRequestPDU),
        "response": ("response", V2C.ResponsePDU),
        "set": ("set-request", V2C.SetRequestPDU),
        "trap": ("snmpV2-trap", V2C.SNMPv2TrapPDU),
        "inform": ("inform-request", V2C.InformRequestPDU),
        "report": ("report", V2C.ReportPDU),
    },
    V2C_VALUES,
)
LAX = Spec("lax", LaxMessage, _LAX_PDUS, V2C_VALUES)
SPECS = {0: SPEC_V1, 1: SPEC_V2C}

# Decoded values are classified by their tag, which is the same in the v1 and v2c definitions.
TAG_TYPES = {
    univ.Integer.tagSet: "Integer",
    univ.OctetString.tagSet: "OctetString",
    univ.Null.tagSet: "Null",
    univ.ObjectIdentifier.tagSet: "ObjectIdentifier",
    rfc1902.IpAddress.tagSet: "IpAddress",
    rfc1902.Counter32.tagSet: "Counter32",
    rfc1902.Gauge32.tagSet: "Gauge32",
    rfc1902.TimeTicks.tagSet: "TimeTicks",
    rfc1902.Opaque.tagSet: "Opaque",
    rfc1902.Counter64.tagSet: "Counter64",
    rfc1905.NoSuchObject.tagSet: "NoSuchObject",
    rfc1905.NoSuchInstance.tagSet: "NoSuchInstance",
    rfc1905.EndOfMibView.tagSet: "EndOfMibView",
}
assert set(TAG_TYPES.values()) == set(snmp.VALUE_TYPES)


def build_pysnmp(m: Model, spec: Spec) -> univ.Sequence:
    """The message as a pysnmp object, built with pysnmp's protocol API."""
    msg_api = V1.apiMessage if spec is SPEC_V1 else V2C.apiMessage
    msg = spec.message()
    msg_api.set_defaults(msg)
    msg_api.set_version(msg, m.version)
    msg_api.set_community(msg, m.community)
    pdu = spec.pdus[m.pdu_type][1]()
    f = dict(m.fields)
    if m.pdu_type == "trapv1":
        # Not apiTrapPDU.set_defaults: it resolves the host name (a network lookup).
        V1.apiTrapPDU.set_enterprise(pdu, _arcs(f["enterprise"]))
        V1.apiTrapPDU.set_agent_address(pdu, V1.IpAddress(_ip(f["agent_addr"])))
        V1.apiTrapPDU.set_generic_trap(pdu, f["generic_trap"])
        V1.apiTrapPDU.set_specific_trap(pdu, f["specific_trap"])
        V1.apiTrapPDU.set_timestamp(pdu, V1.TimeTicks(f["timestamp"]))
        pdu_api = V1.apiTrapPDU
    elif m.pdu_type == "getbulk":
        V2C.apiBulkPDU.set_defaults(pdu)
        V2C.apiBulkPDU.set_request_id(pdu, f["request_id"])
        V2C.apiBulkPDU.set_non_repeaters(pdu, f["non_repeaters"])
        V2C.apiBulkPDU.set_max_repetitions(pdu, f["max_repetitions"])
        pdu_api = V2C.apiBulkPDU
    else:
        pdu_api = V1.apiPDU if spec is SPEC_V1 else V2C.apiPDU
        pdu_api.set_defaults(pdu)
        pdu_api.set_request_id(pdu, f["request_id"])
        pdu_api.set_error_status(pdu, f["error_status"])
        pdu_api.set_error_index(pdu, f["error_index"])
    pdu_api.set_varbinds(pdu, [(_arcs(oid), spec.values[t](v)) for oid, t, v in m.varbinds])
    msg_api.set_pdu(msg, pdu)
    return msg


def _dotted(oid: univ.ObjectIdentifier) -> str:
    return ".".join(str(arc) for arc in oid.asTuple())


def value_from_pysnmp(v: Any) -> tuple[str, Any]:
    kind = TAG_TYPES[v.tagSet]
    if kind in INT_TYPES:
        return kind, int(v)
    if kind in ("OctetString", "Opaque"):
        return kind, v.asOctets()
    if kind == "ObjectIdentifier":
        return kind, _dotted(v)
    if kind == "IpAddress":
        return kind, ".".join(str(b) for b in v.asNumbers())
    assert v.asOctets() == b"", kind
    return kind, None


def decode_pysnmp(wire: bytes, spec: Spec) -> Model:
    """Decodes with pysnmp's definitions and reads every field back with pysnmp's API."""
    msg, rest = decoder.decode(wire, asn1Spec=spec.message())
    assert rest == b""
    names = {name: t for t, (name, _) in spec.pdus.items()}
    pdu_type = names[msg["data"].getName()]
    msg_api = V1.apiMessage if spec is SPEC_V1 else V2C.apiMessage
    pdu = msg_api.get_pdu(msg)
    assert pdu.tagSet == spec.pdus[pdu_type][1].tagSet
    if pdu_type == "trapv1":
        a = V1.apiTrapPDU
        fields = (
            _dotted(a.get_enterprise(pdu)),
            ".".join(map(str, a.get_agent_address(pdu).asNumbers())),
            int(a.get_generic_trap(pdu)),
            int(a.get_specific_trap(pdu)),
            int(a.get_timestamp(pdu)),
        )
        varbinds = a.get_varbinds(pdu)
    elif pdu_type == "getbulk":
        a = V2C.apiBulkPDU
        fields = (int(a.get_request_id(pdu)), int(a.get_non_repeaters(pdu)), int(a.get_max_repetitions(pdu)))
        varbinds = a.get_varbinds(pdu)
    else:
        a = V1.apiPDU if spec is SPEC_V1 else V2C.apiPDU
        # The component itself, not apiPDU.get_error_index: that raises a ProtocolError when
        # error-index exceeds the number of varbinds, a sanity check for applications, not part
        # of the encoding (printwatch reports the field as it is).
        error_index = pdu.getComponentByPosition(2)
        fields = (int(a.get_request_id(pdu)), int(a.get_error_status(pdu)), int(error_index))
        varbinds = a.get_varbinds(pdu)
    return Model(
        int(msg_api.get_version(msg)),
        msg_api.get_community(msg).asOctets(),
        pdu_type,
        tuple(zip(field_names(pdu_type), fields, strict=True)),
        tuple((_dotted(oid), *value_from_pysnmp(value)) for oid, value in varbinds),
    )


# ---------------------------------------------------------------------------------------------
# The two directions
# ---------------------------------------------------------------------------------------------


def note(what: str) -> None:
    """Counts a case in hypothesis' statistics (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        event(what)


def check_printwatch_to_pysnmp(m: Model) -> None:
    """Direction 1: printwatch encodes, pysnmp decodes the same message."""
    msg = to_printwatch(m)
    if m.pdu_type == "set":
        with pytest.raises(snmp.EncodeError):
            snmp.encode(msg)
        return
    wire = snmp.encode(msg)
    spec = SPECS[m.version]
    refusal = pysnmp_refusal(m)
    if refusal is not None:
        note(f"pysnmp's own definitions refuse it: {refusal.__name__}")
        with pytest.raises(refusal):
            decoder.decode(wire, asn1Spec=spec.message())
        spec = LAX
    assert decode_pysnmp(wire, spec) == m


def assert_pyasn1_non_minimal(wire: bytes, m: Model) -> None:
    """pyasn1 wrote -2**(8k-1) as FF 80 ..; printwatch reads the value (as net-snmp does) and
    writes it back minimal, one octet shorter per such INTEGER."""
    decoded = snmp.decode(wire)
    assert from_printwatch(decoded) == m
    assert decoded == to_printwatch(m)
    if m.pdu_type != "set":
        ours = snmp.encode(decoded)
        assert len(ours) < len(wire)
        assert snmp.decode(ours) == decoded
    # pyasn1 reads its own bytes back as the same message.
    assert decode_pysnmp(wire, LAX if pysnmp_refusal(m) else SPECS[m.version]) == m


def check_pysnmp_to_printwatch(m: Model) -> bytes:
    """Direction 2: pysnmp encodes, printwatch decodes the same message and re-encodes it."""
    spec = SPECS[m.version]
    refusal = pysnmp_refusal(m)
    if refusal is not None:
        note(f"pysnmp's own API refuses it: {refusal.__name__}")
        with pytest.raises(refusal):
            build_pysnmp(m, spec)
        spec = LAX
    wire = encoder.encode(build_pysnmp(m, spec))
    if pyasn1_non_minimal(m):
        note("pyasn1 wrote a non-minimal INTEGER")
        assert_pyasn1_non_minimal(wire, m)
        return wire
    decoded = snmp.decode(wire)
    assert from_printwatch(decoded) == m
    assert decoded == to_printwatch(m)
    if m.pdu_type == "set":
        with pytest.raises(snmp.EncodeError):
            snmp.encode(decoded)
    else:
        assert snmp.encode(decoded).hex() == wire.hex()
    return wire


def check_both(m: Model) -> None:
    check_printwatch_to_pysnmp(m)
    check_pysnmp_to_printwatch(m)


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------


def _with_edges(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in lo..hi, often at the ends and at the lengths' steps (±2**(8k-1), 2**(8k))."""
    steps = [
        s + d
        for k in range(1, 9)
        for s in (2 ** (8 * k - 1), -(2 ** (8 * k - 1)), 2 ** (8 * k))
        for d in (-1, 0, 1)
    ]
    edges = sorted({v for v in (lo, lo + 1, hi - 1, hi, 0, 1, -1, *steps) if lo <= v <= hi})
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi), st.integers(max(lo, -300), min(hi, 300)))


int32s = _with_edges(INT32_MIN, INT32_MAX)
# Agents send small error-status/error-index values; often so here too, else any Integer32.
small_or_int32s = st.one_of(st.integers(0, 20), int32s)
uint31s = _with_edges(0, INT32_MAX)
uint32s = _with_edges(0, U32_MAX)
uint64s = _with_edges(0, U64_MAX)

# Empty, short, and long enough for the long length forms (> 127 and > 255 octets).
octets = st.one_of(
    st.binary(max_size=16),
    st.sampled_from([b"", b"\x00", b"\xff" * 127, b"a" * 128, b"\x80" * 255, b"z" * 256]),
    st.binary(min_size=120, max_size=300),
)

ARC_EDGES = [
    0,
    1,
    39,
    40,
    127,
    128,
    16383,
    16384,
    2**21 - 1,
    2**21,
    2**28 - 1,
    2**28,
    2**31 - 1,
    2**31,
    U32_MAX - 1,
    U32_MAX,
]
arcs = st.one_of(st.sampled_from(ARC_EDGES), st.integers(0, 300), st.integers(0, U32_MAX))


@st.composite
def oids(draw: st.DrawFn) -> str:
    first = draw(st.integers(0, 2))
    if first < 2:
        second = draw(st.one_of(st.sampled_from([0, 39]), st.integers(0, 39)))
    else:
        # The first sub-identifier is 80 + second, itself at most 2**32-1.
        second = draw(st.one_of(st.sampled_from([0, 47, 48, U32_MAX - 80]), st.integers(0, U32_MAX - 80)))
    rest = draw(st.one_of(st.lists(arcs, max_size=12), st.lists(arcs, min_size=100, max_size=126)))
    return ".".join(str(a) for a in (first, second, *rest))


ip_addresses = st.tuples(*[st.sampled_from([0, 1, 127, 128, 255]) | st.integers(0, 255)] * 4).map(
    lambda t: ".".join(map(str, t))
)

VALUE_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "Integer": int32s,
    "OctetString": octets,
    "Null": st.none(),
    "ObjectIdentifier": oids(),
    "IpAddress": ip_addresses,
    "Counter32": uint32s,
    "Gauge32": uint32s,
    "TimeTicks": uint32s,
    "Opaque": octets,
    "Counter64": uint64s,
    "NoSuchObject": st.none(),
    "NoSuchInstance": st.none(),
    "EndOfMibView": st.none(),
}
assert set(VALUE_STRATEGIES) == set(snmp.VALUE_TYPES)

varbinds = st.tuples(oids(), st.sampled_from(snmp.VALUE_TYPES)).flatmap(
    lambda ot: VALUE_STRATEGIES[ot[1]].map(lambda v: (ot[0], ot[1], v))
)


@st.composite
def models(draw: st.DrawFn, combos: list[tuple[int, str]]) -> Model:
    version, pdu_type = draw(st.sampled_from(combos))
    community = draw(octets)
    if pdu_type == "getbulk":
        fields = {
            "request_id": draw(int32s),
            "non_repeaters": draw(uint31s),
            "max_repetitions": draw(uint31s),
        }
    elif pdu_type == "trapv1":
        fields = {
            "enterprise": draw(oids()),
            "agent_addr": draw(ip_addresses),
            "generic_trap": draw(int32s),
            "specific_trap": draw(int32s),
            "timestamp": draw(uint32s),
        }
    else:
        fields = {
            "request_id": draw(int32s),
            "error_status": draw(small_or_int32s),
            "error_index": draw(small_or_int32s),
        }
    vbs = draw(st.lists(varbinds, max_size=8))
    return model(version, community, pdu_type, vbs, **fields)


ENCODABLE = [c for c in VALID_COMBOS if c[1] != "set"]

# ---------------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------------


@settings(max_examples=examples(300), deadline=None)
@given(models(ENCODABLE))
def test_printwatch_encoding_decodes_identically_in_pysnmp(m: Model) -> None:
    check_printwatch_to_pysnmp(m)


@settings(max_examples=examples(300), deadline=None)
@given(models(VALID_COMBOS))
def test_pysnmp_encoding_decodes_identically_in_printwatch_and_reencodes_byte_for_byte(m: Model) -> None:
    check_pysnmp_to_printwatch(m)


@settings(max_examples=examples(100), deadline=None)
@given(models(INVALID_COMBOS))
def test_pdu_not_in_version_is_rejected_by_both(m: Model) -> None:
    msg = build_pysnmp(m, LAX)
    wire = encoder.encode(msg)
    # pysnmp's definitions for that version do not have the PDU either.
    with pytest.raises(PyAsn1Error):
        decoder.decode(wire, asn1Spec=SPECS[m.version].message())
    with pytest.raises(snmp.DecodeError) as caught:
        snmp.decode(wire)
    assert caught.value.reason == "pdu_not_allowed"
    assert caught.value.offset == len(wire) - len(encoder.encode(msg["data"].getComponent()))
    with pytest.raises(snmp.EncodeError):
        snmp.encode(to_printwatch(m))


# ---------------------------------------------------------------------------------------------
# Examples: every PDU type with every value type at its bounds
# ---------------------------------------------------------------------------------------------

LONG_OID = ".".join(["2", str(U32_MAX - 80)] + [str(U32_MAX)] * 126)  # 128 arcs, all maximal

BOUNDS: list[tuple[str, Any]] = [
    ("Integer", INT32_MIN + 1),
    ("Integer", -1),
    ("Integer", 0),
    ("Integer", INT32_MAX),
    ("OctetString", b""),
    ("OctetString", bytes(range(256)) * 2),
    ("Null", None),
    ("ObjectIdentifier", "0.0"),
    ("ObjectIdentifier", LONG_OID),
    ("IpAddress", "0.0.0.0"),
    ("IpAddress", "255.255.255.255"),
    ("Counter32", 0),
    ("Counter32", U32_MAX),
    ("Gauge32", 0),
    ("Gauge32", U32_MAX),
    ("TimeTicks", 0),
    ("TimeTicks", U32_MAX),
    ("Opaque", b""),
    ("Opaque", b"\x9f\x78\x04\x3f\x80\x00\x00" * 40),
    ("Counter64", 0),
    ("Counter64", U64_MAX),
    ("NoSuchObject", None),
    ("NoSuchInstance", None),
    ("EndOfMibView", None),
]
assert {t for t, _ in BOUNDS} == set(snmp.VALUE_TYPES)
# INT32_MIN itself is in test_pyasn1_writes_non_minimal_negative_integers and the strategies.


@pytest.mark.parametrize(("version", "pdu_type"), VALID_COMBOS)
def test_every_value_type_in_every_pdu_type(version: int, pdu_type: str) -> None:
    vbs = [(f"1.3.6.1.4.1.99999.{i}", t, v) for i, (t, v) in enumerate(BOUNDS)]
    if pdu_type == "getbulk":
        fields = {"request_id": INT32_MAX, "non_repeaters": INT32_MAX, "max_repetitions": 0}
    elif pdu_type == "trapv1":
        fields = {
            "enterprise": LONG_OID,
            "agent_addr": "255.255.255.255",
            "generic_trap": INT32_MAX,
            "specific_trap": INT32_MIN + 1,
            "timestamp": U32_MAX,
        }
    else:
        fields = {"request_id": INT32_MIN + 1, "error_status": INT32_MAX, "error_index": len(vbs)}
    check_both(model(version, b"\x00community\xff" * 20, pdu_type, vbs, **fields))


# Each value's encoding, as X.690 (minimal) has it; both encoders must produce exactly this.
KNOWN_ENCODINGS: list[tuple[str, Any, str]] = [
    ("Integer", 0, "020100"),
    ("Integer", 127, "02017f"),
    ("Integer", 128, "02020080"),
    ("Integer", -1, "0201ff"),
    ("Integer", -129, "0202ff7f"),
    ("Integer", INT32_MAX, "02047fffffff"),
    ("Integer", INT32_MIN + 1, "020480000001"),
    ("Counter32", U32_MAX, "410500ffffffff"),
    ("Gauge32", 2**31, "42050080000000"),
    ("TimeTicks", 0, "430100"),
    ("Counter64", U64_MAX, "460900" + "ff" * 8),
    ("Counter64", 2**63 - 1, "46087f" + "ff" * 7),
    ("OctetString", b"", "0400"),
    ("OctetString", b"x" * 127, "047f" + "78" * 127),
    ("OctetString", b"x" * 128, "048180" + "78" * 128),
    ("OctetString", b"x" * 255, "0481ff" + "78" * 255),
    ("OctetString", b"x" * 256, "04820100" + "78" * 256),
    ("Opaque", b"\x04\x01\x00", "4403040100"),
    ("Opaque", b"y" * 300, "4482012c" + "79" * 300),
    ("ObjectIdentifier", "0.0", "060100"),
    ("ObjectIdentifier", "1.39", "06014f"),
    ("ObjectIdentifier", "2.47", "06017f"),
    ("ObjectIdentifier", "2.48", "06028100"),
    ("ObjectIdentifier", f"2.{U32_MAX - 80}", "06058fffffff7f"),
    ("ObjectIdentifier", f"1.3.{U32_MAX}.128", "06082b8fffffff7f8100"),
    ("IpAddress", "10.0.255.1", "40040a00ff01"),
    ("Null", None, "0500"),
    ("NoSuchObject", None, "8000"),
    ("NoSuchInstance", None, "8100"),
    ("EndOfMibView", None, "8200"),
]
assert {t for t, _, _ in KNOWN_ENCODINGS} == set(snmp.VALUE_TYPES)


@pytest.mark.parametrize(("value_type", "value", "tlv"), KNOWN_ENCODINGS)
def test_known_value_encodings(value_type: str, value: Any, tlv: str) -> None:
    for version in (0, 1):
        m = model(version, b"public", "response", [("1.3.6.1.2.1.1.1.0", value_type, value)], request_id=1)
        check_printwatch_to_pysnmp(m)
        wire = check_pysnmp_to_printwatch(m)
        assert wire.hex().endswith("06082b06010201010100" + tlv)  # the last varbind: name, value


def test_long_form_lengths_up_to_three_octets() -> None:
    # A 65535-octet string (pysnmp's rfc1902.OctetString maximum): its own length is 82 ffff and
    # every enclosing length needs three octets (83 ......).
    vbs = [("1.3.6.1.2.1.1.1.0", "OctetString", b"\xa5" * 65535), ("1.3.6.1.2.1.1.2.0", "Opaque", b"o" * 300)]
    m = model(1, b"c" * 300, "response", vbs, request_id=7)
    check_printwatch_to_pysnmp(m)
    wire = check_pysnmp_to_printwatch(m)
    assert wire[1] == 0x83
    assert "0482ffff" in wire[:400].hex()


@pytest.mark.parametrize(
    "oid",
    [
        "0.0",
        "0.39",
        "1.0",
        "1.39",
        "2.0",
        f"2.{U32_MAX - 80}",
        LONG_OID,
        ".".join(["1", "3"] + [str(U32_MAX)] * 126),
        ".".join(["0", "0"] + ["0"] * 126),
    ],
)
def test_shortest_and_longest_oids(oid: str) -> None:
    assert 2 <= len(oid.split(".")) <= 128
    check_both(model(1, b"public", "response", [(oid, "ObjectIdentifier", oid)]))
    check_both(model(0, b"public", "trapv1", [(oid, "Null", None)], enterprise=oid, agent_addr="1.2.3.4"))


def test_oids_beyond_printwatch_limits_from_pysnmp_are_rejected() -> None:
    # pysnmp's ObjectIdentifier has neither limit; RFC 2578 section 3.5 has both.
    for arcs_, reason in [((1, 3) + (1,) * 127, "oid_too_long"), ((1, 3, U32_MAX + 1), "oid_overflow")]:
        msg = build_pysnmp(model(1, b"public", "get", [("1.3", "Null", None)]), SPEC_V2C)
        V2C.apiPDU.set_varbinds(V2C.apiMessage.get_pdu(msg), [(arcs_, V2C.Null(""))])
        wire = encoder.encode(msg)
        with pytest.raises(snmp.DecodeError) as caught:
            snmp.decode(wire)
        assert caught.value.reason == reason


# ---------------------------------------------------------------------------------------------
# Examples: SetRequest, PDU/version mismatches, and the known differences
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
def test_set_request_is_decoded_but_never_encoded(version: int) -> None:
    vbs = [("1.3.6.1.2.1.1.5.0", "OctetString", b"printer-42"), ("1.3.6.1.2.1.1.6.0", "Integer", 5)]
    m = model(version, b"private", "set", vbs, request_id=99)
    wire = check_pysnmp_to_printwatch(m)
    assert wire[wire.index(b"private") + 7] == 0xA3
    with pytest.raises(snmp.EncodeError):
        snmp.encode(to_printwatch(m))


def test_v1_message_with_getbulk_is_rejected() -> None:
    m = model(
        0,
        b"public",
        "getbulk",
        [("1.3.6.1.2.1.2.2.1.2", "Null", None)],
        request_id=1,
        non_repeaters=0,
        max_repetitions=10,
    )
    msg = LaxMessage()
    V2C.apiMessage.set_defaults(msg)
    V2C.apiMessage.set_version(msg, 0)
    pdu = V2C.GetBulkRequestPDU()
    V2C.apiBulkPDU.set_defaults(pdu)
    V2C.apiBulkPDU.set_request_id(pdu, 1)
    V2C.apiBulkPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 2, 2, 1, 2), V2C.Null(""))])
    V2C.apiMessage.set_pdu(msg, pdu)
    wire = encoder.encode(msg)
    assert wire.hex() == "302702010004067075626c6963a51a02010102010002010a300f300d06092b06010201020201020500"
    with pytest.raises(PyAsn1Error):
        decoder.decode(wire, asn1Spec=V1.Message())
    with pytest.raises(snmp.DecodeError) as caught:
        snmp.decode(wire)
    assert (caught.value.reason, caught.value.offset) == ("pdu_not_allowed", 13)
    with pytest.raises(snmp.EncodeError):
        snmp.encode(to_printwatch(m))
    # The same bytes with version 1 are a fine v2c GetBulk.
    assert from_printwatch(snmp.decode(wire[:4] + b"\x01" + wire[5:])) == dataclasses.replace(m, version=1)


def test_v2c_message_with_v1_trap_is_rejected() -> None:
    m = model(
        1,
        b"public",
        "trapv1",
        [("1.3.6.1.2.1.1.3.0", "TimeTicks", 5)],
        enterprise="1.3.6.1.4.1.11",
        agent_addr="192.0.2.1",
        generic_trap=6,
        specific_trap=1,
    )
    wire = encoder.encode(build_pysnmp(m, LAX))
    with pytest.raises(PyAsn1Error):
        decoder.decode(wire, asn1Spec=V2C.Message())
    with pytest.raises(snmp.DecodeError) as caught:
        snmp.decode(wire)
    assert (caught.value.reason, caught.value.offset) == ("pdu_not_allowed", 13)


@pytest.mark.parametrize("value", sorted(PYASN1_NON_MINIMAL))
@pytest.mark.parametrize(
    "where", ["Integer", "request_id", "error_status", "error_index", "generic_trap", "specific_trap"]
)
def test_pyasn1_writes_non_minimal_negative_integers(value: int, where: str) -> None:
    """pyasn1 issue #117: -2**(8k-1) gets a redundant 0xFF octet; printwatch reads it."""
    if where == "Integer":
        m = model(1, b"public", "response", [("1.3.6.1", "Integer", value)])
    elif where.endswith("_trap"):
        m = model(0, b"public", "trapv1", [], enterprise="1.3.6", agent_addr="1.2.3.4", **{where: value})
    else:
        m = model(0, b"public", "get", [], **{where: value})
    minimal = value.to_bytes((-value).bit_length() // 8, "big", signed=True)  # 80, 8000, 800000, 80000000
    assert minimal[0] == 0x80 and int.from_bytes(minimal, "big", signed=True) == value
    ours = snmp.encode(to_printwatch(m))
    theirs = encoder.encode(build_pysnmp(m, SPECS[m.version]))
    integer = bytes([2, len(minimal)]) + minimal
    pyasn1_integer = bytes([2, len(minimal) + 1, 0xFF]) + minimal
    assert integer in ours and pyasn1_integer not in ours
    assert pyasn1_integer in theirs
    assert len(theirs) == len(ours) + 1
    check_printwatch_to_pysnmp(m)  # pysnmp reads printwatch's minimal form
    assert_pyasn1_non_minimal(theirs, m)  # printwatch reads pyasn1's redundant one


def test_pysnmp_v1_has_no_smiv2_values_but_printwatch_carries_them() -> None:
    vbs = [
        ("1.3.6.1.2.1.31.1.1.1.6.1", "Counter64", U64_MAX),
        ("1.3.6.1.2.1.1.9.0", "NoSuchObject", None),
        ("1.3.6.1.2.1.1.9.1", "NoSuchInstance", None),
        ("1.3.6.1.2.1.1.9.2", "EndOfMibView", None),
    ]
    for t in ("response", "trapv1"):
        m = model(0, b"public", t, vbs)
        for vb in vbs:
            assert pysnmp_refusal(dataclasses.replace(m, varbinds=(vb,))) is PyAsn1Error
        wire = snmp.encode(to_printwatch(m))
        with pytest.raises(PyAsn1Error, match="not in asn1Spec"):
            decoder.decode(wire, asn1Spec=V1.Message())
        check_both(m)


def test_pysnmp_v2c_refuses_negative_error_index_but_printwatch_carries_it() -> None:
    m = model(1, b"public", "response", [("1.3.6.1", "Null", None)], error_index=-1)
    assert pysnmp_refusal(m) is ValueConstraintError
    assert pysnmp_refusal(dataclasses.replace(m, version=0)) is None  # RFC 1157 has no constraint
    check_both(m)
    check_both(dataclasses.replace(m, version=0))
