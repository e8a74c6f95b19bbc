"""The vendor maps: one TOML data file per vendor in ``printwatch/mib/meters/`` (see its
README), loaded and checked once.

Error handling: a malformed data file raises ``ValueError`` naming the file and the key (the
package's own files are checked by the tests, so this is for people adding a vendor).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from printwatch._core import VarBind
from printwatch.mib.meternames import METER_NAMES

DECODERS = frozenset({"number", "brother_counter"})
IDENTITY_DECODERS = frozenset({"text", "hp_pml", "ieee1284_mdl"})
_OID = re.compile(r"^1\.3\.6\.1\.[0-9]+(\.[0-9]+)+$")


@dataclass(frozen=True)
class MeterRule:
    """One billing meter read from one OID."""

    name: str
    oid: str
    mib: str
    source: str
    rule: str
    decode: str = "number"
    code: int | None = None


@dataclass(frozen=True)
class IdentityRule:
    """A model or serial number read from a vendor OID."""

    field: str
    oid: str
    source: str
    decode: str = "text"


@dataclass(frozen=True)
class Guard:
    """A value an OID must have before a map's meters are believed."""

    oid: str
    equals: int
    source: str


@dataclass(frozen=True)
class CounterTable:
    """A vendor table of counters walked whole: a column (or subtree) of counts, each row named
    by what the device says of it where it says something — a column of names (Sharp, Ricoh: the
    same OID is another counter on another model) or of type codes (Lexmark) at the same index —
    else by the vendor's fixed meaning of its index (``labels``, from the source), else
    ``<prefix>.<index>``."""

    values: str
    names: str | None
    mib: str
    source: str
    rule: str
    types: str | None = None
    type_names: tuple[tuple[int, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    prefix: str = ""
    #: The table's entry, walked once for all its columns (instead of one walk per column).
    entry: str | None = None

    def columns(self) -> list[str]:
        """What is walked: the entry, else the counts, then the names or type codes."""
        if self.entry is not None:
            return [self.entry]
        return [c for c in (self.values, self.names, self.types) if c is not None]

    def column(self, root: str | None, walks: Mapping[str, Sequence[VarBind]]) -> list[VarBind]:
        """The walked rows of one of its columns (from the entry's walk when it has one)."""
        if root is None:
            return []
        if self.entry is None:
            return list(walks.get(root, ()))
        return [vb for vb in walks.get(self.entry, ()) if vb.oid.startswith(root + ".")]


@dataclass(frozen=True)
class VendorMap:
    vendor: str
    title: str
    enterprises: tuple[int, ...]
    sysdescr: tuple[re.Pattern[str], ...]
    meters: tuple[MeterRule, ...]
    identity: tuple[IdentityRule, ...]
    guard: Guard | None
    path: str
    counter_tables: tuple[CounterTable, ...] = ()
    #: How prtMarkerLifeCount gives the device's total: the first marker counting pages
    #: ("first"), or the sum over every marker counting pages ("sum", where the vendor documents
    #: that each marker counts only its own pages).
    life_count: str = "first"

    def walks(self) -> list[str]:
        """Every column this map walks (its counter tables), once each, in file order."""
        return list(dict.fromkeys(oid for t in self.counter_tables for oid in t.columns()))

    def walked(self, oid: str) -> bool:
        """Whether ``oid`` is in a counter table this map walks (so it is not asked by a GET)."""
        return any(oid.startswith(t.values + ".") for t in self.counter_tables)

    def oids(self) -> list[str]:
        """Every OID this map GETs, once each, in file order: its meters (but those in a counter
        table it walks: read from the walk), model, serial and guard."""
        seen: dict[str, None] = {}
        meters = [m.oid for m in self.meters if not self.walked(m.oid)]
        for oid in [*meters, *(i.oid for i in self.identity)]:
            seen[oid] = None
        if self.guard is not None:
            seen[self.guard.oid] = None
        return list(seen)


def _str(data: dict[str, object], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: '{key}' must be a non-empty string")
    return value


def _oid(data: dict[str, object], where: str) -> str:
    oid = _str(data, "oid", where)
    if not _OID.match(oid):
        raise ValueError(f"{where}: 'oid' {oid!r} is not a numeric OID under 1.3.6.1")
    return oid


def _column(data: dict[str, object], key: str, where: str) -> str:
    oid = _str(data, key, where)
    if not _OID.match(oid):
        raise ValueError(f"{where}: {key!r} {oid!r} is not a numeric OID under 1.3.6.1")
    return oid


def _names(raw: object, key: str, where: str) -> tuple[tuple[str, str], ...]:
    """A table of ``{"index or code": "name"}`` (both non-empty strings)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and re.fullmatch(r"[0-9]+(\.[0-9]+)*", k) and isinstance(v, str) and v.strip()
        for k, v in raw.items()
    ):
        raise ValueError(f"{where}: {key!r} must map numeric indexes to non-empty names")
    return tuple(sorted(raw.items()))


def _counter_table(raw: dict[str, object], where: str, vendor: str) -> CounterTable:
    values = _column(raw, "values", where)
    names = _column(raw, "names", where) if "names" in raw else None
    types = _column(raw, "types", where) if "types" in raw else None
    if len({values, names, types} - {None}) != 1 + (names is not None) + (types is not None):
        raise ValueError(f"{where}: 'values', 'names' and 'types' must be different columns")
    if names is not None and types is not None:
        raise ValueError(f"{where}: a row is named by 'names' or by 'types', not both")
    type_names = _names(raw.get("type_names"), "type_names", where)
    if (types is None) != (not type_names):
        raise ValueError(f"{where}: 'types' and 'type_names' go together")
    entry = _column(raw, "entry", where) if "entry" in raw else None
    if entry is not None and not all(c.startswith(entry + ".") for c in (values, names, types) if c):
        raise ValueError(f"{where}: 'entry' {entry!r} must hold every column of the table")
    prefix = raw.get("prefix", "")
    if names is None and (not isinstance(prefix, str) or not prefix.strip()):
        raise ValueError(f"{where}: 'prefix' (the name of rows nobody names) is needed without 'names'")
    return CounterTable(
        values,
        names,
        _str(raw, "mib", where),
        _str(raw, "source", where),
        f"{vendor}.counter_table",
        types,
        tuple((int(k), v) for k, v in type_names),
        _names(raw.get("labels"), "labels", where),
        str(prefix),
        entry,
    )


def _meter_rule(raw: dict[str, object], where: str, vendor: str) -> MeterRule:
    name = _str(raw, "name", where)
    if name not in METER_NAMES:
        raise ValueError(f"{where}: 'name' {name!r} is not one of {sorted(METER_NAMES)}")
    decode = raw.get("decode", "number")
    if decode not in DECODERS:
        raise ValueError(f"{where}: 'decode' {decode!r} is not one of {sorted(DECODERS)}")
    code = raw.get("code")
    if decode == "brother_counter" and not isinstance(code, int):
        raise ValueError(f"{where}: 'code' (an integer) is needed with decode = 'brother_counter'")
    return MeterRule(
        name=name,
        oid=_oid(raw, where),
        mib=_str(raw, "mib", where),
        source=_str(raw, "source", where),
        rule=f"{vendor}.{name}",
        decode=str(decode),
        code=code if isinstance(code, int) else None,
    )


def _identity_rule(raw: dict[str, object], where: str) -> IdentityRule:
    field = _str(raw, "field", where)
    if field not in ("model", "serial"):
        raise ValueError(f"{where}: 'field' must be 'model' or 'serial'")
    decode = raw.get("decode", "text")
    if decode not in IDENTITY_DECODERS:
        raise ValueError(f"{where}: 'decode' {decode!r} is not one of {sorted(IDENTITY_DECODERS)}")
    return IdentityRule(field, _oid(raw, where), _str(raw, "source", where), str(decode))


def _guard(raw: object, path: str) -> Guard:
    if not isinstance(raw, dict) or not isinstance(raw.get("equals"), int):
        raise ValueError(f"{path}: 'guard' needs 'oid', an integer 'equals' and 'source'")
    return Guard(_oid(raw, f"{path}: guard"), raw["equals"], _str(raw, "source", f"{path}: guard"))


def parse_map(text: str, path: str) -> VendorMap:
    """One data file → a :class:`VendorMap`; ``ValueError`` naming the file and key if bad."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: {err}") from None
    vendor = _str(data, "vendor", path)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", vendor):
        raise ValueError(f"{path}: 'vendor' {vendor!r} must be lower-case letters, digits and _")
    title = _str(data, "title", path)
    enterprises = data.get("enterprises", [])
    if not isinstance(enterprises, list) or not all(isinstance(e, int) and e > 0 for e in enterprises):
        raise ValueError(f"{path}: 'enterprises' must be a list of positive integers")
    brands = data.get("sysdescr", [])
    if not isinstance(brands, list) or not all(isinstance(b, str) and b for b in brands):
        raise ValueError(f"{path}: 'sysdescr' must be a list of non-empty strings")
    try:
        patterns = tuple(re.compile(rf"(?<![A-Za-z0-9]){b}(?![A-Za-z0-9])", re.IGNORECASE) for b in brands)
    except re.error as err:
        raise ValueError(f"{path}: 'sysdescr' has a bad pattern: {err}") from None
    meters = [_meter_rule(raw, f"{path}: meter[{i}]", vendor) for i, raw in enumerate(data.get("meter", []))]
    identity = [
        _identity_rule(raw, f"{path}: identity[{i}]") for i, raw in enumerate(data.get("identity", []))
    ]
    tables = [
        _counter_table(raw, f"{path}: counter_table[{i}]", vendor)
        for i, raw in enumerate(data.get("counter_table", []))
    ]
    life_count = data.get("life_count", "first")
    if life_count not in ("first", "sum"):
        raise ValueError(f"{path}: 'life_count' {life_count!r} must be 'first' or 'sum'")
    guard = _guard(data["guard"], path) if "guard" in data else None
    return VendorMap(
        vendor,
        title,
        tuple(enterprises),
        patterns,
        tuple(meters),
        tuple(identity),
        guard,
        path,
        tuple(tables),
        life_count,
    )


@functools.cache
def load_maps() -> dict[str, VendorMap]:
    """Every vendor map shipped with printwatch, by vendor (``pwg`` is the fallback)."""
    maps: dict[str, VendorMap] = {}
    for entry in sorted(resources.files("printwatch.mib").joinpath("meters").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        vmap = parse_map(entry.read_text(encoding="utf-8"), f"meters/{entry.name}")
        if vmap.vendor in maps:
            raise ValueError(f"meters/{entry.name}: vendor {vmap.vendor!r} is defined twice")
        maps[vmap.vendor] = vmap
    return maps
