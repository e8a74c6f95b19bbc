"""The meter names of the poll document (the shared contract); only those a printer gives
appear in ``meters``."""

from __future__ import annotations

METER_NAMES = frozenset(
    {
        "total",
        "black",
        "color",
        "copy",
        "print",
        "scan",
        "copy_black",
        "copy_color",
        "print_black",
        "print_color",
        "fax",
        "duplex",
        "large",
    }
)
