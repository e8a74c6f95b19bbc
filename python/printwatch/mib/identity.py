"""Who a printer is: vendor, model, serial number and MAC address.

* vendor: the brand named in sysDescr (the earliest one wins: "FUJI XEROX ..." is FUJIFILM,
  an HP JetDirect card in a box with Kyocera's sysObjectID is HP), else the sysObjectID's
  enterprise number (1.3.6.1.4.1.N), each as listed in the vendor data files. OEM brands map to
  the maker whose MIB they speak (Gestetner → ricoh, UTAX → kyocera, Develop → konica_minolta).
* model: hrDeviceDescr.1 unless it is generic, else the vendor's model OID, else sysDescr up
  to the first version or separator.
* serial: prtGeneralSerialNumber.1 (RFC 3805), else the vendor's serial OID, else a serial
  in sysDescr ("SN:...", "S/N ..."); placeholders ("", "0", "unknown", all zeros) are no serial.
* mac: the first non-zero six-octet ifPhysAddress of interfaces 1 and 2.

Error handling: anything missing or malformed is null; nothing here raises on agent data.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from printwatch._core import VarBind
from printwatch.mib import oids
from printwatch.mib.tables import present
from printwatch.mib.text import clean, decode_bytes, decode_text
from printwatch.mib.vendors import IdentityRule, load_maps

_GENERIC_MODEL = re.compile(
    r"built-?in|printing system|network interface|ethernet|print ?server|wired|^unknown$|^printer$",
    re.IGNORECASE,
)
_SERIAL_IN_DESCR = re.compile(r"(?:\bSN:|\bS/N[: ]\s*)([A-Za-z0-9-]{4,})")
_PLACEHOLDER_SERIAL = re.compile(r"^(|0+|unknown|none|n/?a|<private>|serial ?number|x+)$", re.IGNORECASE)
_DESCR_MODEL_END = re.compile(
    r"\s*(;|,|\bversion\b|\s/\s|\s/P\b|\bkernel\b|\bRev\.|\bFirmware\b|\s\d+\.\d+(\.\d+)*\s*(/|$)).*$",
    re.IGNORECASE,
)
_MDL = re.compile(r"(?:^|;)\s*(?:MDL|MODEL)\s*:\s*([^;]+)", re.IGNORECASE)
_OKI_ATTACHED = re.compile(r"Attached to\s+(\S+)", re.IGNORECASE)
_HP_PID = re.compile(r"\bPID:([^,;]+)")


@functools.cache
def _brands() -> re.Pattern[str] | None:
    """Every vendor's sysDescr brands in one alternation, a named group per vendor."""
    groups = [
        f"(?P<{vmap.vendor}>{'|'.join(p.pattern for p in vmap.sysdescr)})"
        for vmap in load_maps().values()
        if vmap.sysdescr
    ]
    return re.compile("|".join(groups), re.IGNORECASE) if groups else None


@functools.lru_cache(maxsize=4096)
def vendor_of(sys_descr: str | None, sys_object_id: str | None) -> str | None:
    """The vendor (data file name) of a printer from sysDescr and sysObjectID."""
    maps = load_maps()
    brands = _brands()
    if sys_descr and brands is not None:
        found = brands.search(sys_descr)
        if found and found.lastgroup:
            return found.lastgroup
    enterprise = enterprise_of(sys_object_id)
    if enterprise is not None:
        for vmap in maps.values():
            if enterprise in vmap.enterprises:
                return vmap.vendor
    return None


def enterprise_of(sys_object_id: str | None) -> int | None:
    """N of a sysObjectID ``1.3.6.1.4.1.N...`` (a leading dot tolerated), else None."""
    if not sys_object_id:
        return None
    parts = sys_object_id.strip().lstrip(".").split(".")
    if parts[:6] == ["1", "3", "6", "1", "4", "1"] and len(parts) > 6 and parts[6].isdigit():
        return int(parts[6])
    return None


def _decode(rule: IdentityRule, vb: VarBind) -> str | None:
    value = vb.value
    if rule.decode == "hp_pml" and isinstance(value, bytes):
        # HP PML values start with a type octet and a length-ish octet (01 15) before the text.
        value = value[2:] if value[:1] == b"\x01" else value
        return decode_bytes(value) or None
    text = decode_text(value)
    if text and rule.decode == "ieee1284_mdl":
        m = _MDL.search(text)
        return m.group(1).strip() if m else None
    return text


