"""A built-in model as an SNMP agent's data: ``.snmprec`` text (``OID|tag|value`` lines in OID
order, the format snmpsim and printwatch's simulator both serve).

What a model answers, by MIB:

* SNMPv2-MIB (RFC 3418): the system group.
* IF-MIB (RFC 2863): ifNumber, ifTable (an Ethernet port with the model's MAC, and the
  loopback), ifXTable (ifName, ifHighSpeed; not on v1-only firmware).
* HOST-RESOURCES-MIB (RFC 2790): hrSystemUptime, hrMemorySize, hrDeviceTable (the printer,
  device 1), hrPrinterTable (hrPrinterStatus, hrPrinterDetectedErrorState).
* Printer-MIB (RFC 3805), device 1: prtGeneralTable (printer name, serial number),
  prtCoverTable, prtLocalizationTable, prtInputTable, prtOutputTable, prtMarkerTable (with
  prtMarkerLifeCount), prtMarkerSuppliesTable, prtMarkerColorantTable, prtMediaPathTable,
  prtConsoleDisplayBufferTable, prtConsoleLightTable, prtAlertTable.
* The vendor's private OIDs that printwatch reads (``printwatch/mib/meters/<vendor>.toml``):
  every meter of the map, the model and serial OIDs; the PWG Imaging System counters
  (PWG 5106.1) where the model has them.

Status, error bits and alerts follow from the supplies and trays: a consumable at or below 10%
is lowToner and a markerTonerAlmostEmpty (or ink, OPC, life-almost-over) alert, a waste
receptacle with 10% room or less a receptacle-almost-full alert, an empty tray noPaper; any
alert makes hrDeviceStatus warning(3), a critical one down(5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from printwatch.catalogue.models import MARK_TECH, TRAY_TYPES, Model, Supply, Tray
from printwatch.mib import oids
from printwatch.mib.levels import read_level
from printwatch.mib.meters import brother_counter
from printwatch.mib.vendors import MeterRule, load_maps

#: snmprec tags (snmpsim's: the BER tag number, ``x`` for hex-encoded values).
INTEGER, OCTETS, HEX, OID, COUNTER32, GAUGE32, TIMETICKS = "2", "4", "4x", "6", "65", "66", "67"
SYSTEM, IF, HR, PRT = "1.3.6.1.2.1.1", "1.3.6.1.2.1.2", "1.3.6.1.2.1.25", "1.3.6.1.2.1.43"
IFX = "1.3.6.1.2.1.31.1.1.1"
HR_DEVICE_PRINTER = oids.HR_DEVICE_PRINTER
LOW_PERCENT = 10.0

Row = tuple[str, str, str]


@dataclass(frozen=True)
class Alert:
    """One prtAlertTable row (PrtAlertSeverityLevelTC, PrtAlertGroupTC, PrtAlertCodeTC)."""

    severity: int  # critical(3), warning(4)
    group: int  # markerSupplies(11), input(8)
    group_index: int
    code: int
    description: str
    bit: int | None  # hrPrinterDetectedErrorState bit (0 = most significant of octet 1)

    @property
    def critical(self) -> bool:
        return self.severity == 3


def _percent(level: int, max_capacity: int, unit_percent: bool) -> float | None:
    return read_level(level, max_capacity, unit_percent=unit_percent, low_percent=LOW_PERCENT).percent


#: (code when low, code when empty, what is said) by kind of supply (PrtAlertCodeTC).
_SUPPLY_CODES = {
    "toner": (1104, 1101, ("low", "empty")),
    "ink": (1105, 1102, ("low", "empty")),
    "wasteToner": (1107, 1109, ("nearly full", "full")),
    "wasteInk": (1108, 1110, ("nearly full", "full")),
    "opc": (1111, 1112, ("life almost over", "life over")),
    # maintenance kits, fusers, transfer units, developer, staples: subunitLifeAlmostOver/Over
    "other": (10, 11, ("near end of life", "needs replacing")),
}
_MARKING = {"toner": "toner", "tonerCartridge": "toner", "inkRibbon": "toner", "ribbonWax": "toner"}
_MARKING |= {"ink": "ink", "inkCartridge": "ink"}


def supply_alert(index: int, s: Supply) -> Alert | None:
    """The alert a supply raises at its level, if any: low (10% or less) or empty; a
    receptacle with 10% room or less, or none."""
    percent = _percent(s.level, s.max_capacity, s.unit == "percent")
    if percent is None or percent > LOW_PERCENT:
        return None
    empty = percent <= 0
    kind = _MARKING.get(s.type) or ("wasteInk" if s.type == "wasteInk" else None)
    kind = kind or ("wasteToner" if s.receptacle else "opc" if s.type == "opc" else "other")
    low_code, empty_code, said = _SUPPLY_CODES[kind]
    # noToner and lowToner are the hrPrinterDetectedErrorState bits of the marking supplies.
    bit = (3 if empty else 2) if kind in ("toner", "ink") else None
    code = empty_code if empty else low_code
    return Alert(3 if empty else 4, 11, index, code, f"{s.description} {said[empty]}", bit)


def tray_alert(index: int, t: Tray) -> Alert | None:
    """The alert a tray raises: empty (noPaper) or low (lowPaper); never a manual feed."""
    if t.type == "manual":
        return None
    percent = _percent(t.level, t.max_capacity, False)
    if percent is None or percent > LOW_PERCENT:
        return None
    if percent <= 0:
        return Alert(4, 8, index, 808, f"{t.name} empty", 1)
    return Alert(4, 8, index, 807, f"{t.name} low", 0)


def alerts_of(model: Model) -> list[Alert]:
    found = [supply_alert(i, s) for i, s in enumerate(model.supplies, 1)]
    found += [tray_alert(i, t) for i, t in enumerate(model.trays, 1)]
    return [a for a in found if a is not None]


def status_of(model: Model) -> dict[str, Any]:
    """What the model's HR-MIB status says: hrDeviceStatus name, hrPrinterStatus name, the
    error bits set (names of the poll document)."""
    alerts = alerts_of(model)
    device = "down" if any(a.critical for a in alerts) else "warning" if alerts else "running"
    bits = sorted({a.bit for a in alerts if a.bit is not None})
    return {"device": device, "printer": "idle", "errors": [oids.HR_PRINTER_ERROR_BITS[b] for b in bits]}


def _error_octets(model: Model) -> str:
    value = 0
    for a in alerts_of(model):
        if a.bit is not None:
            value |= 0x8000 >> a.bit
    # v1-era agents send the RFC 2790 octet only; RFC 3805 agents two.
    return f"{value >> 8:02x}" if model.versions == ("1",) else f"{value:04x}"


def _text(value: str) -> tuple[str, str]:
    """A text value as snmprec: plain when printable ASCII, else hex."""
    if value.isascii() and value.isprintable() and value == value.strip() and "|" not in value:
        return OCTETS, value
    return HEX, value.encode().hex()


def _uptime_ticks(model: Model) -> int:
    # 2 to 40 days since the last power-on, a function of the model (reproducible).
    return (2 + (model.pages * 7919) % 38) * 8_640_000 + (model.pages * 104_729) % 8_640_000


def _system(model: Model) -> list[Row]:
    return [
        (f"{SYSTEM}.1.0", *_text(model.sys_descr)),
        (f"{SYSTEM}.2.0", OID, model.object_id),
        (f"{SYSTEM}.3.0", TIMETICKS, str(_uptime_ticks(model))),
        (f"{SYSTEM}.4.0", OCTETS, ""),
        (f"{SYSTEM}.5.0", *_text(model.sys_name)),
        (f"{SYSTEM}.6.0", OCTETS, ""),
        (f"{SYSTEM}.7.0", INTEGER, "72"),
    ]


def _interfaces(model: Model) -> list[Row]:
    mac = model.mac.replace(":", "")
    traffic = model.pages * 2113
    rows: list[Row] = [(f"{IF}.1.0", INTEGER, "2")]
    ports = [
        (1, "Ethernet", 6, 1500, 1_000_000_000 if model.versions != ("1",) else 100_000_000, mac),
        (2, "Loopback", 24, 1536, 10_000_000, ""),
    ]
    columns: list[tuple[int, str, Any]] = [
        (1, INTEGER, lambda p: p[0]),
        (2, OCTETS, lambda p: p[1]),
        (3, INTEGER, lambda p: p[2]),
        (4, INTEGER, lambda p: p[3]),
        (5, GAUGE32, lambda p: p[4]),
        (6, HEX, lambda p: p[5]),
        (7, INTEGER, lambda _p: 1),
        (8, INTEGER, lambda _p: 1),
        (9, TIMETICKS, lambda _p: 0),
        (10, COUNTER32, lambda p: traffic % 2**32 if p[0] == 1 else 0),
        (11, COUNTER32, lambda p: traffic // 700 % 2**32 if p[0] == 1 else 0),
        (16, COUNTER32, lambda p: traffic * 3 % 2**32 if p[0] == 1 else 0),
        (17, COUNTER32, lambda p: traffic // 600 % 2**32 if p[0] == 1 else 0),
    ]
    for column, tag, value in columns:
        for port in ports:
            text = str(value(port))
            rows.append((f"{IF}.2.1.{column}.{port[0]}", tag if text else OCTETS, text))
    if model.versions != ("1",):
        for port in ports:
            rows.append((f"{IFX}.1.{port[0]}", OCTETS, "eth0" if port[0] == 1 else "lo"))
            rows.append((f"{IFX}.15.{port[0]}", GAUGE32, str(port[4] // 1_000_000)))
    return rows


def _host_resources(model: Model) -> list[Row]:
    status = {"running": 2, "warning": 3, "down": 5}[status_of(model)["device"]]
    return [
        (f"{HR}.1.1.0", TIMETICKS, str(_uptime_ticks(model))),
        (f"{HR}.2.2.0", INTEGER, "65536" if model.versions == ("1",) else "1048576"),
        (f"{HR}.3.2.1.1.1", INTEGER, "1"),
        (f"{HR}.3.2.1.2.1", OID, HR_DEVICE_PRINTER),
        (f"{HR}.3.2.1.3.1", *_text(model.model)),
        (f"{HR}.3.2.1.4.1", OID, "0.0"),
        (f"{HR}.3.2.1.5.1", INTEGER, str(status)),
        (f"{HR}.3.2.1.6.1", COUNTER32, "0"),
        (f"{HR}.3.5.1.1.1", INTEGER, "3"),
        (f"{HR}.3.5.1.2.1", HEX, _error_octets(model)),
    ]


def _general(model: Model) -> list[Row]:
    alerts = alerts_of(model)
    g = f"{PRT}.5.1.1"
    return [
        (f"{g}.1.1", COUNTER32, "3"),
        (f"{g}.2.1", INTEGER, "1"),
        (f"{g}.3.1", INTEGER, "3"),  # notResetting(3)
        (f"{g}.4.1", OCTETS, ""),
        (f"{g}.5.1", OCTETS, ""),
        (f"{g}.6.1", INTEGER, "1"),
        (f"{g}.7.1", INTEGER, "1"),
        (f"{g}.8.1", INTEGER, "1"),
        (f"{g}.9.1", INTEGER, "1"),
        (f"{g}.10.1", INTEGER, "1"),
        (f"{g}.11.1", INTEGER, "2" if model.kind != "label" else "1"),
        (f"{g}.12.1", INTEGER, "24"),
        (f"{g}.13.1", INTEGER, "3"),  # operatorConsoleEnabled(3)
        (f"{g}.14.1", INTEGER, "4"),  # off(4)
        (f"{g}.15.1", INTEGER, "4"),
        (f"{g}.16.1", *_text(model.model)),
        (f"{g}.17.1", *_text(model.serial)),
        (f"{g}.18.1", COUNTER32, str(sum(a.critical for a in alerts))),
        (f"{g}.19.1", COUNTER32, str(len(alerts))),
        (f"{PRT}.6.1.1.2.1.1", OCTETS, "Front Cover"),
        (f"{PRT}.6.1.1.3.1.1", INTEGER, "4"),  # coverClosed(4)
        (f"{PRT}.7.1.1.2.1.1", OCTETS, "en"),
        (f"{PRT}.7.1.1.3.1.1", OCTETS, "US"),
        (f"{PRT}.7.1.1.4.1.1", INTEGER, "106"),  # IANA charset UTF-8
    ]


def _inputs(model: Model) -> list[Row]:
    rows: list[Row] = []
    cap_units = {name: code for code, name in oids.CAPACITY_UNITS.items()}
    for i, t in enumerate(model.trays, 1):
        roll = t.type == "roll"
        cells: list[tuple[int, str, str]] = [
            (2, INTEGER, str(TRAY_TYPES[t.type])),
            (3, INTEGER, "4" if roll else "3"),  # micrometers(4), tenThousandthsOfInches(3)
            (4, INTEGER, "-1" if roll else "116900"),
            (5, INTEGER, "104000" if roll else "82700"),
            (8, INTEGER, str(cap_units[t.unit])),
            (9, INTEGER, str(t.max_capacity)),
            (10, INTEGER, str(t.level)),
            (11, INTEGER, "0"),  # available and idle
            (12, *_text(t.media)),
            (13, *_text(t.name)),
            (18, *_text(t.name)),
        ]
        rows.extend((f"{PRT}.8.2.1.{c}.1.{i}", tag, v) for c, tag, v in cells)
    return rows


def _output(model: Model) -> list[Row]:
    o = f"{PRT}.9.2.1"
    capacity = "-2" if model.kind == "label" else "250" if model.kind != "production" else "3000"
    return [
        (f"{o}.2.1.1", INTEGER, "4"),  # unRemovableBin(4)
        (f"{o}.3.1.1", INTEGER, "8"),  # sheets(8)
        (f"{o}.4.1.1", INTEGER, capacity),
        (f"{o}.5.1.1", INTEGER, "-3"),  # some room remains
        (f"{o}.6.1.1", INTEGER, "0"),
        (f"{o}.7.1.1", OCTETS, "Output Bin" if model.kind != "label" else "Label Exit"),
    ]


def _marker(model: Model) -> list[Row]:
    m = f"{PRT}.10.2.1"
    dpi = "2030" if model.kind == "label" else "6000"
    return [
        (f"{m}.2.1.1", INTEGER, str(MARK_TECH[model.tech])),
        (f"{m}.3.1.1", INTEGER, "7"),  # impressions(7)
        (f"{m}.4.1.1", COUNTER32, str(model.pages)),
        (f"{m}.5.1.1", COUNTER32, str(model.pages % 9973)),
        (f"{m}.6.1.1", INTEGER, str(len(model.colors))),
        (f"{m}.7.1.1", INTEGER, "0"),
        (f"{m}.8.1.1", INTEGER, "3"),
        (f"{m}.9.1.1", INTEGER, dpi),
        (f"{m}.10.1.1", INTEGER, dpi),
        *((f"{m}.{c}.1.1", INTEGER, "2000") for c in (11, 12, 13, 14)),
        (f"{m}.15.1.1", INTEGER, "0"),
    ]


def _supplies(model: Model) -> list[Row]:
    rows: list[Row] = []
    for i, s in enumerate(model.supplies, 1):
        colorant = model.colors.index(s.color) + 1 if s.color is not None else 0
        cells: list[tuple[int, str, str]] = [
            (2, INTEGER, "1"),
            (3, INTEGER, str(colorant)),
            (4, INTEGER, "4" if s.receptacle else "3"),  # receptacleThatIsFilled, supplyThatIsConsumed
            (5, INTEGER, str(s.type_code)),
            (6, *_text(s.description)),
            (7, INTEGER, str(s.unit_code)),
            (8, INTEGER, str(s.max_capacity)),
            (9, INTEGER, str(s.level)),
        ]
        rows.extend((f"{PRT}.11.1.1.{c}.1.{i}", tag, v) for c, tag, v in cells)
    for i, color in enumerate(model.colors, 1):
        c = f"{PRT}.12.1.1"
        rows += [
            (f"{c}.2.1.{i}", INTEGER, "1"),
            (f"{c}.3.1.{i}", INTEGER, "3"),  # process(3)
            (f"{c}.4.1.{i}", OCTETS, color),
            (f"{c}.5.1.{i}", INTEGER, "256"),
        ]
    return rows


def _media_paths(model: Model) -> list[Row]:
    paths = [(1, 5, "Simplex")] + ([(2, 3, "Duplex")] if "duplex" in model.functions else [])
    rows: list[Row] = []
    for i, kind, name in paths:
        p = f"{PRT}.13.4.1"
        rows += [
            (f"{p}.2.{1}.{i}", INTEGER, "7"),  # impressionsPerHour(7)
            (f"{p}.3.1.{i}", INTEGER, "3"),
            (f"{p}.4.1.{i}", INTEGER, str(model.speed_ppm * 60)),
            (f"{p}.5.1.{i}", INTEGER, "-1"),
            (f"{p}.6.1.{i}", INTEGER, "-1"),
            (f"{p}.7.1.{i}", INTEGER, "-1"),
            (f"{p}.8.1.{i}", INTEGER, "-1"),
            (f"{p}.9.1.{i}", INTEGER, str(kind)),
            (f"{p}.10.1.{i}", OCTETS, name),
            (f"{p}.11.1.{i}", INTEGER, "0"),
        ]
    return rows


def _console(model: Model) -> list[Row]:
    alerts = alerts_of(model)
    text = alerts[0].description if alerts else "Ready"
    attention = alerts and any(a.critical for a in alerts)
    lights = [(1, "Ready", 5, (1000, 0)), (2, "Attention", 10, (500, 500) if alerts else (0, 0))]
    rows: list[Row] = [
        (f"{PRT}.16.5.1.2.1.1", *_text(text[:24])),
        (f"{PRT}.16.5.1.2.1.2", OCTETS, "Sleep mode off" if not attention else "Call service"),
    ]
    for i, name, color, (on, off) in lights:
        c = f"{PRT}.17.6.1"
        rows += [
            (f"{c}.2.1.{i}", INTEGER, str(on)),
            (f"{c}.3.1.{i}", INTEGER, str(off)),
            (f"{c}.4.1.{i}", INTEGER, str(color)),  # green(5), orange(10)
            (f"{c}.5.1.{i}", OCTETS, name),
        ]
    return rows


def _alerts(model: Model) -> list[Row]:
    rows: list[Row] = []
    ticks = _uptime_ticks(model)
    for i, a in enumerate(alerts_of(model), 1):
        c = f"{PRT}.18.1.1"
        rows += [
            (f"{c}.2.1.{i}", INTEGER, str(a.severity)),
            (f"{c}.3.1.{i}", INTEGER, "4"),  # trained(4)
            (f"{c}.4.1.{i}", INTEGER, str(a.group)),
            (f"{c}.5.1.{i}", INTEGER, str(a.group_index)),
            (f"{c}.6.1.{i}", INTEGER, "-2"),
            (f"{c}.7.1.{i}", INTEGER, str(a.code)),
            (f"{c}.8.1.{i}", *_text(a.description)),
            (f"{c}.9.1.{i}", TIMETICKS, str(max(0, ticks - 360_000 * i))),
        ]
    return rows


def _meter_value(rules: list[MeterRule], counters: dict[str, int]) -> Row:
    """One vendor OID, holding one meter or (Brother) several packed as records."""
    first = rules[0]
    if first.decode == "brother_counter":
        data = b"".join(bytes([r.code or 0, 1, 4]) + counters[r.name].to_bytes(4, "big") for r in rules)
        assert all(brother_counter(data, r.code or 0) == counters[r.name] for r in rules)
        return first.oid, HEX, data.hex()
    return first.oid, COUNTER32, str(counters[first.name])


def _identity_value(decode: str, field: str, model: Model) -> tuple[str, str]:
    text = model.serial if field == "serial" else model.model
    if decode == "hp_pml":
        return HEX, (b"\x01\x15" + text.encode()).hex()
    if decode == "ieee1284_mdl":
        make = model.brand.upper()
        return _text(f"MFG:{make};CMD:PJL,PCL,POSTSCRIPT;MDL:{text};CLS:PRINTER;DES:{text};")
    return _text(text)


def _counter_rows(model: Model, rendered: set[str]) -> list[Row]:
    """The vendor's counter-table rows the model answers (``[[counter_row]]``): each count (once:
    a meter's OID is already rendered) with its name or type code at the same index."""
    counters = model.counters()
    tables = load_maps()[model.vendor].counter_tables
    rows: list[Row] = []
    for row in model.counter_rows:
        if row.oid not in rendered:
            rows.append((row.oid, COUNTER32, str(counters[row.meter])))
        table = next(t for t in tables if row.oid.startswith(t.values + "."))
        index = row.oid[len(table.values) :]
        if table.names is not None and row.name is not None:
            rows.append((table.names + index, *_text(row.name)))
        if table.types is not None and row.type is not None:
            rows.append((table.types + index, INTEGER, str(row.type)))
    return rows


