"""printwatch's SNMP codec against pysnmp's, measured side by side in one run.

    python bench/codec_ratio.py [--seconds S] [--rounds N]

Two workloads, both a realistic printer poll (SNMPv2c, community ``public``):

* ``supplies-bulk-response``: the GetBulk *Response* of 30 varbinds from the Printer-MIB
  supplies table (prtMarkerSuppliesTable, 1.3.6.1.2.1.43.11.1.1) in
  ``rust/tests/captures/snmpbulkwalk_supplies_response.bin``, a real capture (snmpsim serving
  the LibreNMS Xerox recording), used as it is.
* ``get-10-scalars``: a GetRequest of 10 scalars (system group, HOST-RESOURCES-MIB printer
  status, prtGeneralSerialNumber, prtMarkerLifeCount) with NULL values, plus its Response
  with values like an HP LaserJet's. One unit of work is the pair: 2 messages.

The unit of work, the same for both libraries, for each message of the workload: encode the
library's message object to bytes, decode those bytes back into the library's message object and
take the varbinds out of it the way an application does:

* printwatch: ``snmp.encode(msg)``; ``snmp.decode(wire).pdu.varbinds`` (a tuple of
  ``VarBind`` whose ``.oid``/``.value`` are already plain ``str``/``int``/``bytes``).
* pysnmp 7 (its RFC 1901/3416 definitions, pyasn1's BER codec): ``encoder.encode(msg)``;
  ``decoder.decode(wire, asn1Spec=spec)`` with one ``v2c.Message()`` spec reused (as pysnmp's
  own message processing does), a check that no bytes are left over, then
  ``v2c.apiPDU.get_varbinds(v2c.apiMessage.get_pdu(msg))``: a list of (ObjectIdentifier, value)
  pyasn1 objects. That is pysnmp's fast path: it stops at pyasn1 objects and does not turn
  OIDs into dotted strings (``str(oid)``/``prettyPrint()`` would make pysnmp slower still).

Building the message objects (from Python values) is outside the timed work for both.

Method: each (workload, library) gets a batch size calibrated to ``--seconds / (4 * rounds)``;
then, ``--rounds`` times, one batch of each is timed with ``time.perf_counter``, interleaved
(the library order alternates between rounds) so that both see the same machine. Reported per
workload: the median µs per unit of work for each library, their ratio (pysnmp / printwatch),
the median and range of the per-round ratios (each round's two batches ran back to back), and
whether printwatch meets the target of being at least 50 times faster.

This module also defines the workloads for ``bench/bench_codec.py`` (pytest-benchmark).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from printwatch import snmp
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
TARGET = 50.0  # printwatch must be at least this many times faster than pysnmp

ROOT = Path(__file__).resolve().parent.parent
SUPPLIES_CAPTURE = ROOT / "rust" / "tests" / "captures" / "snmpbulkwalk_supplies_response.bin"

# ---------------------------------------------------------------------------------------------
# The messages, as plain Python values: (oid, printwatch value type, value).
# ---------------------------------------------------------------------------------------------

COMMUNITY = b"public"

# GetRequest for 10 scalars a printer poll reads, and an HP LaserJet-like Response.
GET_REQUEST_ID = 0x2C5A1E7
GET_SCALARS: list[tuple[str, str, Any]] = [
    (
        "1.3.6.1.2.1.1.1.0",
        "OctetString",  # sysDescr.0
        b"HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153,EEPROM JSI24090012,CIDATE 06/17/2020",
    ),
    ("1.3.6.1.2.1.1.2.0", "ObjectIdentifier", "1.3.6.1.4.1.11.2.3.9.1"),  # sysObjectID.0
    ("1.3.6.1.2.1.1.3.0", "TimeTicks", 123456789),  # sysUpTime.0 (14 days)
    ("1.3.6.1.2.1.1.5.0", "OctetString", b"NPI8A3C21"),  # sysName.0
    ("1.3.6.1.2.1.1.6.0", "OctetString", b"Building 2, Floor 3, Copy Room"),  # sysLocation.0
    ("1.3.6.1.2.1.25.3.2.1.5.1", "Integer", 2),  # hrDeviceStatus.1: running
    ("1.3.6.1.2.1.25.3.5.1.1.1", "Integer", 3),  # hrPrinterStatus.1: idle
    ("1.3.6.1.2.1.25.3.5.1.2.1", "OctetString", b"\x00"),  # hrPrinterDetectedErrorState.1
    ("1.3.6.1.2.1.43.5.1.1.17.1", "OctetString", b"VNB3R12345"),  # prtGeneralSerialNumber.1
    ("1.3.6.1.2.1.43.10.2.1.4.1.1", "Counter32", 184523),  # prtMarkerLifeCount.1.1
]


@dataclasses.dataclass(frozen=True)
class Spec:
    """One message as plain values, from which each library's message object is built."""

    pdu_type: str  # printwatch's name: "get", "response", ...
    request_id: int
    varbinds: tuple[tuple[str, str, Any], ...]
    error_status: int = 0
    error_index: int = 0


