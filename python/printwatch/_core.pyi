"""Typed stubs of the Rust extension ``printwatch._core`` (see ``rust/src/py/``)."""

import os
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Literal, TypedDict, final

__version__: str
__all__ = [
    "PDU_TYPES",
    "VALUE_TYPES",
    "Batch",
    "DecodeError",
    "EncodeError",
    "Engine",
    "IcmpSweep",
    "Message",
    "Pdu",
    "Plan",
    "PrintwatchError",
    "Simulator",
    "Target",
    "TargetResult",
    "V3Credentials",
    "VarBind",
    "__version__",
    "decode",
    "encode",
    "expand_networks",
    "icmp_kinds",
]

_ValueType = Literal[
    "Integer",
    "OctetString",
    "Null",
    "ObjectIdentifier",
    "IpAddress",
    "Counter32",
    "Gauge32",
    "TimeTicks",
    "Opaque",
    "Counter64",
    "NoSuchObject",
    "NoSuchInstance",
    "EndOfMibView",
]
_PduType = Literal["get", "getnext", "getbulk", "response", "set", "trap", "inform", "report", "trapv1"]
_Value = int | bytes | str | None

VALUE_TYPES: tuple[_ValueType, ...]
"""The value type names, in wire-tag order (from the Rust core's own table)."""
PDU_TYPES: tuple[_PduType, ...]
"""The PDU type names: the eight standard PDUs, then ``trapv1``."""

class PrintwatchError(Exception):
    """Base class of the exceptions printwatch raises on purpose."""

class DecodeError(PrintwatchError):
    """Bytes that are not one valid SNMP v1/v2c message."""

    offset: int
    """Byte offset (from the start of the input) where the problem was found."""
    reason: str
    """Machine-readable kind, e.g. ``truncated``, ``length_past_end``, ``non_minimal_integer``."""
    detail: str
    """Human-readable description of the kind."""

class EncodeError(PrintwatchError):
    """A message printwatch will not encode (SetRequest) or that its version cannot carry."""

@final
class VarBind:
    """One variable binding; the value is checked against the type on construction."""

    def __new__(cls, oid: str, type: _ValueType = "Null", value: _Value = None) -> VarBind: ...
    @property
    def oid(self) -> str:
        """Dotted decimal, without a leading dot."""
    @property
    def type(self) -> _ValueType: ...
    @property
    def value(self) -> _Value: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Pdu:
    """A PDU. For getbulk, ``error_status`` and ``error_index`` are 0 and the bulk fields are set;
    for trapv1, the trap fields are set and ``request_id`` is 0."""

    def __new__(
        cls,
        type: _PduType,
        varbinds: Iterable[VarBind] | None = None,
        *,
        request_id: int = 0,
        error_status: int = 0,
        error_index: int = 0,
        non_repeaters: int | None = None,
        max_repetitions: int | None = None,
        enterprise: str | None = None,
        agent_addr: str | None = None,
        generic_trap: int = 0,
        specific_trap: int = 0,
        timestamp: int = 0,
    ) -> Pdu: ...
    @property
    def type(self) -> _PduType: ...
    @property
    def request_id(self) -> int: ...
    @property
    def error_status(self) -> int: ...
    @property
    def error_index(self) -> int: ...
    @property
    def non_repeaters(self) -> int | None: ...
    @property
    def max_repetitions(self) -> int | None: ...
    @property
    def enterprise(self) -> str | None: ...
    @property
    def agent_addr(self) -> str | None: ...
    @property
    def generic_trap(self) -> int | None: ...
    @property
    def specific_trap(self) -> int | None: ...
    @property
    def timestamp(self) -> int | None: ...
    @property
    def varbinds(self) -> tuple[VarBind, ...]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Message:
    """An SNMP v1 (version 0) or v2c (version 1) message."""

    def __new__(cls, version: int, community: bytes, pdu: Pdu) -> Message: ...
    @property
    def version(self) -> int: ...
    @property
    def community(self) -> bytes: ...
    @property
    def pdu(self) -> Pdu: ...
    def __eq__(self, other: object, /) -> bool: ...

def decode(data: bytes) -> Message:
    """Decode one message. Error handling: raises DecodeError; never crashes on any input."""

