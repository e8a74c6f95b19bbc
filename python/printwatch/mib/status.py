"""Device and printer status from HOST-RESOURCES-MIB (RFC 2790, RFC 3805 section 2.2.13.2).

Error handling: a missing or wrongly typed value gives ``unknown`` (and a warning); bit strings of
any length decode without raising: bits past the defined fifteen are reported as ``bitN``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from printwatch._core import VarBind
from printwatch.mib import oids
from printwatch.mib.tables import as_int, present

#: hrPrinterStatus folded into the contract's values (other and unknown stay apart).
PRINTER_STATES = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}


def error_bits(value: object) -> list[str]:
    """hrPrinterDetectedErrorState → the names of the bits set, in bit order.

    Bit 0 is the most significant bit of the first octet. Agents send one octet (bits 0-7) or
    two (bits 0-15); some pad with more zero octets. Bits beyond the defined ones come back as
    ``bitN`` so that nothing is hidden. An integer (some agents send the octets as an INTEGER)
    is read as one octet when below 256, else as two octets.
    """
    if isinstance(value, int):
        if value < 0:
            return []
        data = value.to_bytes(1 if value < 256 else max(2, (value.bit_length() + 7) // 8), "big")
    elif isinstance(value, bytes):
        data = value[:16]
    elif isinstance(value, str):
        data = value.encode("latin-1", errors="replace")[:16]
    else:
        return []
    names = []
    for octet_no, octet in enumerate(data):
        for bit in range(8):
            if octet & (0x80 >> bit):
                n = octet_no * 8 + bit
                names.append(
                    oids.HR_PRINTER_ERROR_BITS[n] if n < len(oids.HR_PRINTER_ERROR_BITS) else f"bit{n}"
                )
    return names


def status(gets: Mapping[str, VarBind], warnings: list[str]) -> dict[str, Any]:
    """``{"device", "printer", "errors"}`` from the three HOST-RESOURCES-MIB scalars."""
    device_vb = present(gets, oids.HR_DEVICE_STATUS)
    printer_vb = present(gets, oids.HR_PRINTER_STATUS)
    errors_vb = present(gets, oids.HR_PRINTER_ERROR_STATE)
    device = oids.HR_DEVICE_STATUS_NAMES.get(as_int(device_vb) or 0)
    if device is None:
        device = "unknown"
        warnings.append(_why("hrDeviceStatus", device_vb))
    printer = PRINTER_STATES.get(as_int(printer_vb) or 0)
    if printer is None:
        printer = "unknown"
        warnings.append(_why("hrPrinterStatus", printer_vb))
    if errors_vb is None:
        errors: list[str] = []
        warnings.append("hrPrinterDetectedErrorState: missing")
    elif errors_vb.type not in ("OctetString", "Integer"):
        errors = []
        warnings.append(f"hrPrinterDetectedErrorState: wrong type {errors_vb.type}")
    else:
        errors = error_bits(errors_vb.value)
    return {"device": device, "printer": printer, "errors": errors}


def _why(name: str, vb: VarBind | None) -> str:
    if vb is None:
        return f"{name}: missing"
    return f"{name}: unexpected value {vb.value!r} ({vb.type})"