def supplies_spec() -> tuple[Spec, bytes]:
    """The captured supplies GetBulk response, as a Spec, and its bytes."""
    wire = SUPPLIES_CAPTURE.read_bytes()
    msg = snmp.decode(wire)
    assert (msg.version, msg.community, msg.pdu.type) == (1, COMMUNITY, "response")
    p = msg.pdu
    spec = Spec(
        p.type,
        p.request_id,
        tuple((vb.oid, vb.type, vb.value) for vb in p.varbinds),
        p.error_status,
        p.error_index,
    )
    return spec, wire


def get_specs() -> tuple[Spec, Spec]:
    request = Spec("get", GET_REQUEST_ID, tuple((oid, "Null", None) for oid, _, _ in GET_SCALARS))
    response = Spec("response", GET_REQUEST_ID, tuple(GET_SCALARS))
    return request, response


# ---------------------------------------------------------------------------------------------
# The two libraries: building a message object, the timed round trip, and a plain-value view
# of a decoded message (to check the round trip, outside the timing).
# ---------------------------------------------------------------------------------------------


def printwatch_message(s: Spec) -> snmp.Message:
    varbinds = [snmp.VarBind(oid, t, v) for oid, t, v in s.varbinds]
    pdu = snmp.Pdu(
        s.pdu_type, varbinds, request_id=s.request_id, error_status=s.error_status, error_index=s.error_index
    )
    return snmp.Message(1, COMMUNITY, pdu)


def printwatch_round_trip(msg: snmp.Message) -> tuple[bytes, snmp.Message, tuple]:
    wire = snmp.encode(msg)
    decoded = snmp.decode(wire)
    return wire, decoded, decoded.pdu.varbinds


def printwatch_view(decoded: snmp.Message) -> tuple:
    p = decoded.pdu
    return (
        decoded.version,
        decoded.community,
        p.type,
        p.request_id,
        p.error_status,
        p.error_index,
        tuple((vb.oid, vb.type, vb.value) for vb in p.varbinds),
    )


_PYSNMP_VALUES: dict[str, Callable[[Any], Any]] = {
    "Null": lambda _: V2C.null,
    "Integer": V2C.Integer,
    "OctetString": V2C.OctetString,
    "ObjectIdentifier": V2C.ObjectIdentifier,
    "TimeTicks": V2C.TimeTicks,
    "Counter32": V2C.Counter32,
    "Gauge32": V2C.Gauge32,
}
_PYSNMP_PDUS = {"get": V2C.GetRequestPDU, "response": V2C.ResponsePDU}
_PYSNMP_NAMES = {"get-request": "get", "response": "response"}
_PYSNMP_TYPES = {  # decoded value class -> printwatch's type name
    V2C.Null: "Null",
    V2C.Integer: "Integer",
    V2C.OctetString: "OctetString",
    V2C.ObjectIdentifier: "ObjectIdentifier",
    V2C.TimeTicks: "TimeTicks",
    V2C.Counter32: "Counter32",
    V2C.Gauge32: "Gauge32",
}


