"""The built-in printer models: data files in ``printwatch/catalogue/models/`` (one per vendor),
loaded and checked once.

A vendor file names the vendor (a vendor of ``printwatch/mib/meters/``, whose meter OIDs the
models answer), its brand, an IEEE OUI of the maker and the defaults of its models; each
``[[model]]`` says what the device is (kind, marking technology, functions), who it is (model
name, sysDescr, serial number), how much it has printed, and its supplies and trays. See
``models/README.md`` for the keys.

Error handling: a malformed data file raises ``ValueError`` naming the file, the model and the
key (the package's own files are checked by the tests; this is for people adding a model).
"""

from __future__ import annotations

import functools
import re
import tomllib
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from typing import Any

from printwatch.mib import oids
from printwatch.mib.meternames import METER_NAMES
from printwatch.mib.vendors import load_maps

KINDS = frozenset(
    {"mono_laser", "color_laser", "mono_mfp", "color_mfp", "inkjet", "inkjet_mfp", "production", "label"}
)
#: prtMarkerMarkTech (PrtMarkerMarkTechTC, RFC 3805) of each marking technology.
MARK_TECH = {"led": 3, "laser": 4, "inkjet": 12, "thermal_transfer": 16, "direct_thermal": 17}
FUNCTIONS = frozenset({"copy", "scan", "fax", "duplex"})
VERSIONS = frozenset({"1", "2c"})
#: prtInputType (PrtInputTypeTC): removable tray, fixed tray, manual feed, roll.
TRAY_TYPES = {"tray": 3, "fixed": 4, "manual": 5, "roll": 6}
#: Supply types whose rows are receptacles (RFC 3805: the level is the space remaining).
RECEPTACLES = frozenset({"wasteToner", "wasteInk", "wastePaper", "wasteWater", "wasteWax"})
_TYPE_CODES = {name: code for code, name in oids.SUPPLY_TYPES.items()}
_UNIT_CODES = {name: code for code, name in oids.SUPPLY_UNITS.items()}
_CAPACITY_UNITS = {name: code for code, name in oids.CAPACITY_UNITS.items()}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_OUI = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){2}$")
_OID = re.compile(r"^1\.3\.6\.1\.4\.1\.[0-9]+(\.[0-9]+)*$")


@dataclass(frozen=True)
class Supply:
    """One row of prtMarkerSuppliesTable."""

    type: str
    description: str
    unit: str
    max_capacity: int
    level: int
    color: str | None = None

    @property
    def type_code(self) -> int:
        return _TYPE_CODES[self.type]

    @property
    def unit_code(self) -> int:
        return _UNIT_CODES[self.unit]

    @property
    def receptacle(self) -> bool:
        return self.type in RECEPTACLES


@dataclass(frozen=True)
class Tray:
    """One row of prtInputTable."""

    name: str
    media: str
    max_capacity: int
    level: int
    type: str = "tray"
    unit: str = "sheets"


@dataclass(frozen=True)
class CounterRow:
    """One row of a vendor counter table a vendor's models answer (``[[counter_row]]``): its
    OID, the meter whose value it counts, and what the device says of it (its ``name`` where the
    table has a name column, its ``type`` code where it has a type column)."""

    oid: str
    meter: str
    name: str | None = None
    type: int | None = None


def _counter_row(raw: dict[str, Any], vendor: str, where: str) -> CounterRow:
    oid = _text(raw, "oid", where)
    tables = [t for t in load_maps()[vendor].counter_tables if oid.startswith(t.values + ".")]
    if not tables:
        raise ValueError(f"{where}: 'oid' {oid!r} is in no counter table of meters/{vendor}.toml")
    meter = _text(raw, "meter", where)
    if meter not in METER_NAMES:
        raise ValueError(f"{where}: 'meter' {meter!r} is not one of {sorted(METER_NAMES)}")
    name, code = raw.get("name"), raw.get("type")
    if (tables[0].names is not None) != isinstance(name, str):
        raise ValueError(f"{where}: 'name' (a string) goes with a table that names its rows, only")
    if (tables[0].types is not None) != isinstance(code, int):
        raise ValueError(f"{where}: 'type' (an integer) goes with a table of typed rows, only")
    return CounterRow(oid, meter, name, code)