def _vendor_value(vendor: str | None, field: str, gets: Mapping[str, VarBind]) -> str | None:
    vmap = load_maps().get(vendor or "")
    if vmap is None:
        return None
    for rule in vmap.identity:
        if rule.field != field:
            continue
        vb = present(gets, rule.oid)
        if vb is None:
            continue
        text = _decode(rule, vb)
        if text and not (field == "serial" and _PLACEHOLDER_SERIAL.match(text)):
            return text
    return None


def model_of(vendor: str | None, sys_descr: str | None, gets: Mapping[str, VarBind]) -> str | None:
    hr = present(gets, oids.HR_DEVICE_DESCR)
    hr_text = decode_text(hr.value) if hr is not None else None
    if hr_text and not _GENERIC_MODEL.search(hr_text):
        return hr_text
    from_vendor = _vendor_value(vendor, "model", gets)
    if from_vendor:
        return from_vendor
    if not sys_descr:
        return None
    sys_descr = clean(sys_descr)
    attached = _OKI_ATTACHED.search(sys_descr) or _HP_PID.search(sys_descr)
    if attached:
        return attached.group(1).strip()
    model = _DESCR_MODEL_END.sub("", sys_descr).strip()
    if not model or _GENERIC_MODEL.search(model) or model.upper().startswith("HP ETHERNET"):
        return None
    return model


def serial_of(vendor: str | None, sys_descr: str | None, gets: Mapping[str, VarBind]) -> str | None:
    prt = present(gets, oids.PRT_GENERAL_SERIAL_NUMBER)
    text = decode_text(prt.value) if prt is not None else None
    if text and not _PLACEHOLDER_SERIAL.match(text):
        return text
    from_vendor = _vendor_value(vendor, "serial", gets)
    if from_vendor:
        return from_vendor
    m = _SERIAL_IN_DESCR.search(sys_descr or "")
    return m.group(1) if m and not _PLACEHOLDER_SERIAL.match(m.group(1)) else None


def mac_of(gets: Mapping[str, VarBind]) -> str | None:
    for oid in oids.IF_PHYS_ADDRESS:
        vb = present(gets, oid)
        if vb is not None and isinstance(vb.value, bytes) and len(vb.value) == 6 and any(vb.value):
            return ":".join(f"{b:02x}" for b in vb.value)
    return None


def identity_oids(vendor: str | None = None) -> list[str]:
    """The GETs that identify a printer: sysDescr, sysObjectID, hrDeviceType.1, hrDeviceDescr.1,
    prtGeneralSerialNumber.1, ifPhysAddress.1/.2, and (when the vendor is known) the vendor's
    model and serial OIDs. For discovery: one GET identifies a host."""
    base = [
        oids.SYS_DESCR,
        oids.SYS_OBJECT_ID,
        oids.HR_DEVICE_TYPE,
        oids.HR_DEVICE_DESCR,
        oids.PRT_GENERAL_SERIAL_NUMBER,
        *oids.IF_PHYS_ADDRESS,
    ]
    vmap = load_maps().get(vendor or "")
    extra = [rule.oid for rule in vmap.identity] if vmap is not None else []
    return list(dict.fromkeys([*base, *extra]))


def identify(gets: Mapping[str, VarBind]) -> dict[str, Any]:
    """``{"printer", "vendor", "model", "serial", "mac"}`` from GET results (see
    :func:`identity_oids`). ``printer`` is true when hrDeviceType.1 is hrDevicePrinter or the
    Printer-MIB answers (prtGeneralSerialNumber.1)."""
    descr_vb = present(gets, oids.SYS_DESCR)
    descr = decode_text(descr_vb.value, collapse=False) if descr_vb is not None else None
    oid_vb = present(gets, oids.SYS_OBJECT_ID)
    object_id = oid_vb.value if oid_vb is not None and isinstance(oid_vb.value, str) else None
    vendor = vendor_of(descr, object_id)
    kind = present(gets, oids.HR_DEVICE_TYPE)
    is_printer = (kind is not None and str(kind.value).lstrip(".") == oids.HR_DEVICE_PRINTER) or present(
        gets, oids.PRT_GENERAL_SERIAL_NUMBER
    ) is not None
    return {
        "printer": is_printer,
        "vendor": vendor,
        "model": model_of(vendor, descr, gets),
        "serial": serial_of(vendor, descr, gets),
        "mac": mac_of(gets),
    }
