"""Billing meters: what the device itself counts before a sum of parts. The vendor's map first,
then the PWG Imaging System counters, then prtMarkerLifeCount (RFC 3805) for the total, then
sums of the parts the printer gave (see :func:`read_meters` for the rules).

Every meter comes with its evidence, the OID it was read from, the raw value and the rule that
mapped it (``{"oid": ..., "raw": ..., "rule": "sharp.black"}``): billing disputes are settled
with this.

Error handling: a single reading never yields a negative or garbage count. A value of the
wrong type, a negative number (an agent's -1 for "not supported", or a signed overflow of a
counter), an octet string that is not a number or a record that is absent leaves the meter out
and keeps a warning naming the OID. Counter32 wraps and resets across readings are the store's
business (it has the history).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from printwatch._core import VarBind
from printwatch.mib import oids
from printwatch.mib.tables import EXCEPTIONS, INTEGER_TYPES, as_int, columns
from printwatch.mib.vendors import MeterRule, VendorMap, load_maps

#: prtMarkerCounterUnit values that count pages (impressions or sheets), not length or time.
PAGE_UNITS = frozenset({7, 8})
#: Sums made when a printer gives the parts but not the whole: (whole, parts).
SUMS = (
    ("copy", ("copy_black", "copy_color")),
    ("print", ("print_black", "print_color")),
    ("black", ("copy_black", "print_black")),
    ("color", ("copy_color", "print_color")),
    ("total", ("black", "color")),
)
MAX_COUNT = 2**63 - 1


def brother_counter(data: bytes, code: int) -> int | None:
    """One record of BROTHER-MIB brInfoCounter: 7-byte records (code, 0x01, 0x04, value as a
    32-bit big-endian integer); None when the code is absent or the bytes are malformed."""
    for start in range(0, len(data) - 6, 7):
        record = data[start : start + 7]
        if record[0] == code and record[2] == 4:
            return int.from_bytes(record[3:7], "big")
    return None


def read_rule(rule: MeterRule, vb: VarBind, warnings: list[str]) -> int | None:
    """The count one meter rule reads from its varbind, or None (and a warning)."""
    if rule.decode == "brother_counter":
        if not isinstance(vb.value, bytes):
            warnings.append(f"{vb.oid}: {rule.rule} expects an octet string, got {vb.type}")
            return None
        value = brother_counter(vb.value, rule.code or 0)
        if value is None:
            warnings.append(f"{vb.oid}: {rule.rule}: no record {rule.code:02x} in brInfoCounter")
        return value
    if vb.type not in INTEGER_TYPES and vb.type != "OctetString":
        warnings.append(f"{vb.oid}: {rule.rule} has the wrong type {vb.type}")
        return None
    value = as_int(vb)
    if value is None:
        warnings.append(f"{vb.oid}: {rule.rule} is not a number ({vb.value!r})")
        return None
    if value < 0 or value > MAX_COUNT:
        warnings.append(f"{vb.oid}: {rule.rule} is {value}, not a page count; left out")
        return None
    return value


def _apply(
    vmap: VendorMap,
    gets: Mapping[str, VarBind],
    meters: dict[str, int],
    evidence: dict[str, dict[str, Any]],
    warnings: list[str],
) -> None:
    if vmap.guard is not None:
        guard = gets.get(vmap.guard.oid)
        if guard is None or guard.type in EXCEPTIONS or as_int(guard) != vmap.guard.equals:
            return
    for rule in vmap.meters:
        if rule.name in meters:
            continue
        vb = gets.get(rule.oid)
        if vb is None or vb.type in EXCEPTIONS:
            continue
        value = read_rule(rule, vb, warnings)
        if value is not None:
            meters[rule.name] = value
            evidence[rule.name] = {"oid": rule.oid, "raw": as_int(vb), "rule": rule.rule}
            if rule.decode != "number" and isinstance(vb.value, bytes):
                # A value packed in an octet string: raw is the record read, octets the whole value.
                evidence[rule.name].update(raw=value, octets=vb.value.hex())


def _life_count(
    marker_rows: Sequence[VarBind], how: str, warnings: list[str]
) -> tuple[str, int, str | None] | None:
    """prtMarkerLifeCount as the device's total: (OID(s), value, counter unit).

    ``how`` is the vendor map's ``life_count``: "first" takes the first marker that counts pages
    (RFC 3805 counts per marker; on a printer with one marker engine per colour every marker
    counts the same pages, so a sum would multiply them); "sum" adds every marker that counts
    pages, for a vendor that documents that its markers count disjoint pages.
    """
    cols = columns(oids.PRT_MARKER_TABLE, marker_rows)
    units = cols.get(oids.MARKER_COLUMNS["counter_unit"], {})
    found: list[tuple[str, int, int | None]] = []
    for index, vb in sorted(cols.get(oids.MARKER_COLUMNS["life_count"], {}).items()):
        unit = as_int(units.get(index))
        if unit is not None and unit not in PAGE_UNITS:
            warnings.append(
                f"{vb.oid}: prtMarkerLifeCount counts {oids.COUNTER_UNITS.get(unit, unit)}, not pages"
            )
            continue
        value = as_int(vb) if vb.type in INTEGER_TYPES else None
        if value is None or value < 0:
            warnings.append(f"{vb.oid}: prtMarkerLifeCount is not a page count ({vb.value!r}, {vb.type})")
            continue
        found.append((vb.oid, value, unit))
    if not found:
        return None
    if how == "sum" and len({unit for _, _, unit in found}) == 1:
        unit = found[0][2]
        return "+".join(o for o, _, _ in found), sum(v for _, v, _ in found), _unit(unit)
    if len(found) > 1:
        others = ", ".join(f"{o} = {v}" for o, v, _ in found[1:])
        warnings.append(f"prtMarkerLifeCount: the first marker's count is the total; not added: {others}")
    oid, value, unit = found[0]
    return oid, value, _unit(unit)


def _unit(unit: int | None) -> str | None:
    return oids.COUNTER_UNITS.get(unit) if unit is not None else None


def read_meters(
    vendor: str | None,
    gets: Mapping[str, VarBind],
    marker_rows: Sequence[VarBind],
    warnings: list[str],
) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """``(meters, meter_evidence)`` for the poll document.

    The rules, in order: what the device itself counts comes first, a sum of parts last.

    1. The vendor's map (its own counters, ``total`` included), then the PWG counters.
    2. ``total`` missing: prtMarkerLifeCount, the device's lifetime count (rule
       ``prtMarkerLifeCount``), when it counts impressions or does not say; one counting sheets
       waits until step 3 (a duplex sheet is two impressions, and the parts count impressions).
    3. Sums of the parts for what is still missing (``sum(black,color)``); then a total in
       sheets from prtMarkerLifeCount if there is still none.
    4. Where the device's own count and the sum of its parts are both known and disagree, the
       device's count is kept, and a warning and the evidence (``"sum": {"rule", "value"}``)
       keep the sum.
    """
    maps = load_maps()
    meters: dict[str, int] = {}
    evidence: dict[str, dict[str, Any]] = {}
    if vendor in maps:
        _apply(maps[vendor], gets, meters, evidence, warnings)
    _apply(maps["pwg"], gets, meters, evidence, warnings)
    how = maps[vendor].life_count if vendor in maps else "first"
    life = _life_count(marker_rows, how, warnings)
    if "total" not in meters and life is not None and life[2] != "sheets":
        _life_total(life, meters, evidence)
    for whole, parts in SUMS:
        if not all(p in meters for p in parts):
            continue
        value = sum(meters[p] for p in parts)
        rule = f"sum({','.join(parts)})"
        if whole not in meters:
            meters[whole] = value
            evidence[whole] = {"oid": "+".join(evidence[p]["oid"] for p in parts), "raw": value, "rule": rule}
        elif meters[whole] != value and not evidence[whole]["rule"].startswith("sum("):
            evidence[whole]["sum"] = {"rule": rule, "value": value}
            warnings.append(
                f"{whole}: the device counts {meters[whole]} ({evidence[whole]['rule']}), {rule} is "
                f"{value}; the device's count is kept"
            )
    if "total" not in meters and life is not None:
        _life_total(life, meters, evidence)
    ordered = {name: meters[name] for name in sorted(meters, key=_order)}
    return ordered, {name: evidence[name] for name in ordered}


def _life_total(life: tuple[str, int, str | None], meters: dict[str, int], evidence: dict[str, Any]) -> None:
    oid, value, unit = life
    meters["total"] = value
    # prtMarkerCounterUnit says what the life count counts (impressions or sheets).
    evidence["total"] = {"oid": oid, "raw": value, "rule": "prtMarkerLifeCount", "unit": unit}


_ORDER = (
    "total",
    "black",
    "color",
    "print",
    "copy",
    "print_black",
    "print_color",
    "copy_black",
    "copy_color",
)


def _order(name: str) -> tuple[int, str]:
    return (_ORDER.index(name) if name in _ORDER else len(_ORDER), name)
