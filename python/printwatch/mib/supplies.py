"""Marker supplies (RFC 3805 prtMarkerSuppliesTable) with their colours (prtMarkerColorantTable).

Each row becomes one supply of the poll document::

    {"index": 1, "description": "Black Toner", "type": "toner", "class": "consumed",
     "color": "black", "unit": "percent", "max_capacity": 100, "level": 42, "percent": 42.0,
     "state": "ok", "coarse": false, "flags": []}

``level`` and ``max_capacity`` are the printer's own numbers (special values included);
``percent`` and ``state`` say what they mean (see :mod:`printwatch.mib.levels`). Receptacles
(class ``filled``, e.g. waste toner boxes) report the space remaining (RFC 3805:
prtMarkerSuppliesLevel is "the remaining space if this supply is a receptacle"), so their
percent is the room left and ``empty`` means no room left: the right way up for ordering.

Error handling: a row without a level or description is kept with nulls and a warning; a
wrongly typed cell is null with a warning naming the OID.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from printwatch._core import VarBind
from printwatch.mib import oids
from printwatch.mib.colors import colorant_color, description_color
from printwatch.mib.levels import low_threshold, read_level
from printwatch.mib.tables import Columns, as_int, cell, columns, indexes
from printwatch.mib.text import decode_name

_PART_NUMBER = re.compile(r",\s*PN\s+\S+$", re.IGNORECASE)
#: Manufacturer names some printers append to every supply (OKI: "... OKI DATA CORP").
_VENDOR_SUFFIX = re.compile(r"\s+(OKI DATA CORP|OKI DATA|OKIDATA)$", re.IGNORECASE)
#: Samsung's cartridge chip serial marker, often empty: "Black Toner Cartridge S/N:CRUM-".
_SERIAL_SUFFIX = re.compile(r"\s+S/N:\s*\S*$")
#: Brand names printers put in front of a supply name ("HP Black Toner", "Canon Cartridge 719").
_VENDOR_PREFIX = re.compile(
    r"^(HP|Hewlett[- ]Packard|Canon|Xerox|Brother|Lexmark|Kyocera|Ricoh|Sharp|Samsung|Epson|OKI|"
    r"Toshiba|Konica Minolta|Dell)\s+(?=\S)",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)
def clean_description(text: str | None) -> str | None:
    """A supply name without a trailing part number (", PN ..."), a trailing empty cartridge
    serial marker, a trailing or leading brand name; hex and encodings already decoded."""
    if text is None:
        return None
    out = _PART_NUMBER.sub("", text)
    out = _SERIAL_SUFFIX.sub("", out)
    out = _VENDOR_SUFFIX.sub("", out)
    out = _VENDOR_PREFIX.sub("", out)
    return out.strip() or text


def _last(index: str) -> int:
    tail = index.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _enum(
    cols: Columns, column: int, index: str, names: Mapping[int, str], what: str, warnings: list[str]
) -> str | None:
    vb = cell(cols, column, index)
    value = as_int(vb)
    if vb is None:
        return None
    if value is None:
        warnings.append(f"{vb.oid}: {what} has the wrong type {vb.type}")
        return None
    name = names.get(value)
    if name is None:
        warnings.append(f"{vb.oid}: unknown {what} {value}")
    return name


def _int_cell(cols: Columns, column: int, index: str, what: str, warnings: list[str]) -> int | None:
    vb = cell(cols, column, index)
    value = as_int(vb)
    if vb is not None and value is None:
        warnings.append(f"{vb.oid}: {what} has the wrong type {vb.type}")
    return value


def colorant_names(rows: Sequence[VarBind]) -> dict[str, str | None]:
    """``{colorant row index: canonical colour}`` from a walk of prtMarkerColorantTable."""
    cols = columns(oids.PRT_COLORANT_TABLE, rows)
    values = cols.get(oids.COLORANT_COLUMNS["value"], {})
    return {index: colorant_color(decode_name(vb.value)) for index, vb in values.items()}


def supplies(
    rows: Sequence[VarBind],
    colorant_rows: Sequence[VarBind],
    warnings: list[str],
    thresholds: Mapping[str, float] | None = None,
    *,
    colorants: Mapping[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Every row of prtMarkerSuppliesTable as a supply of the poll document, in index order.
    ``colorants``: the :func:`colorant_names` of an earlier walk, instead of ``colorant_rows``."""
    cols = columns(oids.PRT_SUPPLIES_TABLE, rows)
    if colorants is None:
        colorants = colorant_names(colorant_rows)
    c = oids.SUPPLY_COLUMNS
    out = []
    for index in indexes(cols):
        desc_vb = cell(cols, c["description"], index)
        description = clean_description(decode_name(desc_vb.value)) if desc_vb is not None else None
        if description is None:
            warnings.append(f"prtMarkerSuppliesDescription.{index}: missing")
        kind = _enum(cols, c["type"], index, oids.SUPPLY_TYPES, "type", warnings)
        klass = _enum(cols, c["class"], index, oids.SUPPLY_CLASSES, "class", warnings)
        unit_code = _int_cell(cols, c["unit"], index, "unit", warnings)
        unit = oids.SUPPLY_UNITS.get(unit_code) if unit_code is not None else None
        capacity = _int_cell(cols, c["max_capacity"], index, "max capacity", warnings)
        level = _int_cell(cols, c["level"], index, "level", warnings)
        if level is None and cell(cols, c["level"], index) is None:
            warnings.append(f"prtMarkerSuppliesLevel.{index}: missing")
        color = _color(cols, index, colorants, description)
        meaning = read_level(
            level,
            capacity,
            unit_percent=unit_code == oids.UNIT_PERCENT,
            low_percent=low_threshold(kind, thresholds),
        )
        out.append(
            {
                "index": _last(index),
                "description": description,
                "type": kind,
                "class": None if klass == "other" else klass,
                "color": color,
                "unit": unit,
                "max_capacity": capacity,
                "level": level,
                "percent": meaning.percent,
                "state": meaning.state,
                "coarse": meaning.coarse,
                "flags": meaning.flags,
            }
        )
    return out


def _color(
    cols: Columns, index: str, colorants: Mapping[str, str | None], description: str | None
) -> str | None:
    """The colorant row this supply points at (same hrDeviceIndex), else the description."""
    colorant_index = as_int(cell(cols, oids.SUPPLY_COLUMNS["colorant_index"], index))
    if colorant_index:
        device = index.rsplit(".", 1)[0] if "." in index else ""
        key = f"{device}.{colorant_index}" if device else str(colorant_index)
        found = colorants.get(key) or colorants.get(str(colorant_index))
        if found:
            return found
    return description_color(description)
