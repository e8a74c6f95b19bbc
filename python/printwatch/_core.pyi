"""Typed stubs of the Rust extension ``printwatch._core`` (see ``rust/src/py/``)."""

from collections.abc import Iterable
from typing import Literal, final

__version__: str
__all__ = [
    "PDU_TYPES",
    "VALUE_TYPES",
    "DecodeError",
    "EncodeError",
    "Message",
    "Pdu",
    "PrintwatchError",
    "VarBind",
    "__version__",
    "decode",
    "encode",
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
