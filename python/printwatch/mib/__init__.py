"""Printer semantics: what a printer's varbinds mean.

The public entry point is :func:`interpret` (an engine result → the poll document of the
shared contract); the poll plans it needs are in :mod:`printwatch.poller.plans`. The modules
underneath: :mod:`~printwatch.mib.oids` (numeric OIDs and enumerations of the standard MIBs),
:mod:`~printwatch.mib.text` (strings as printers send them), :mod:`~printwatch.mib.status`,
:mod:`~printwatch.mib.supplies`, :mod:`~printwatch.mib.trays`, :mod:`~printwatch.mib.alerts`,
:mod:`~printwatch.mib.identity`, :mod:`~printwatch.mib.meters` with the vendor data files in
``meters/`` (:mod:`~printwatch.mib.vendors`).
"""

from __future__ import annotations

from printwatch.mib.identity import identify, identity_oids, vendor_of
from printwatch.mib.interpret import interpret, interpret_varbinds, unreachable
from printwatch.mib.levels import DEFAULT_THRESHOLDS
from printwatch.mib.meternames import METER_NAMES
from printwatch.mib.vendors import load_maps

__all__ = [
    "DEFAULT_THRESHOLDS",
    "METER_NAMES",
    "identify",
    "identity_oids",
    "interpret",
    "interpret_varbinds",
    "load_maps",
    "unreachable",
    "vendor_of",
]
