"""Named counters: every counter a printer names, kept with the device's own name and OID.

The normalised meters (:mod:`printwatch.mib.meters`) are what an MSP bills by; the counters
are what the device itself counts, read as it names them, so that a contract can bill by any
of them and a dispute can be settled against the printer's own panel. A poll document lists
them under ``counters``: ``[{"name", "oid", "value", "source"}]`` (plus ``"unit"`` where the
MIB says what is counted), where ``source`` is the rule that read it:

* ``<vendor>.counter_table``: a vendor table walked whole. A row is named by what the device
  says of it: its name column (Sharp, Ricoh: the name, not the OID, says what a row counts,
  because the same index is another counter on another model) or its type code (Lexmark's
  paperGeneralCountType); else by the vendor's fixed meaning of the index (``labels`` in the
  vendor's data file, each with its source: Konica Minolta, Kyocera, Canon, Xerox, Epson,
  Toshiba); else ``<prefix>.<index>`` (a counter nobody named is still kept).
* ``<vendor>.<meter>``: a counter of the vendor's meter map (named by its MIB object there).
* ``pwg``: the PWG Imaging System Counter MIB's impression and sheet tables, lifetime rows
  only, named ``<column>.<key> <service> <work type>`` (``icImpressionTotalImps.1 systemTotals
  workTotals``); power-on and resettable rows are left out (they go back to 0 by design).
* ``prtMarkerLifeCount``: RFC 3805's lifetime count of each marker that counts pages.

Error handling: as for meters, a value of the wrong type, a negative number or a number that
is not a count is left out with a warning naming the OID; a row without a name keeps its index
as its name (``row 1.4.60``) and a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from printwatch._core import VarBind
from printwatch.mib import oids
from printwatch.mib.meters import MAX_COUNT, PAGE_UNITS, read_rule
from printwatch.mib.tables import EXCEPTIONS, INTEGER_TYPES, as_int, columns
from printwatch.mib.text import decode_text
from printwatch.mib.vendors import CounterTable, load_maps


def count_of(vb: VarBind, what: str, warnings: list[str]) -> int | None:
    """A page count from one varbind, or None (and a warning) when it is not one."""
    if vb.type not in INTEGER_TYPES and vb.type != "OctetString":
        warnings.append(f"{vb.oid}: {what} has the wrong type {vb.type}")
        return None
    value = as_int(vb)
    if value is None or value < 0 or value > MAX_COUNT:
        warnings.append(f"{vb.oid}: {what} is not a page count ({vb.value!r}); left out")
        return None
    return value


def _column(
    table: CounterTable, root: str | None, walks: Mapping[str, Sequence[VarBind]]
) -> dict[str, VarBind]:
    """A walked column by row index (exceptions left out); empty when not walked."""
    if root is None:
        return {}
    return {vb.oid[len(root) + 1 :]: vb for vb in table.column(root, walks) if vb.type not in EXCEPTIONS}


def _row_name(
    table: CounterTable, index: str, names: Mapping[str, VarBind], types: Mapping[str, VarBind]
) -> str | None:
    """What the device calls row ``index``: its name column, else its type code's name."""
    if table.names is not None:
        named = names.get(index)
        return decode_text(named.value) if named is not None else None
    if table.types is not None:
        code = as_int(types[index]) if index in types else None
        return dict(table.type_names).get(code) if code is not None else None
    return None


def _table(
    table: CounterTable, walks: Mapping[str, Sequence[VarBind]], warnings: list[str]
) -> list[dict[str, Any]]:
    names, types = _column(table, table.names, walks), _column(table, table.types, walks)
    labels = dict(table.labels)
    out = []
    for vb in table.column(table.values, walks):
        if vb.type in EXCEPTIONS or not vb.oid.startswith(table.values + "."):
            continue
        if table.names is None and table.types is None and vb.type not in INTEGER_TYPES:
            continue  # a subtree walked whole: its text and other cells are not counts
        index = vb.oid[len(table.values) + 1 :]
        value = count_of(vb, table.rule, warnings)
        if value is None:
            continue
        name = _row_name(table, index, names, types) or labels.get(index)
        if not name and table.names is not None:
            warnings.append(f"{vb.oid}: {table.rule}: the device names no counter at index {index}")
        name = name or f"{table.prefix or 'row'}{'.' if table.prefix else ' '}{index}"
        out.append({"name": name, "oid": vb.oid, "value": value, "source": table.rule})
    return out


