"""The raw poll plan of ``printwatch poll``: the system group and the Printer-MIB tables.

OIDs are numeric (RFC 3418 SNMPv2-MIB, RFC 2790 HOST-RESOURCES-MIB, RFC 3805 Printer-MIB v2):
Debian ships no IETF MIB files, and the engine needs none.
"""

from __future__ import annotations

from printwatch._core import Plan

#: SNMPv2-MIB system group scalars, by the name ``poll --json`` gives them under ``sys``.
SYSTEM = {
    "descr": "1.3.6.1.2.1.1.1.0",
    "object_id": "1.3.6.1.2.1.1.2.0",
    "uptime": "1.3.6.1.2.1.1.3.0",
    "contact": "1.3.6.1.2.1.1.4.0",
    "name": "1.3.6.1.2.1.1.5.0",
    "location": "1.3.6.1.2.1.1.6.0",
}

#: Status scalars of the first printer device (hrDeviceIndex 1) and its serial number.
STATUS = {
    "hrDeviceStatus": "1.3.6.1.2.1.25.3.2.1.5.1",
    "hrPrinterStatus": "1.3.6.1.2.1.25.3.5.1.1.1",
    "hrPrinterDetectedErrorState": "1.3.6.1.2.1.25.3.5.1.2.1",
    "prtGeneralSerialNumber": "1.3.6.1.2.1.43.5.1.1.17.1",
}

#: Printer-MIB tables walked by a poll, by name.
TABLES = {
    "prtMarkerSuppliesTable": "1.3.6.1.2.1.43.11.1",
    "prtMarkerTable": "1.3.6.1.2.1.43.10.2",
    "prtMarkerColorantTable": "1.3.6.1.2.1.43.12.1",
    "prtInputTable": "1.3.6.1.2.1.43.8.2",
    "prtAlertTable": "1.3.6.1.2.1.43.18.1",
}

TABLE_NAMES = {oid: name for name, oid in TABLES.items()}


def raw_plan() -> Plan:
    """The plan of ``printwatch poll``: system and status scalars, then the Printer-MIB tables."""
    return Plan(gets=[*SYSTEM.values(), *STATUS.values()], walks=list(TABLES.values()))