def pysnmp_message(s: Spec) -> Any:
    """The message built with pysnmp's protocol API (``pysnmp.proto.api.v2c``)."""
    msg = V2C.Message()
    V2C.apiMessage.set_defaults(msg)
    V2C.apiMessage.set_version(msg, 1)
    V2C.apiMessage.set_community(msg, COMMUNITY)
    pdu = _PYSNMP_PDUS[s.pdu_type]()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, s.request_id)
    V2C.apiPDU.set_error_status(pdu, s.error_status)
    V2C.apiPDU.set_error_index(pdu, s.error_index)
    V2C.apiPDU.set_varbinds(
        pdu, [(V2C.ObjectIdentifier(oid), _PYSNMP_VALUES[t](v)) for oid, t, v in s.varbinds]
    )
    V2C.apiMessage.set_pdu(msg, pdu)
    return msg


_PYSNMP_SPEC = V2C.Message()  # reused as the decoding template, like pysnmp's own mpmod does
_encode = encoder.encode
_decode = decoder.decode
_get_pdu = V2C.apiMessage.get_pdu
_get_varbinds = V2C.apiPDU.get_varbinds


def pysnmp_round_trip(msg: Any) -> tuple[bytes, Any, list]:
    wire = _encode(msg)
    decoded, rest = _decode(wire, asn1Spec=_PYSNMP_SPEC)
    if rest:
        raise ValueError("trailing bytes after the message")
    return wire, decoded, _get_varbinds(_get_pdu(decoded))


def pysnmp_view(decoded: Any, varbinds: list) -> tuple:
    pdu = V2C.apiMessage.get_pdu(decoded)

    def value(v: Any) -> tuple[str, Any]:
        t = _PYSNMP_TYPES[type(v)]
        if t == "Null":
            return t, None
        if t == "OctetString":
            return t, v.asOctets()
        if t == "ObjectIdentifier":
            return t, str(v)
        return t, int(v)

    return (
        int(V2C.apiMessage.get_version(decoded)),
        V2C.apiMessage.get_community(decoded).asOctets(),
        _PYSNMP_NAMES[decoded["data"].getName()],
        int(V2C.apiPDU.get_request_id(pdu)),
        int(V2C.apiPDU.get_error_status(pdu)),
        int(pdu.getComponentByPosition(2)),
        tuple((str(oid), *value(v)) for oid, v in varbinds),
    )


def spec_view(s: Spec) -> tuple:
    return (1, COMMUNITY, s.pdu_type, s.request_id, s.error_status, s.error_index, s.varbinds)


# ---------------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Workload:
    name: str
    description: str
    specs: list[Spec]
    wires: list[bytes]  # the expected encoding of each message (checked against both libraries)
    printwatch: list[snmp.Message]
    pysnmp: list[Any]

    def printwatch_work(self) -> Callable[[], list]:
        msgs, rt = self.printwatch, printwatch_round_trip
        return lambda: [rt(m) for m in msgs]

    def pysnmp_work(self) -> Callable[[], list]:
        msgs, rt = self.pysnmp, pysnmp_round_trip
        return lambda: [rt(m) for m in msgs]

    def check_printwatch(self, results: list) -> None:
        """Asserts that a printwatch unit of work encoded and decoded every message faithfully."""
        assert len(results) == len(self.specs)
        for (wire, decoded, varbinds), spec, expected, msg in zip(
            results, self.specs, self.wires, self.printwatch, strict=True
        ):
            assert wire == expected
            assert decoded == msg
            assert varbinds == msg.pdu.varbinds
            assert printwatch_view(decoded) == spec_view(spec)

    def check_pysnmp(self, results: list) -> None:
        """Asserts that a pysnmp unit of work encoded and decoded every message faithfully."""
        assert len(results) == len(self.specs)
        for (wire, decoded, varbinds), spec, expected, msg in zip(
            results, self.specs, self.wires, self.pysnmp, strict=True
        ):
            assert wire == expected
            assert decoded == msg
            assert pysnmp_view(decoded, varbinds) == spec_view(spec)


def _workload(name: str, description: str, specs: list[Spec], wires: list[bytes] | None = None) -> Workload:
    pw = [printwatch_message(s) for s in specs]
    if wires is None:
        wires = [snmp.encode(m) for m in pw]
    return Workload(name, description, specs, wires, pw, [pysnmp_message(s) for s in specs])


