"""pysnmp (the reference implementation) reading the same variables as the engine, for
comparison: a GET of scalars and GETBULK/GETNEXT walks of subtrees, values as the engine's
``VarBind`` spells them (type name, Python value)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    bulk_walk_cmd,
    get_cmd,
    walk_cmd,
)

Row = tuple[str, str, Any]

_TYPE_NAMES = {
    "Integer": "Integer",
    "Integer32": "Integer",
    "OctetString": "OctetString",
    "DisplayString": "OctetString",
    "Null": "Null",
    "ObjectIdentifier": "ObjectIdentifier",
    "ObjectName": "ObjectIdentifier",
    "IpAddress": "IpAddress",
    "Counter32": "Counter32",
    "Gauge32": "Gauge32",
    "Unsigned32": "Gauge32",
    "TimeTicks": "TimeTicks",
    "Opaque": "Opaque",
    "Counter64": "Counter64",
    "NoSuchObject": "NoSuchObject",
    "NoSuchInstance": "NoSuchInstance",
    "EndOfMibView": "EndOfMibView",
}


def _row(oid: Any, value: Any) -> Row:
    kind = _TYPE_NAMES[type(value).__name__]
    py: Any
    if kind in ("OctetString", "Opaque"):
        py = bytes(value.asOctets())
    elif kind == "ObjectIdentifier":
        py = ".".join(str(arc) for arc in value)
    elif kind == "IpAddress":
        py = socket.inet_ntoa(bytes(value.asOctets()))
    elif kind in ("Null", "NoSuchObject", "NoSuchInstance", "EndOfMibView"):
        py = None
    else:
        py = int(value)
    return ".".join(str(arc) for arc in oid), kind, py


async def _read(
    port: int, community: str, version: str, gets: list[str], walks: list[str]
) -> tuple[list[Row], dict[str, list[Row]]]:
    engine = SnmpEngine()
    auth = CommunityData(community, mpModel=0 if version == "1" else 1)
    target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=2)
    try:
        return await _read_with(engine, auth, target, version, gets, walks)
    finally:
        engine.close_dispatcher()


async def _read_with(
    engine: SnmpEngine,
    auth: Any,
    target: UdpTransportTarget,
    version: str,
    gets: list[str],
    walks: list[str],
    context: ContextData | None = None,
) -> tuple[list[Row], dict[str, list[Row]]]:
    context = context or ContextData()
    values: list[Row] = []
    if gets:
        err, status, _, varbinds = await get_cmd(
            engine,
            auth,
            target,
            context,
            *(ObjectType(ObjectIdentity(o)) for o in gets),
            lookupMib=False,
        )
        assert err is None and not status, (err, status)
        values = [_row(name, value) for name, value in varbinds]
    tables: dict[str, list[Row]] = {}
    for root in walks:
        rows: list[Row] = []
        if version == "1":
            walker = walk_cmd(
                engine,
                auth,
                target,
                context,
                ObjectType(ObjectIdentity(root)),
                lexicographicMode=False,
                lookupMib=False,
            )
        else:
            walker = bulk_walk_cmd(
                engine,
                auth,
                target,
                context,
                0,
                25,
                ObjectType(ObjectIdentity(root)),
                lexicographicMode=False,
                lookupMib=False,
            )
        async for err, status, _, varbinds in walker:
            assert err is None and not status, (err, status)
            rows.extend(_row(name, value) for name, value in varbinds)
        tables[root] = rows
    return values, tables


def read(
    port: int, community: str, version: str, gets: list[str], walks: list[str]
) -> tuple[list[Row], dict[str, list[Row]]]:
    """GETs ``gets`` in one request and walks each of ``walks`` (GETBULK in v2c, GETNEXT in v1)."""
    return asyncio.run(_read(port, community, version, gets, walks))


# SNMPv3: the protocols by the names printwatch and net-snmp use.
_AUTH = {
    "MD5": "usmHMACMD5AuthProtocol",
    "SHA": "usmHMACSHAAuthProtocol",
    "SHA-224": "usmHMAC128SHA224AuthProtocol",
    "SHA-256": "usmHMAC192SHA256AuthProtocol",
    "SHA-384": "usmHMAC256SHA384AuthProtocol",
    "SHA-512": "usmHMAC384SHA512AuthProtocol",
}
_PRIV = {
    "DES": "usmDESPrivProtocol",
    "AES": "usmAesCfb128Protocol",
    "AES-192": "usmAesBlumenthalCfb192Protocol",
    "AES-256": "usmAesBlumenthalCfb256Protocol",
}


def usm_user(
    user: str,
    auth_proto: str | None = None,
    auth_pass: str | None = None,
    priv_proto: str | None = None,
    priv_pass: str | None = None,
) -> Any:
    """pysnmp's ``UsmUserData`` for a user given the way printwatch's options give it."""
    from pysnmp.hlapi.v3arch import asyncio as hl

    kwargs: dict[str, Any] = {}
    if auth_proto:
        kwargs["authKey"] = auth_pass
        kwargs["authProtocol"] = getattr(hl, _AUTH[auth_proto])
    if priv_proto:
        kwargs["privKey"] = priv_pass
        kwargs["privProtocol"] = getattr(hl, _PRIV[priv_proto])
    return hl.UsmUserData(user, **kwargs)


async def _read_v3(
    port: int, usm: Any, context: str, gets: list[str], walks: list[str]
) -> tuple[list[Row], dict[str, list[Row]]]:
    engine = SnmpEngine()
    target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=2)
    try:
        return await _read_with(engine, usm, target, "3", gets, walks, ContextData(contextName=context))
    finally:
        engine.close_dispatcher()


def read_v3(
    port: int, usm: Any, gets: list[str], walks: list[str], context: str = ""
) -> tuple[list[Row], dict[str, list[Row]]]:
    """:func:`read` over SNMPv3 as ``usm`` (see :func:`usm_user`), in ``context``."""
    return asyncio.run(_read_v3(port, usm, context, gets, walks))