def encode(message: Message) -> bytes:
    """Encode with minimal BER. Error handling: raises EncodeError for SET or a PDU the version lacks."""

# --- the poll engine (rust/src/py/engine.rs) -------------------------------------------------

_Version = Literal["1", "2c", "3", "auto"]

@final
class V3Credentials:
    """An SNMPv3 (USM) user: name, protocols and the master keys made from the passwords (the
    passwords themselves are not kept). ``auth_proto``: ``MD5``, ``SHA`` (SHA-1), ``SHA-224``,
    ``SHA-256``, ``SHA-384``, ``SHA-512`` (dashes and case optional); ``priv_proto``: ``DES``,
    ``AES`` (AES-128), ``AES-192``, ``AES-256`` (the Blumenthal key extension, as net-snmp).

    Error handling: ValueError for an unknown protocol, a protocol without its password (or
    the reverse), privacy without authentication, a password shorter than 8 characters, or a
    user name or context over 32 bytes.
    """

    def __new__(
        cls,
        user: str | bytes,
        auth_proto: str | None = None,
        auth_pass: str | bytes | None = None,
        priv_proto: str | None = None,
        priv_pass: str | bytes | None = None,
        *,
        context: str | bytes | None = None,
    ) -> V3Credentials: ...
    @property
    def user(self) -> str: ...
    @property
    def auth_proto(self) -> str | None: ...
    @property
    def priv_proto(self) -> str | None: ...
    @property
    def context(self) -> str: ...
    @property
    def level(self) -> Literal["noAuthNoPriv", "authNoPriv", "authPriv"]: ...

_Failure = tuple[Literal["get", "walk"], str, str, str]

@final
class Plan:
    """Scalars to GET and subtrees to walk, shared by many targets.

    Error handling: ``ValueError`` for a malformed OID or an empty plan.
    """

    def __new__(cls, gets: Iterable[str] = ..., walks: Iterable[str] = ...) -> Plan: ...
    @property
    def gets(self) -> list[str]: ...
    @property
    def walks(self) -> list[str]: ...

@final
class Target:
    """One agent to poll: an IPv4 address, a port, a plan, a community and a version; or, with
    ``v3``, an SNMPv3 user (``version`` then ``"3"`` or ``"auto"``, which both mean SNMPv3)."""

    def __new__(
        cls,
        host: str,
        port: int = 161,
        *,
        plan: Plan,
        community: str | bytes | None = None,
        version: _Version = "auto",
        v3: V3Credentials | None = None,
    ) -> Target: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def community(self) -> bytes: ...
    @property
    def version(self) -> _Version: ...
    @property
    def v3(self) -> V3Credentials | None: ...

@final
class Engine:
    """The poll engine's settings (defaults in docs/engine.md); ``start`` polls a batch."""

    def __new__(
        cls,
        *,
        timeout_s: float = 1.0,
        retries: int = 2,
        backoff: float = 2.0,
        max_pps: int = 10_000,
        per_target: int = 1,
        max_repetitions: int = 25,
        max_rows: int = 10_000,
        max_get_oids: int = 60,
        walk_hints: bool = True,
    ) -> Engine: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def retries(self) -> int: ...
    @property
    def backoff(self) -> float: ...
    @property
    def max_pps(self) -> int: ...
    @property
    def per_target(self) -> int: ...
    @property
    def max_repetitions(self) -> int: ...
    @property
    def max_rows(self) -> int: ...
    @property
    def max_get_oids(self) -> int: ...
    @property
    def walk_hints(self) -> bool:
        """Whether each walk's first request is sized by what the last walk of the same table
        at the same address found (docs/engine.md)."""
    def known_tables(self) -> int:
        """How many (address, table) pairs this engine's walks have sized so far."""
    def known_engines(self) -> dict[str, tuple[bytes, int, int]]:
        """SNMPv3 engines discovered so far: ``{"host:port": (engine_id, boots, time)}``."""
    def start(self, targets: Iterable[Target], *, local_address: str = "0.0.0.0") -> Batch:
        """Start polling ``targets`` on a Rust thread; returns once it is spawned. The targets are
        read with the GIL held, their sessions made without it (15-75 ms of CPU at 10,000
        targets: the poller calls this in a worker thread).

        Error handling: ``OSError`` if the socket cannot be bound.
        """