@dataclass(frozen=True)
class Model:
    """One built-in printer model."""

    id: str
    vendor: str
    brand: str
    model: str
    kind: str
    tech: str
    sys_descr: str
    object_id: str
    oui: str
    sys_name: str
    serial: str
    pages: int
    functions: frozenset[str]
    colors: tuple[str, ...]
    supplies: tuple[Supply, ...]
    trays: tuple[Tray, ...]
    versions: tuple[str, ...]
    pwg: bool
    speed_ppm: int
    color_share: float
    source: str
    path: str
    counter_rows: tuple[CounterRow, ...] = ()

    @property
    def color(self) -> bool:
        return len(self.colors) > 1

    @property
    def mac(self) -> str:
        """The recorded MAC address: the maker's OUI and three octets from the model's id."""
        tail = zlib.crc32(self.id.encode()) & 0xFFFFFF
        return f"{self.oui}:{tail >> 16:02X}:{(tail >> 8) & 0xFF:02X}:{tail & 0xFF:02X}".lower()

    def counters(self) -> dict[str, int]:
        """Every meter the model counts (the meter names of the poll document), consistent with
        each other: total = black + color = print + copy; print = print_black + print_color
        (fax prints are prints, and black); copy = copy_black + copy_color. A function the
        model lacks counts 0."""
        total = self.pages
        color = round(total * self.color_share) if self.color else 0
        copy = round(total * 0.3) if "copy" in self.functions else 0
        copy_color = round(copy * self.color_share) if self.color else 0
        printed = total - copy
        print_color = color - copy_color
        return {
            "total": total,
            "black": total - color,
            "color": color,
            "print": printed,
            "copy": copy,
            "fax": round(total * 0.02) if "fax" in self.functions else 0,
            "print_black": printed - print_color,
            "print_color": print_color,
            "copy_black": copy - copy_color,
            "copy_color": copy_color,
            "scan": round(total * 0.22) if "scan" in self.functions else 0,
            "duplex": round(total * 0.33) if "duplex" in self.functions else 0,
        }


