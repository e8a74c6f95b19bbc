"""``printwatch selfcheck``: a short proof that the installed core works."""

from __future__ import annotations

import argparse
import time
from typing import Literal

from printwatch import __version__, snmp
from printwatch.cli.options import Subparsers

SAMPLE_VALUES: list[tuple[str, snmp.VarBind]] = [
    ("Integer", snmp.VarBind("1.3.6.1.2.1.25.3.2.1.5.1", "Integer", -3)),
    ("OctetString", snmp.VarBind("1.3.6.1.2.1.43.11.1.1.6.1.1", "OctetString", b"Black Toner")),
    ("Null", snmp.VarBind("1.3.6.1.2.1.1.1.0")),
    ("ObjectIdentifier", snmp.VarBind("1.3.6.1.2.1.1.2.0", "ObjectIdentifier", "1.3.6.1.4.1.253.8.62")),
    ("IpAddress", snmp.VarBind("1.3.6.1.2.1.4.20.1.1.1", "IpAddress", "192.0.2.7")),
    ("Counter32", snmp.VarBind("1.3.6.1.2.1.2.2.1.10.1", "Counter32", 4294967295)),
    ("Gauge32", snmp.VarBind("1.3.6.1.2.1.2.2.1.5.1", "Gauge32", 100000000)),
    ("TimeTicks", snmp.VarBind("1.3.6.1.2.1.1.3.0", "TimeTicks", 123456)),
    ("Opaque", snmp.VarBind("1.3.6.1.4.1.2021.10.1.6.1", "Opaque", b"\x9f\x78\x04\x3f\x80\x00\x00")),
    ("Counter64", snmp.VarBind("1.3.6.1.2.1.31.1.1.1.6.1", "Counter64", 2**64 - 1)),
    ("NoSuchObject", snmp.VarBind("1.3.6.1.2.1.1.99.0", "NoSuchObject")),
    ("NoSuchInstance", snmp.VarBind("1.3.6.1.2.1.1.1.1", "NoSuchInstance")),
    ("EndOfMibView", snmp.VarBind("1.3.6.1.9", "EndOfMibView")),
]


def sample_messages() -> list[snmp.Message]:
    """One message of every PDU type printwatch encodes, carrying every value type."""
    vbs = [vb for _, vb in SAMPLE_VALUES]
    kinds: tuple[Literal["get", "getnext", "response", "trap", "inform", "report"], ...] = (
        "get",
        "getnext",
        "response",
        "trap",
        "inform",
        "report",
    )
    v2c = [snmp.Pdu(kind, vbs, request_id=1000 + i) for i, kind in enumerate(kinds)]
    v2c.append(snmp.Pdu("getbulk", vbs[:3], request_id=42, non_repeaters=1, max_repetitions=25))
    messages = [snmp.Message(1, b"public", pdu) for pdu in v2c]
    trap = snmp.Pdu(
        "trapv1",
        vbs[:2],
        enterprise="1.3.6.1.4.1.11",
        agent_addr="192.0.2.9",
        generic_trap=6,
        specific_trap=3,
        timestamp=500,
    )
    messages.append(snmp.Message(0, b"public", trap))
    return messages


def run_selfcheck(seconds: float = 0.5) -> int:
    print(f"printwatch {__version__}: Rust core loaded")
    failures = 0
    messages = sample_messages()
    for msg in messages:
        data = snmp.encode(msg)
        back = snmp.decode(data)
        ok = back == msg and snmp.encode(back) == data
        failures += not ok
        mark = "ok " if ok else "BAD"
        print(f"  {mark} {msg.pdu.type:<9} {len(msg.pdu.varbinds):2d} varbinds, {len(data)} bytes")
    try:
        snmp.encode(snmp.Message(1, b"public", snmp.Pdu("set", [])))
        print("  BAD a SetRequest was encoded")
        failures += 1
    except snmp.EncodeError:
        print("  ok  set refused (printwatch only reads)")
    try:
        snmp.decode(snmp.encode(messages[0])[:-1])
        print("  BAD a truncated message decoded")
        failures += 1
    except snmp.DecodeError as err:
        print(f"  ok  truncated input rejected: {err}")
    data = snmp.encode(messages[2])
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            snmp.encode(snmp.decode(data))
        count += 200
    rate = count / (time.perf_counter() - start)
    print(f"  codec: {rate:,.0f} decode+encode round trips/s of a {len(data)}-byte response")
    print("selfcheck passed" if not failures else f"selfcheck FAILED ({failures})")
    return 1 if failures else 0


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Encode and decode one message of every PDU and value type through the "
        "Rust core, compare, and time the codec briefly. Exit status 0 when all is well.",
    )
    parser.add_argument("--seconds", type=float, default=0.5, help="how long to time the codec (default 0.5)")
    return parser


def run(args: argparse.Namespace) -> int:
    return run_selfcheck(seconds=args.seconds)
