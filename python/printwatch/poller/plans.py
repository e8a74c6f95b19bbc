"""Poll plans: what a poll asks a printer.

* :func:`base_plan` — what every printer is asked: the SNMPv2-MIB system group, the
  HOST-RESOURCES-MIB status scalars and hrDeviceDescr, prtGeneralSerialNumber, ifPhysAddress of
  interfaces 1 and 2, and walks of the five Printer-MIB tables (supplies, markers, colorants,
  input trays, alerts).
* :func:`vendor_plan` — the GETs of one vendor's meter map, model and serial OIDs, plus the PWG
  Imaging System counters where the vendor's map does not give total, black and colour
  (``printwatch/mib/meters/``): asked once the vendor is known, so that no printer is asked
  every vendor's OIDs (the 3,000-byte budget per poll).
* :func:`full_plan` — both in one step, for a printer whose vendor is already known (the
  scheduler has it from the device registry).
* :func:`status_plan` — the base plan but the two tables that change rarely (colorants, input
  trays), and :func:`slow_plan` — those two: a status poll asks the first of every printer, the
  second of some (see :mod:`printwatch.poller.documents`).

``printwatch poll`` polls in two steps: the base plan, then each answering target's vendor plan.

OIDs are numeric (see :mod:`printwatch.mib.oids` for their sources); Debian ships no IETF MIB
files, and the engine needs none.
"""

from __future__ import annotations

import functools

from printwatch._core import Plan
from printwatch.mib import oids
from printwatch.mib.interpret import SLOW_TABLES
from printwatch.mib.meters import SUMS
from printwatch.mib.vendors import load_maps

#: SNMPv2-MIB system group scalars, by the name ``poll --json`` gives them under ``sys``.
SYSTEM = dict(oids.SYSTEM)

#: Status scalars of the first printer device (hrDeviceIndex 1) and its serial number.
STATUS = {
    "hrDeviceStatus": oids.HR_DEVICE_STATUS,
    "hrPrinterStatus": oids.HR_PRINTER_STATUS,
    "hrPrinterDetectedErrorState": oids.HR_PRINTER_ERROR_STATE,
    "prtGeneralSerialNumber": oids.PRT_GENERAL_SERIAL_NUMBER,
}

#: Identity scalars beyond the system group.
IDENTITY = {
    "hrDeviceDescr": oids.HR_DEVICE_DESCR,
    **{f"ifPhysAddress.{o[-1]}": o for o in oids.IF_PHYS_ADDRESS},
}

#: Printer-MIB tables walked by a poll, by name.
TABLES = dict(oids.TABLES)
TABLE_NAMES = dict(oids.TABLE_NAMES)


def raw_plan() -> Plan:
    """System and status scalars, then the Printer-MIB tables (the bench workload's shape)."""
    return Plan(gets=[*SYSTEM.values(), *STATUS.values()], walks=list(TABLES.values()))


@functools.cache
def base_plan() -> Plan:
    """What every printer is asked (see the module docstring)."""
    return Plan(gets=[*SYSTEM.values(), *STATUS.values(), *IDENTITY.values()], walks=list(TABLES.values()))


@functools.cache
def status_plan() -> Plan:
    """The base plan without the walks of :data:`SLOW_TABLES` (5.7 requests a printer of the
    simulator's models instead of 9, 2,600 bytes instead of 4,050)."""
    slow = {TABLES[name] for name in SLOW_TABLES}
    return Plan(gets=base_plan().gets, walks=[root for root in TABLES.values() if root not in slow])


@functools.cache
def slow_plan() -> Plan:
    """The walks of :data:`SLOW_TABLES` alone."""
    return Plan(gets=[], walks=[TABLES[name] for name in SLOW_TABLES])


def covered(vendor: str | None) -> bool:
    """Whether a vendor's map gives total, black and colour (directly or as sums of parts), so
    that the PWG fallback would add nothing (and is not asked for)."""
    vmap = load_maps().get(vendor or "")
    if vmap is None or vmap.vendor == "pwg":
        return False
    names = {m.name for m in vmap.meters}
    for whole, parts in SUMS:
        if all(p in names for p in parts):
            names.add(whole)
    return {"total", "black", "color"} <= names


def vendor_oids(vendor: str | None) -> list[str]:
    """The vendor's meter, model and serial OIDs, then the PWG counters (and their guard)
    unless the vendor's map already gives total, black and colour."""
    maps = load_maps()
    chosen = maps[vendor].oids() if vendor in maps and vendor != "pwg" else []
    if not covered(vendor):
        chosen = [*chosen, *maps["pwg"].oids()]
    return list(dict.fromkeys(chosen))


def vendor_walks(vendor: str | None) -> list[str]:
    """The vendor's counter tables (walked whole, names and counts), then the PWG Imaging
    System Counter tables where the PWG counters are asked (see :func:`vendor_oids`)."""
    maps = load_maps()
    chosen = maps[vendor].walks() if vendor in maps and vendor != "pwg" else []
    if not covered(vendor):
        chosen = [
            *chosen,
            oids.PWG_KEY_SERVICE_TYPE,
            *(root for root, _, _ in oids.PWG_COUNTER_TABLES.values()),
        ]
    return list(dict.fromkeys(chosen))


@functools.cache
def vendor_plan(vendor: str | None) -> Plan:
    """The second step of a two-step poll: the vendor's GETs and its counter tables."""
    return Plan(gets=vendor_oids(vendor), walks=vendor_walks(vendor))


@functools.cache
def full_plan(vendor: str | None) -> Plan:
    """Base and vendor plan in one step, for a printer whose vendor is known."""
    base = base_plan()
    return Plan(
        gets=list(dict.fromkeys([*base.gets, *vendor_oids(vendor)])),
        walks=list(dict.fromkeys([*base.walks, *vendor_walks(vendor)])),
    )
