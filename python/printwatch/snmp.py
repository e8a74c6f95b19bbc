"""SNMP v1/v2c messages: decode bytes into :class:`Message` objects and encode them back.

The work is done by the Rust core (``printwatch._core``); this module is its public face.

>>> from printwatch import snmp
>>> msg = snmp.Message(1, b"public", snmp.Pdu("get", [snmp.VarBind("1.3.6.1.2.1.1.1.0")], request_id=7))
>>> snmp.decode(snmp.encode(msg)) == msg
True

Values by type (``VarBind.type`` → ``VarBind.value``):

====================  ===========================================
``Integer``           int (-2**31 .. 2**31-1)
``OctetString``       bytes
``Null``              None
``ObjectIdentifier``  str, dotted decimal
``IpAddress``         str, dotted quad
``Counter32``         int (0 .. 2**32-1)
``Gauge32``           int (0 .. 2**32-1; also Unsigned32)
``TimeTicks``         int (0 .. 2**32-1, hundredths of a second)
``Opaque``            bytes (the raw content)
``Counter64``         int (0 .. 2**64-1)
``NoSuchObject``      None
``NoSuchInstance``    None
``EndOfMibView``      None
====================  ===========================================

Error handling: :func:`decode` raises :class:`DecodeError` (``.offset``, ``.reason``) for
anything that is not exactly one valid message, whatever the input; :func:`encode` raises
:class:`EncodeError` for a SetRequest (printwatch never sends one) or a PDU the version lacks.
Constructors raise ``ValueError``/``TypeError`` for values that do not fit their type.
"""

from printwatch._core import (
    PDU_TYPES,
    VALUE_TYPES,
    DecodeError,
    EncodeError,
    Message,
    Pdu,
    VarBind,
    decode,
    encode,
)

__all__ = [
    "PDU_TYPES",
    "VALUE_TYPES",
    "DecodeError",
    "EncodeError",
    "Message",
    "Pdu",
    "VarBind",
    "decode",
    "encode",
]
