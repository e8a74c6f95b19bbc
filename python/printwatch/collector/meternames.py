"""The MSP's ERP names of meters, and the billing export that uses them.

An MSP's ERP knows its own meter names ("BW-A4", "CLR-PRINT"...). ``meter_names`` maps a
*meter* — a device's counter name as the printer gives it (``Full Color Print Count``,
``printMono``) or a normalised meter of printwatch (``black``, ``total``) — to the ERP's name,
per contract (a site) with defaults per vendor or model: each key is ``(site, vendor, model)``
where ``''`` means any, and the most specific row wins (site first, then model, then vendor).

The billing export lists, for a cycle, every billing read's meters and counters that have an
ERP name: ``site, serial, model, meter, value, read_at, cycle`` (``meter``: the ERP name;
``read_at``: the read's time, ISO 8601 UTC). With ``unmapped`` the others are listed too, under
the device's own name, with ``mapped`` false, so that a missing mapping is seen, not lost.

Error handling: :class:`MeterNameError` for a name that is empty or too long.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass
from typing import Any

from printwatch import PrintwatchError
from printwatch.collector.storage import Connection

EXPORT_COLUMNS = ("site", "serial", "model", "meter", "value", "read_at", "cycle")
MAX_NAME = 128


class MeterNameError(PrintwatchError):
    """A mapping the collector does not keep; the message says why."""


@dataclass(frozen=True)
class Mapping:
    site: str
    vendor: str
    model: str
    meter: str
    erp_name: str


def _name(value: str, what: str) -> str:
    text = value.strip()
    if not 0 < len(text) <= MAX_NAME:
        raise MeterNameError(f"{what} must be 1 to {MAX_NAME} characters, not {value[:40]!r}")
    return text


def set_name(con: Connection, mapping: Mapping, *, now: dt.datetime) -> Mapping:
    """Keeps (or replaces) one mapping; ``''`` in site, vendor or model means any."""
    m = Mapping(
        mapping.site.strip(), mapping.vendor.strip(), mapping.model.strip(),
        _name(mapping.meter, "the meter"), _name(mapping.erp_name, "the ERP name"),
    )  # fmt: skip
    con.execute(
        "INSERT INTO meter_names VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, vendor, model, meter) "
        "DO UPDATE SET erp_name = excluded.erp_name, updated_at = excluded.updated_at",
        [m.site, m.vendor, m.model, m.meter, m.erp_name, now],
    )
    return m


def remove_name(con: Connection, site: str, vendor: str, model: str, meter: str) -> bool:
    """Removes one mapping; whether there was one."""
    key = [site.strip(), vendor.strip(), model.strip(), meter.strip()]
    found = con.execute(
        "SELECT count(*) FROM meter_names WHERE site_id = ? AND vendor = ? AND model = ? AND meter = ?", key
    ).fetchall()
    con.execute("DELETE FROM meter_names WHERE site_id = ? AND vendor = ? AND model = ? AND meter = ?", key)
    return bool(found[0][0])


def list_names(con: Connection, site: str | None = None) -> list[Mapping]:
    """Every mapping (of ``site`` and the defaults, when given), most general first."""
    rows = con.execute(
        "SELECT site_id, vendor, model, meter, erp_name FROM meter_names "
        "WHERE ? IS NULL OR site_id IN ('', ?) ORDER BY site_id, model, vendor, meter",
        [site, site],
    ).fetchall()
    return [Mapping(*(str(v) for v in r)) for r in rows]


def resolver(mappings: list[Mapping]) -> Any:
    """A function ``(site, vendor, model, meter) -> ERP name or None``: the most specific of
    ``mappings`` (site, then model, then vendor; ``''`` matches any)."""
    by_meter: dict[str, list[Mapping]] = {}
    for m in mappings:
        by_meter.setdefault(m.meter, []).append(m)

    def erp(site: str, vendor: str | None, model: str | None, meter: str) -> str | None:
        best: tuple[int, str] | None = None
        for m in by_meter.get(meter, ()):
            if m.site not in ("", site) or m.vendor not in ("", vendor) or m.model not in ("", model):
                continue
            rank = 4 * (m.site != "") + 2 * (m.model != "") + (m.vendor != "")
            if best is None or rank > best[0]:
                best = (rank, m.erp_name)
        return None if best is None else best[1]

    return erp


_READS = """
SELECT r.site_id, d.serial, d.vendor, d.model, r.meter, r.value, r.time, r.cycle, 'meter' AS kind
FROM meter_reads r JOIN devices d USING (site_id, n)
WHERE r.source = 'billing' AND r.cycle = ? AND (? IS NULL OR r.site_id = ?)
UNION ALL
SELECT c.site_id, d.serial, d.vendor, d.model, c.name, c.value, c.time, c.cycle, 'counter'
FROM counter_reads c JOIN devices d USING (site_id, n)
WHERE c.cycle = ? AND (? IS NULL OR c.site_id = ?)
ORDER BY 1, 2, 9 DESC, 5
"""


def billing_export(
    con: Connection, cycle: str, site: str | None = None, *, unmapped: bool = False
) -> list[dict[str, Any]]:
    """The cycle's billing reads under the ERP's names (see the module's docstring): one row per
    device and ERP name (a device counter's mapping wins over a normalised meter's for the same
    ERP name: the device's own count is what is billed)."""
    erp = resolver(list_names(con, site))
    rows = con.execute(_READS, [cycle, site, site, cycle, site, site]).fetchall()
    out: dict[tuple[str, str, str, bool], dict[str, Any]] = {}
    for site_id, serial, vendor, model, meter, value, time, label, kind in rows:
        name = erp(site_id, vendor, model, meter)
        if name is None and not unmapped:
            continue
        row = {
            "site": site_id, "serial": serial or "", "model": model or "", "meter": name or meter,
            "value": int(value), "read_at": time.isoformat() + "Z", "cycle": label,
            "device_meter": meter, "source": kind, "mapped": name is not None,
        }  # fmt: skip
        key = (site_id, serial or "", row["meter"], name is not None)
        if key not in out or kind == "counter":
            out[key] = row
    return list(out.values())


def export_csv(rows: list[dict[str, Any]]) -> str:
    """The export as CSV: a header of :data:`EXPORT_COLUMNS`, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows([[r[c] for c in EXPORT_COLUMNS] for r in rows])
    return buffer.getvalue()


def mapping_dict(m: Mapping) -> dict[str, str]:
    return asdict(m)
