"""From what an agent answered to what it is: printer or not (and why), serial number, MAC.

A printer is an agent whose hrDeviceType (of any device) is hrDevicePrinter, or that has any
Printer-MIB (RFC 3805) variable. Vendor, model and serial number are read by the printer
semantics (:mod:`printwatch.mib.identity`) from what discovery fetched: vendor from sysDescr and
sysObjectID, model from sysDescr (discovery fetches no model OID), serial from
prtGeneralSerialNumber.1, else the vendor's serial OID (:func:`vendor_serial_oids`, fetched only
for printers without the first), else one written in sysDescr.

Error handling: agents send anything; nothing here raises on agent data (a value of the wrong
type is no evidence).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from printwatch._core import V3Credentials, VarBind
from printwatch.discovery import oids
from printwatch.mib.identity import mac_of, model_of, serial_of, vendor_of
from printwatch.mib.vendors import load_maps

#: Value types that say "not there" rather than giving a value.
ABSENT = frozenset({"NoSuchObject", "NoSuchInstance", "EndOfMibView", "Null"})


def text(vb: VarBind | None) -> str | None:
    """An octet string as text (UTF-8, else Latin-1), stripped; other values as ``str``; None
    for an absent value."""
    if vb is None or vb.type in ABSENT:
        return None
    value = vb.value
    if isinstance(value, bytes):
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            decoded = value.decode("latin-1")
        return decoded.replace("\x00", "").strip()
    return str(value)


def vendor_serial_oids(vendor: str | None) -> list[str]:
    """The serial-number OIDs of a vendor's data file (none for an unknown vendor)."""
    vmap = load_maps().get(vendor or "")
    return [] if vmap is None else [r.oid for r in vmap.identity if r.field == "serial"]


@dataclass
class Agent:
    """An address that answered the SNMP probe, and what discovery learned about it."""

    address: str
    port: int
    #: Position (0-based) of the community that answered, in the order they were tried (-1:
    #: SNMPv3, see ``v3``).
    community_index: int
    community: bytes
    version: Literal["1", "2c", "3"]
    rtt_ms: float | None
    #: ``icmp-raw``, ``icmp-datagram`` or ``snmp``: how the address was found alive.
    sweep: str
    descr: str | None = None
    object_id: str | None = None
    #: Why it is a printer: ``hrDevicePrinter`` and/or ``Printer-MIB``; empty: not (yet) one.
    evidence: list[str] = field(default_factory=list)
    serial: str | None = None
    mac: str | None = None
    vendor: str | None = None
    model: str | None = None
    #: Whether the identification requests were answered (False: only the probe was).
    identified: bool = False
    #: SNMP requests sent to it and bytes each way (UDP payload), every phase included.
    packets_sent: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    #: Of ``bytes_sent``, the probe's (the one GET every address gets).
    probe_bytes_sent: int = 0
    #: The SNMPv3 user that answered (then ``version`` is ``"3"``).
    v3: V3Credentials | None = None

    @property
    def printer(self) -> bool:
        return bool(self.evidence)

    def probe_answer(self, gets: Mapping[str, VarBind]) -> None:
        self.descr = text(gets.get(oids.SYS_DESCR))
        self.object_id = text(gets.get(oids.SYS_OBJECT_ID))
        self.vendor = vendor_of(self.descr, self.object_id)

    def identify_answer(self, gets: Mapping[str, VarBind]) -> None:
        self.identified = True
        device = gets.get(oids.HR_DEVICE_TYPE_1)
        if device is not None and device.value == oids.HR_DEVICE_PRINTER:
            self._add("hrDevicePrinter")
        if _present(gets.get(oids.PRT_GENERAL_SERIAL_NUMBER_1)):
            self._add("Printer-MIB")
        self.serial = serial_of(self.vendor, self.descr, gets)
        self.model = model_of(self.vendor, self.descr, gets)

    def vendor_serial_answer(self, gets: Mapping[str, VarBind]) -> None:
        self.serial = self.serial or serial_of(self.vendor, self.descr, gets)

    def search_answer(self, walks: Mapping[str, Iterable[VarBind]]) -> None:
        if any(vb.value == oids.HR_DEVICE_PRINTER for vb in walks.get(oids.HR_DEVICE_TYPE, ())):
            self._add("hrDevicePrinter")
        if any(_present(vb) for vb in walks.get(oids.PRINTER_MIB, ())):
            self._add("Printer-MIB")

    def mac_answer(self, walks: Mapping[str, Iterable[VarBind]]) -> None:
        # The poll's rule (printwatch.mib): the first real MAC of interfaces 1 and 2.
        rows = {vb.oid: vb for vb in walks.get(oids.IF_PHYS_ADDRESS, ())}
        self.mac = mac_of(rows) or self.mac

    def _add(self, why: str) -> None:
        if why not in self.evidence:
            self.evidence.append(why)

    def to_json(self) -> dict[str, Any]:
        """One discovered printer (or agent) as ``printwatch discover --json`` prints it."""
        target = self.address if self.port == 161 else f"{self.address}:{self.port}"
        return {
            "address": self.address,
            "port": self.port,
            "target": target,
            "printer": self.printer,
            "vendor": self.vendor,
            "model": self.model,
            "serial": self.serial,
            "mac": self.mac,
            "sys": {"descr": self.descr, "object_id": self.object_id},
            "found_by": {
                "sweep": self.sweep,
                "community": None if self.v3 is not None else self.community_index + 1,
                **({"v3_user": self.v3.user} if self.v3 is not None else {}),
                "version": self.version,
                "evidence": list(self.evidence),
            },
            "rtt_ms": None if self.rtt_ms is None else round(self.rtt_ms, 3),
            "wire": {
                "packets_sent": self.packets_sent,
                "bytes_sent": self.bytes_sent,
                "bytes_received": self.bytes_received,
            },
        }


def _present(vb: VarBind | None) -> bool:
    return vb is not None and vb.type not in ABSENT