def _get(data: dict[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    value = data.get(key, default)
    if value is None or (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise ValueError(f"{where}: '{key}' must be {kind.__name__}, not {value!r}")
    return value


def _text(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = _get(data, key, str, where, default)
    if not value.strip() or value != value.strip() or "|" in value or not value.isprintable():
        raise ValueError(f"{where}: '{key}' must be printable text without '|' or outer spaces")
    return str(value)


def _supply(raw: dict[str, Any], where: str) -> Supply:
    kind = _text(raw, "type", where)
    if kind not in _TYPE_CODES:
        raise ValueError(f"{where}: 'type' {kind!r} is not a PrtMarkerSuppliesTypeTC name")
    unit = _text(raw, "unit", where, "percent")
    if unit not in _UNIT_CODES:
        raise ValueError(f"{where}: 'unit' {unit!r} is not a PrtMarkerSuppliesSupplyUnitTC name")
    max_capacity = _get(raw, "max", int, where, 100)
    level = _get(raw, "level", int, where)
    if max_capacity == 0 or max_capacity < -2 or level < -3 or (max_capacity > 0 and level > max_capacity):
        raise ValueError(f"{where}: level {level} and max {max_capacity} are not a Printer-MIB pair")
    color = raw.get("color")
    if color is not None and not isinstance(color, str):
        raise ValueError(f"{where}: 'color' must be a colorant name")
    return Supply(kind, _text(raw, "description", where), unit, max_capacity, level, color)


def _tray(raw: dict[str, Any], where: str) -> Tray:
    kind = _text(raw, "type", where, "tray")
    if kind not in TRAY_TYPES:
        raise ValueError(f"{where}: 'type' {kind!r} is not one of {sorted(TRAY_TYPES)}")
    unit = _text(raw, "unit", where, "sheets")
    if unit not in _CAPACITY_UNITS:
        raise ValueError(f"{where}: 'unit' {unit!r} is not a PrtCapacityUnitTC name")
    max_capacity = _get(raw, "max", int, where)
    level = _get(raw, "level", int, where)
    if max_capacity == 0 or level < -3 or (max_capacity > 0 and level > max_capacity):
        raise ValueError(f"{where}: level {level} and max {max_capacity} are not a Printer-MIB pair")
    return Tray(_text(raw, "name", where), _text(raw, "media", where), max_capacity, level, kind, unit)


def _matching(raw: dict[str, Any], key: str, pattern: re.Pattern[str], must: str, where: str) -> str:
    """The text at ``key``. Error handling: ``ValueError`` ending in ``must`` unless it matches."""
    value = _text(raw, key, where)
    if not pattern.match(value):
        raise ValueError(f"{where}: {key!r} {value!r} {must}")
    return value


def _one_of(raw: dict[str, Any], key: str, allowed: Collection[str], where: str) -> str:
    """The text at ``key``. Error handling: ``ValueError`` listing ``allowed`` unless it is one."""
    value = _text(raw, key, where)
    if value not in allowed:
        raise ValueError(f"{where}: {key!r} {value!r} is not one of {sorted(allowed)}")
    return value


def _parts(
    raw: dict[str, Any], colors: tuple[str, ...], where: str
) -> tuple[tuple[Supply, ...], tuple[Tray, ...]]:
    """A model's supplies and trays. Error handling: ``ValueError`` without at least one of each,
    or for a supply whose colour is not one of the model's ``colors``."""
    raw_supplies, raw_trays = _get(raw, "supplies", list, where), _get(raw, "trays", list, where)
    supplies = tuple(_supply(s, f"{where}: supplies[{i}]") for i, s in enumerate(raw_supplies))
    trays = tuple(_tray(t, f"{where}: trays[{i}]") for i, t in enumerate(raw_trays))
    if not supplies or not trays:
        raise ValueError(f"{where}: a model needs at least one supply and one tray")
    for s in supplies:
        if s.color is not None and s.color not in colors:
            raise ValueError(f"{where}: supply {s.description!r} has colour {s.color!r} not in 'colors'")
    return supplies, trays


def _model(raw: dict[str, Any], vendor: dict[str, Any], path: str, index: int) -> Model:
    where = f"{path}: model[{index}]"
    ident = _matching(raw, "id", _ID, "must be lower-case letters, digits and _", where)
    where = f"{path}: {ident}"
    merged = {**{k: v for k, v in vendor.items() if k != "model"}, **raw}
    kind = _one_of(raw, "kind", KINDS, where)
    tech = _one_of(merged, "tech", MARK_TECH, where)
    functions = frozenset(_get(raw, "functions", list, where, []))
    if not functions <= FUNCTIONS:
        raise ValueError(f"{where}: 'functions' {sorted(functions)} are not all of {sorted(FUNCTIONS)}")
    versions = tuple(_get(merged, "versions", list, where, ["1", "2c"]))
    if not versions or not set(versions) <= VERSIONS:
        raise ValueError(f"{where}: 'versions' must be a non-empty list of '1' and '2c'")
    object_id = _matching(merged, "object_id", _OID, "is not an enterprise OID", where)
    oui = _matching(merged, "oui", _OUI, "must look like 00:26:73", where)
    pages = _get(raw, "pages", int, where)
    if not 100 <= pages < 2**31:
        raise ValueError(f"{where}: 'pages' must be from 100 to 2^31-1 (a Counter32)")
    colors = tuple(_get(raw, "colors", list, where, ["black"]))
    supplies, trays = _parts(raw, colors, where)
    share = _get(raw, "color_share", float, where, 0.35 if len(colors) > 1 else 0.0)
    return Model(
        id=ident,
        vendor=_text(vendor, "vendor", path),
        brand=_text(vendor, "brand", path),
        model=_text(raw, "model", where),
        kind=kind,
        tech=tech,
        sys_descr=_text(raw, "sys_descr", where),
        object_id=object_id,
        oui=oui,
        sys_name=_text(merged, "sys_name", where),
        serial=_text(raw, "serial", where),
        pages=pages,
        functions=functions,
        colors=colors,
        supplies=supplies,
        trays=trays,
        versions=versions,
        pwg=_get(merged, "pwg", bool, where, False),
        speed_ppm=_get(raw, "speed_ppm", int, where, 30),
        color_share=share,
        source=_text(merged, "source", where),
        path=path,
        counter_rows=tuple(
            _counter_row(r, _text(vendor, "vendor", path), f"{path}: counter_row[{i}]")
            for i, r in enumerate(_get(vendor, "counter_row", list, path, []))
        ),
    )


def parse_models(text: str, path: str) -> list[Model]:
    """One vendor file → its models; ``ValueError`` naming the file, the model and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: {err}") from None
    vendor = _text(data, "vendor", path)
    if vendor not in load_maps() or vendor == "pwg":
        raise ValueError(f"{path}: 'vendor' {vendor!r} has no meter map in printwatch/mib/meters/")
    raw_models = _get(data, "model", list, path)
    return [_model(raw, data, path, i) for i, raw in enumerate(raw_models)]


def _round_robin(by_vendor: list[list[Model]]) -> list[Model]:
    """One model of each vendor in turn, so that any few printers of a fleet differ in make."""
    out: list[Model] = []
    for k in range(max((len(v) for v in by_vendor), default=0)):
        out.extend(v[k] for v in by_vendor if k < len(v))
    return out


@functools.cache
def load_models() -> tuple[Model, ...]:
    """Every built-in model, one vendor after another in turn (vendor files in name order)."""
    by_vendor: list[list[Model]] = []
    seen: dict[str, str] = {}
    folder = resources.files("printwatch.catalogue").joinpath("models")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        path = f"catalogue/models/{entry.name}"
        models = parse_models(entry.read_text(encoding="utf-8"), path)
        for m in models:
            if m.id in seen:
                raise ValueError(f"{path}: model id {m.id!r} is already in {seen[m.id]}")
            seen[m.id] = path
        by_vendor.append(models)
    return tuple(_round_robin(by_vendor))


def select(names: list[str] | None = None) -> list[Model]:
    """The models named (an id, a vendor, or a kind; in the order given), else all of them.

    Error handling: ``ValueError`` naming a word that matches no model.
    """
    models = load_models()
    if not names:
        return list(models)
    chosen: dict[str, Model] = {}
    for name in names:
        found = [m for m in models if name in (m.id, m.vendor, m.kind)]
        if not found:
            raise ValueError(f"no built-in model, vendor or kind {name!r} (see printwatch simulate --list)")
        chosen.update((m.id, m) for m in found)
    return list(chosen.values())
