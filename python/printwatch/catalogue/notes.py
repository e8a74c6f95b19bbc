"""A built-in model's notes for the simulator: what its counters count, how its supplies drain
and which SNMP versions it answers, written beside its ``.snmprec`` as ``<id>.meta`` (the format
is the Rust simulator's, ``rust/src/sim/notes.rs``; docs/simulator.md explains it).

With them, the simulator's dynamics move every counter of the model together (new pages split
into copies and prints, colour and black, by the model's shares as :meth:`Model.counters` splits
its recorded pages), drain each colour toner with the colour pages and everything else with all
pages, and answer only the versions the model's firmware speaks. snmpsim reads ``.snmprec``
files only and ignores the notes.
"""

from __future__ import annotations

from printwatch.catalogue.models import Model, Supply
from printwatch.mib.vendors import load_maps

#: prtMarkerLifeCount of marker 1 (Printer-MIB), the model's total.
LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4.1.1"
#: Marking supplies drained by the colour pages when their colour is not black.
_MARKING = frozenset({"toner", "tonerCartridge", "ink", "inkCartridge", "inkRibbon", "ribbonWax"})


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole > 0 else 0.0


def shares(model: Model) -> dict[str, float]:
    """How the model's pages split (each share of its parent in the split's tree): copies of all
    pages, colour copies of the copies, colour prints of the prints, faxes of the black prints,
    scans and duplex sheets of all pages; read off :meth:`Model.counters`."""
    c = model.counters()
    found = {
        "copy": _share(c["copy"], c["total"]),
        "copy_color": _share(c["copy_color"], c["copy"]),
        "print_color": _share(c["print_color"], c["print"]),
        "fax": _share(c["fax"], c["print_black"]),
        "scan": _share(c["scan"], c["total"]),
        "duplex": _share(c["duplex"], c["total"]),
    }
    if "large" in c:
        found["large"] = _share(c["large"], c["total"])
    return found


def meters(model: Model) -> list[tuple[str, str, int | None]]:
    """(OID, meter, Brother record code) of every counter the model answers: its life count, each
    meter OID of its vendor's map, its counter-table rows and the PWG counters it has."""
    maps = load_maps()
    found: list[tuple[str, str, int | None]] = [(LIFE_COUNT, "total", None)]
    seen: set[str] = set()
    for rule in maps[model.vendor].meters:
        if rule.decode == "brother_counter":
            found.append((rule.oid, rule.name, rule.code or 0))
        elif rule.oid not in seen:
            found.append((rule.oid, rule.name, None))
        seen.add(rule.oid)
    found += [(row.oid, row.meter, None) for row in model.counter_rows if row.oid not in seen]
    if model.pwg:
        found += [(rule.oid, rule.name, None) for rule in maps["pwg"].meters]
    return found


def yield_pages(model: Model, s: Supply) -> tuple[float, bool]:
    """Pages a full supply lasts and whether exactly (counted in impressions) or at 5% coverage:
    the catalogue's estimates from the model's speed (faster printers take larger cartridges)."""
    if s.unit == "impressions":
        return float(s.max_capacity), True
    toner = max(1500.0, model.speed_ppm * 250.0)
    if s.type in ("ink", "inkCartridge"):
        return max(400.0, model.speed_ppm * 60.0), False
    if s.type in _MARKING:
        return toner * (0.8 if s.color not in (None, "black") else 1.0), False
    if s.receptacle:
        return toner * 5, False
    return toner * (4 if s.type == "opc" else 10), False


def supplies(model: Model) -> list[tuple[int, str, float, bool]]:
    """(index, feed, pages, exact) of every supply whose level moves (a known level of a known
    capacity; -3 "some remaining" and the other special values never do)."""
    found = []
    for i, s in enumerate(model.supplies, 1):
        if s.level < 0 or s.max_capacity <= 0:
            continue
        colour = s.type in _MARKING and s.color not in (None, "black")
        pages, exact = yield_pages(model, s)
        found.append((i, "color" if colour else "pages", pages, exact))
    return found


def notes(model: Model) -> str:
    """The model's ``.meta`` text."""
    lines = [f"# printwatch notes on {model.id}.snmprec (printwatch.catalogue.notes)"]
    lines.append("versions|" + "|".join(model.versions))
    lines += [f"share|{name}|{value}" for name, value in shares(model).items()]
    for oid, meter, code in meters(model):
        lines.append(f"meter|{oid}|{meter}" + (f"|{code}" if code is not None else ""))
    for index, feed, pages, exact in supplies(model):
        lines.append(f"supply|{index}|{feed}|{pages:g}|{'exact' if exact else 'coverage'}")
    return "\n".join(lines) + "\n"