def _vendor(model: Model) -> list[Row]:
    maps = load_maps()
    vmap = maps[model.vendor]
    counters = model.counters()
    by_oid: dict[str, list[MeterRule]] = {}
    for rule in vmap.meters:
        by_oid.setdefault(rule.oid, []).append(rule)
    rows = [_meter_value(rules, counters) for rules in by_oid.values()]
    rows += [(r.oid, *_identity_value(r.decode, r.field, model)) for r in vmap.identity]
    for table in vmap.counter_tables:
        # A counter table names its rows itself (Sharp): the name column beside each count,
        # the name the map quotes ("SHARP counter 'Prints'").
        for oid, rules in by_oid.items():
            if table.names is not None and oid.startswith(table.values + "."):
                quoted = re.search(r"'([^']+)'", rules[0].mib)
                rows.append(
                    (table.names + oid[len(table.values) :], *_text(quoted[1] if quoted else rules[0].mib))
                )
    rows += _counter_rows(model, set(by_oid))
    if model.pwg:
        pwg = maps["pwg"]
        assert pwg.guard is not None
        rows.append((pwg.guard.oid, INTEGER, str(pwg.guard.equals)))
        rows += [(r.oid, COUNTER32, str(counters[r.name])) for r in pwg.meters]
    return rows


def _oid_key(row: Row) -> tuple[int, ...]:
    return tuple(int(arc) for arc in row[0].split("."))


def rows(model: Model) -> list[Row]:
    """Every variable of the model, in OID order; each OID once."""
    found = [
        *_system(model),
        *_interfaces(model),
        *_host_resources(model),
        *_general(model),
        *_inputs(model),
        *_output(model),
        *_marker(model),
        *_supplies(model),
        *_media_paths(model),
        *_console(model),
        *_alerts(model),
        *_vendor(model),
    ]
    unique = {row[0]: row for row in found}
    if len(unique) != len(found):
        raise ValueError(f"{model.id}: an OID is rendered twice")
    return sorted(unique.values(), key=_oid_key)


def snmprec(model: Model) -> str:
    """The model as ``.snmprec`` text."""
    return "".join(f"{oid}|{tag}|{value}\n" for oid, tag, value in rows(model))