def _pwg(walks: Mapping[str, Sequence[VarBind]], warnings: list[str]) -> list[dict[str, Any]]:
    services = {
        vb.oid[len(oids.PWG_KEY_SERVICE_TYPE) + 1 :]: as_int(vb)
        for vb in walks.get(oids.PWG_KEY_SERVICE_TYPE, ())
        if vb.type not in EXCEPTIONS
    }
    out = []
    for table, (root, cols, unit) in oids.PWG_COUNTER_TABLES.items():
        for column, cells in sorted(columns(root, walks.get(root, ())).items()):
            if column not in cols:
                continue
            for index, vb in cells.items():
                parts = index.split(".")
                if len(parts) != 3 or not all(p.isdigit() for p in parts):
                    continue
                key, work, persistence = parts[0], int(parts[1]), int(parts[2])
                if oids.PWG_PERSISTENCE.get(persistence) != "lifetime":
                    continue  # power-on and resettable counts go back to 0 by design
                name = f"{table}{cols[column]}"
                value = count_of(vb, f"PWG {name}", warnings)
                if value is None:
                    continue
                service = oids.PWG_SERVICE_TYPES.get(services.get(key) or 0, "unknown")
                work_name = oids.PWG_WORK_TYPES.get(work, str(work))
                out.append(
                    {"name": f"{name}.{key} {service} {work_name}", "oid": vb.oid, "value": value,
                     "source": "pwg", "unit": unit}
                )  # fmt: skip
    return out


def _life_counts(marker_rows: Sequence[VarBind]) -> list[dict[str, Any]]:
    cols = columns(oids.PRT_MARKER_TABLE, marker_rows)
    units = cols.get(oids.MARKER_COLUMNS["counter_unit"], {})
    out = []
    for index, vb in sorted(cols.get(oids.MARKER_COLUMNS["life_count"], {}).items()):
        unit = as_int(units.get(index))
        if unit is not None and unit not in PAGE_UNITS:
            continue  # a length or a time, not pages (the meters' warning says so)
        value = as_int(vb) if vb.type in INTEGER_TYPES else None
        if value is None or value < 0:
            continue
        counter = {
            "name": f"prtMarkerLifeCount.{index}",
            "oid": vb.oid,
            "value": value,
            "source": "prtMarkerLifeCount",
        }
        counter["unit"] = oids.COUNTER_UNITS.get(unit) if unit is not None else None
        out.append(counter)
    return out


def table_cells(vendor: str | None, walks: Mapping[str, Sequence[VarBind]]) -> dict[str, VarBind]:
    """Every cell of the vendor's counter tables as walked, by OID: a meter of the vendor's map
    at an OID a table covers is read from the walk (the poll does not GET it again)."""
    vmap = load_maps().get(vendor or "")
    if vmap is None:
        return {}
    return {
        vb.oid: vb
        for t in vmap.counter_tables
        for vb in t.column(t.values, walks)
        if vb.type not in EXCEPTIONS
    }


def read_counters(
    vendor: str | None,
    gets: Mapping[str, VarBind],
    walks: Mapping[str, Sequence[VarBind]],
    marker_rows: Sequence[VarBind],
    warnings: list[str],
) -> list[dict[str, Any]]:
    """Every counter the printer names, once per OID and name: the vendor's counter tables
    first (the device's own names), then the counters of its meter map, the PWG tables and
    prtMarkerLifeCount."""
    found: list[dict[str, Any]] = []
    vmap = load_maps().get(vendor or "")
    if vmap is not None and vmap.vendor != "pwg":
        for table in vmap.counter_tables:
            found += _table(table, walks, warnings)
        for rule in vmap.meters:
            vb = gets.get(rule.oid)
            if vb is None or vb.type in EXCEPTIONS:
                continue
            value = read_rule(rule, vb, [])  # its warnings are the meters' (same read)
            if value is not None:
                found.append({"name": rule.mib, "oid": rule.oid, "value": value, "source": rule.rule})
    found += _pwg(walks, warnings)
    found += _life_counts(marker_rows)
    # A map's counter at an OID the device's own table named is the same counter: the table's
    # name wins. Otherwise a counter is one (OID, name): Brother packs several in one OID.
    tables = {c["oid"] for c in found if c["source"].endswith(".counter_table")}
    seen: set[tuple[str, str]] = set()
    out = []
    for counter in found:
        key = (counter["oid"], counter["name"])
        if key in seen or (counter["oid"] in tables and not counter["source"].endswith(".counter_table")):
            continue
        seen.add(key)
        out.append(counter)
    return out