def workloads() -> list[Workload]:
    supplies, supplies_wire = supplies_spec()
    request, response = get_specs()
    return [
        _workload(
            "supplies-bulk-response",
            f"GetBulk Response, {len(supplies.varbinds)} varbinds of prtMarkerSuppliesTable "
            f"(real capture, {len(supplies_wire)} B)",
            [supplies],
            [supplies_wire],
        ),
        _workload(
            "get-10-scalars",
            f"GetRequest of {len(request.varbinds)} scalars (NULL) + its Response: 2 messages",
            [request, response],
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


def _time_batch(fn: Callable[[], Any], n: int) -> float:
    """Seconds per call over a batch of n calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def _calibrate(fn: Callable[[], Any], batch_seconds: float) -> int:
    n = 1
    while True:
        elapsed = _time_batch(fn, n) * n
        if elapsed >= batch_seconds / 4 or n >= 1 << 24:
            break
        n *= 2
    return max(1, round(n * batch_seconds / max(elapsed, 1e-9)))


def measure(wls: list[Workload], seconds: float, rounds: int) -> dict[str, dict[str, list[float]]]:
    libs = ("printwatch", "pysnmp")
    fns = {
        (w.name, lib): (w.printwatch_work() if lib == "printwatch" else w.pysnmp_work())
        for w in wls
        for lib in libs
    }
    # Warm up, and check that every unit of work is correct before timing it.
    for w in wls:
        w.check_printwatch(fns[w.name, "printwatch"]())
        w.check_pysnmp(fns[w.name, "pysnmp"]())
    batch_seconds = seconds / (len(fns) * rounds)
    sizes = {key: _calibrate(fn, batch_seconds) for key, fn in fns.items()}
    per_call: dict[str, dict[str, list[float]]] = {w.name: {lib: [] for lib in libs} for w in wls}
    for r in range(rounds):
        order = libs if r % 2 == 0 else libs[::-1]
        for w in wls:
            for lib in order:
                per_call[w.name][lib].append(_time_batch(fns[w.name, lib], sizes[w.name, lib]))
    return per_call


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="total time spent in timed batches (default 20; calibration and setup add ~1 s)",
    )
    ap.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a workload misses the target")
    args = ap.parse_args(argv)

    wls = workloads()
    print(
        f"python {platform.python_version()} ({platform.machine()}), printwatch {_version('printwatch')}, "
        f"pysnmp {_version('pysnmp')}, pyasn1 {_version('pyasn1')}"
    )
    print(
        f"{args.rounds} interleaved rounds, ~{args.seconds:g} s of timed batches; "
        "unit of work = encode + decode + varbinds, per message of the workload"
    )
    for w in wls:
        print(f"  {w.name}: {w.description}; sizes {', '.join(f'{len(b)} B' for b in w.wires)}")
    per_call = measure(wls, args.seconds, args.rounds)

    print()
    header = (
        f"{'workload':<24} {'library':<11} {'median µs':>10} {'(min..max)':>16} {'µs/msg':>9}"
        f" {'ratio':>7} {'per-round ratio':>18}  target: >= {TARGET:g}x"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for w in wls:
        medians = {}
        for lib in ("printwatch", "pysnmp"):
            times = [t * 1e6 for t in per_call[w.name][lib]]
            medians[lib] = med = statistics.median(times)
            digits = 2 if med < 100 else 0
            spread = f"({min(times):.{digits}f}..{max(times):.{digits}f})"
            line = (
                f"{w.name if lib == 'printwatch' else '':<24} {lib:<11} {med:>10.{digits}f} {spread:>16}"
                f" {med / len(w.wires):>9.{digits}f}"
            )
            if lib == "pysnmp":
                ratio = medians["pysnmp"] / medians["printwatch"]
                paired = [
                    b / a
                    for a, b in zip(per_call[w.name]["printwatch"], per_call[w.name]["pysnmp"], strict=True)
                ]
                meets = ratio >= TARGET
                ok &= meets
                rounds = f"{statistics.median(paired):.0f}x ({min(paired):.0f}..{max(paired):.0f})"
                line += f" {ratio:>6.0f}x {rounds:>18}  {'MEETS' if meets else 'MISSES'}"
            print(line)
    print(
        "ratio = median pysnmp / median printwatch; per-round ratio = median (min..max) over rounds of "
        "the two batches timed back to back"
    )
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