@final
class Batch:
    """A running batch: take results with ``wait``, stop it with ``cancel``."""

    def wait(self, timeout_s: float = 1.0) -> list[TargetResult]:
        """Wait (GIL released) up to ``timeout_s`` for finished targets and take them.

        Error handling: ``OSError`` once all results are taken, if the engine's socket failed.
        """
    def cancel(self) -> None:
        """Stop sending within 20 ms; unfinished targets fail with ``cancelled``."""
    @property
    def done(self) -> bool: ...
    def statistics(self) -> dict[str, int]:
        """Packets and bytes each way, timeouts, retries, how answers were classed, and the
        I/O loop's turns (``turns``)."""

@final
class TargetResult:
    """One target's poll; values are converted to Python when first asked for."""

    @property
    def index(self) -> int: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def reachable(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def version(self) -> Literal["1", "2c", "3"] | None: ...
    @property
    def rtt_ms(self) -> float | None: ...
    @property
    def packets_sent(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def packets_received(self) -> int: ...
    @property
    def bytes_sent(self) -> int: ...
    @property
    def bytes_received(self) -> int: ...
    @property
    def varbind_count(self) -> int: ...
    @property
    def gets(self) -> dict[str, VarBind]: ...
    @property
    def walks(self) -> dict[str, tuple[VarBind, ...]]: ...
    def get(self, oid: str) -> VarBind | None:
        """One scalar as in ``gets`` (converting that value only); ``None`` if not read."""
    def digest(self, skip: Sequence[str] = ...) -> bytes:
        """SHA-256 of every GET and walked row, in plan order, but the GETs in ``skip``: equal
        digests, equal varbinds. ``ValueError`` for an OID that is not dotted decimal."""
    @property
    def failures(self) -> list[_Failure]:
        """``(operation, oid, kind, detail)``; ``kind`` is ``timeout``, ``malformed``, ``tooBig``,
        ``noSuchName``, ``loop``, ``rowCap``, ``badResponse``, ``sendError``, ``cancelled``, an
        RFC 3416 error-status name, or what an SNMPv3 agent reported: ``unknownUserName``,
        ``unknownEngineID``, ``wrongDigest``, ``decryptionError``, ``unsupportedSecLevel``,
        ``notInTimeWindow``, ``unknownContext``, ``report``."""

_Path = str | os.PathLike[str]

class _SimulatorStats(TypedDict):
    received: int
    """Datagrams received, for any address."""
    answered: int
    """Replies sent."""
    dropped: int
    """Datagrams not answered: outside the fleet, undecodable, wrong community, not a read."""
    send_errors: int
    """Replies the kernel refused (also counted in ``dropped``)."""
    bytes_received: int
    """UDP payload bytes received."""
    bytes_sent: int
    """UDP payload bytes sent."""
    lost: int
    """Requests the dynamics left unanswered: offline printers, lost packets (also ``dropped``)."""
    delayed: int
    """Replies a slow printer held back (counted in ``answered`` once sent)."""

class _PrinterInfo(TypedDict):
    index: int
    address: str
    recording: str
    """The name (file stem) of the recording the printer answers from."""
    serial: str | None
    mac: str | None
    """``aa:bb:cc:dd:ee:ff``."""
    sys_name: str | None

@final
class Simulator:
    """A simulated printer fleet served over UDP on loopback addresses, on a Rust thread.
    Printer ``i`` is ``base + i * stride`` (``stride`` 1: consecutive addresses; more scatters
    the fleet among silent addresses) and answers from recording ``i % len(recordings)``.

    ``dynamics``: ``None``/``False`` (static), ``True`` (default rules) or a mapping of rule names
    (``pages_per_hour_min``, ``offline_rate``, ``jam_rate``... see docs/simulator.md) to numbers.

    Error handling: the constructor raises ValueError (base outside 127.0.0.0/8, a fleet that
    does not fit, no ``.snmprec`` files, a recording without variables), OSError (a path that
    cannot be read) or TypeError (``recordings`` of the wrong type); ``start`` raises OSError
    when the port cannot be bound and RuntimeError when called twice.
    """

    def __new__(
        cls,
        recordings: _Path | Sequence[_Path],
        *,
        count: int = 1,
        base: str = "127.20.0.1",
        port: int = 0,
        community: str = "public",
        identity: bool = True,
        dynamics: bool | Mapping[str, float] | None = None,
        seed: int = 0,
        time_scale: float = 1.0,
        stride: int = 1,
        v3: V3Credentials | None = None,
    ) -> Simulator: ...
    def start(self) -> None:
        """Bind the port and serve on a Rust thread; returns at once."""
    def stop(self) -> _SimulatorStats:
        """Stop serving within 100 ms, join the thread, return the final stats. Idempotent."""
    def stats(self) -> _SimulatorStats:
        """The counts so far (read while serving, without stopping)."""
    def printer(self, index: int) -> _PrinterInfo:
        """What printer ``index`` answers as. Raises IndexError outside the fleet."""
    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds`` for every printer, at once."""
    @property
    def time_s(self) -> float:
        """Simulated seconds since the simulator was made."""
    @property
    def stride(self) -> int:
        """Printer ``i`` is at ``first + i * stride``."""
    @property
    def identity(self) -> bool:
        """True if every printer has its own serial number, MAC address and sysName."""
    @property
    def dynamics(self) -> bool:
        """True if pages, supplies and faults change over simulated time."""
    @property
    def running(self) -> bool:
        """True while the server thread runs."""
    @property
    def port(self) -> int:
        """The UDP port every printer answers on (the bound one once started)."""
    @property
    def count(self) -> int: ...
    @property
    def first(self) -> str:
        """The first printer's address."""
    @property
    def last(self) -> str:
        """The last printer's address."""
    @property
    def recordings(self) -> list[str]:
        """The recordings' names, in the order printers cycle through them."""
    def __enter__(self) -> Simulator: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool: ...

# --- subnet sweeps (rust/src/sweep, rust/src/py/sweep.rs) ---

def expand_networks(
    networks: Sequence[str], exclude: Sequence[str] = ..., *, max_addresses: int = ...
) -> list[str]:
    """Every host address of ``networks`` (CIDR ``a.b.c.d/n`` or single addresses) that no
    network of ``exclude`` contains, ascending, each once; network and broadcast addresses are
    left out (as ``fping -g`` does).

    Error handling: ValueError naming a spec that does not parse, or the networks when they hold
    more than ``max_addresses`` (default 1,048,576: a /12)."""

def icmp_kinds() -> list[str]:
    """The ICMP sockets this process may open, preferred first: ``"raw"`` (CAP_NET_RAW) and
    ``"datagram"`` (the group within net.ipv4.ping_group_range)."""

class _SweepStats(TypedDict):
    targets: int
    probed: int
    finished: int
    alive: int
    packets_sent: int
    bytes_sent: int
    packets_received: int
    bytes_received: int
    replies: int
    other: int
    malformed: int
    timeouts: int
    retries: int
    send_errors: int
    limited: bool
    cancelled: bool

@final
class IcmpSweep:
    """A running ICMP echo sweep on a Rust thread: take hosts found with ``wait``, stop it with
    ``cancel``. One echo request (16 bytes of ICMP) per address and try, paced at ``max_pps``.

    Error handling: the constructor raises ValueError (bad address or setting), PermissionError
    (the system does not allow this ``kind`` of ICMP socket) or OSError."""

    def __new__(
        cls,
        addresses: Sequence[str],
        *,
        kind: str = "raw",
        timeout_s: float = 1.0,
        retries: int = 0,
        max_pps: int = 1000,
        limit_s: float | None = None,
    ) -> IcmpSweep: ...
    def wait(self, timeout_s: float = 1.0) -> list[tuple[int, str, float]]:
        """Wait up to ``timeout_s`` (GIL released) for hosts that answered; ``(index, address,
        rtt_ms)`` each. Raises OSError once everything is taken, if the socket failed."""
    def cancel(self) -> None:
        """Stop sending within 20 ms; what was found stays to be taken."""
    @property
    def done(self) -> bool:
        """Whether the sweep is over (hosts found may still be waiting to be taken)."""
    @property
    def kind(self) -> str:
        """``"raw"`` or ``"datagram"``."""
    def statistics(self) -> _SweepStats:
        """The sweep's counters (ICMP bytes; the IP header adds 20 per packet)."""
