"""What discovery asks an agent, as numeric OIDs (RFC 3418 SNMPv2-MIB, RFC 2790
HOST-RESOURCES-MIB, RFC 3805 Printer-MIB v2, RFC 2863 IF-MIB) and the engine plans built from
them.

The requests are chosen for bytes: one GET per address to find agents (:data:`PROBE`), one GET
per agent to identify it (:data:`IDENTIFY`), and a follow-up only where those left a question
(:data:`SEARCH_PRINTER_MIB`, then :data:`SEARCH_DEVICES`, for agents with no printer evidence
yet; the vendor's serial OID, then :data:`MAC`, for printers without a serial number).
"""

from __future__ import annotations

from printwatch._core import Plan

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
#: hrDeviceType of device 1 (the printer on every recording that has the column).
HR_DEVICE_TYPE_1 = "1.3.6.1.2.1.25.3.2.1.2.1"
#: The hrDeviceType column, walked when device 1 is not a printer.
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"
#: hrDeviceType's value for a printer (HOST-RESOURCES-TYPES hrDevicePrinter).
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"
#: The Printer-MIB subtree: any variable under it means the agent speaks Printer-MIB.
PRINTER_MIB = "1.3.6.1.2.1.43"
PRT_GENERAL_SERIAL_NUMBER_1 = "1.3.6.1.2.1.43.5.1.1.17.1"
IF_PHYS_ADDRESS = "1.3.6.1.2.1.2.2.1.6"

#: The sweep's probe: one GET of sysObjectID.0 and sysDescr.0 per address.
PROBE = Plan(gets=[SYS_OBJECT_ID, SYS_DESCR])
#: One GET per agent that answered the probe: what device 1 is, and its serial number (63 bytes
#: with the community ``public``; sysName.0 would add 14, so it is left to the poll).
IDENTIFY = Plan(gets=[HR_DEVICE_TYPE_1, PRT_GENERAL_SERIAL_NUMBER_1])
#: For agents with no printer evidence after IDENTIFY: the first variable under the Printer-MIB
#: (any at all means the agent speaks it), then, for those still undecided, the first hrDeviceType
#: row (device 1 may not exist). Each walked for one row (a GETBULK of two repetitions, stopped
#: at the first row): one request each.
SEARCH_PRINTER_MIB = Plan(walks=[PRINTER_MIB])
SEARCH_DEVICES = Plan(walks=[HR_DEVICE_TYPE])
#: For printers without a serial number: the MAC addresses (the registry's fallback identity).
MAC = Plan(walks=[IF_PHYS_ADDRESS])
