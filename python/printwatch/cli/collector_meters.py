"""``printwatch collector meters`` and ``collector export``: the ERP's meter names and the
billing export that uses them (see :mod:`printwatch.collector.meternames`).

```sh
printwatch collector meters set "Full Color Print Count" CLR-PRINT --vendor sharp
printwatch collector meters set black BW-A4 --site branch-7          # this contract's name
printwatch collector meters list [--site S] [--json]
printwatch collector meters remove black --site branch-7
printwatch collector export --cycle 2026-12-01 [--site S] [--format csv|json] [--unmapped] [-o FILE]
```

Exit status 0, 1 when the store cannot be used or a mapping to remove does not exist, 2 for a
bad name or cycle.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from printwatch.clock import naive_utcnow
from printwatch.collector.meternames import (
    Mapping,
    MeterNameError,
    billing_export,
    export_csv,
    list_names,
    mapping_dict,
    remove_name,
    set_name,
)
from printwatch.collector.storage import exists as store_exists
from printwatch.collector.storage import location as store_location
from printwatch.collector.store import CollectorStore, CollectorStoreError


def add_meter_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser], store: Path) -> None:
    """The ``meters`` and ``export`` actions of ``printwatch collector``."""
    meters = actions.add_parser(
        "meters",
        help="the ERP's names of meters: `meters set METER ERP_NAME [--site S] [--vendor V] [--model M]`",
        description="Map a device's counter name (as the printer names it) or a normalised meter "
        "(total, black, color...) to the ERP's meter name, per site (contract) with defaults per "
        "vendor or model; the most specific mapping wins (site, then model, then vendor).",
    )
    verbs = meters.add_subparsers(dest="meters_action", metavar="VERB", required=True)
    for verb in ("set", "remove", "list"):
        sub = verbs.add_parser(verb)
        if verb != "list":
            sub.add_argument("meter", help="the device's counter name, or a normalised meter")
        if verb == "set":
            sub.add_argument("erp_name", help="the ERP's name of that meter")
        sub.add_argument("--site", default="", help="the site (contract); default: every site")
        if verb != "list":
            sub.add_argument("--vendor", default="", help="only devices of this vendor (e.g. sharp)")
            sub.add_argument("--model", default="", help="only devices of this model (as registered)")
        sub.add_argument("--json", action="store_true", help="one JSON object per line")
        sub.add_argument("--store", type=store_location, default=store)
    meters.set_defaults(handler=run_meters)
    export = actions.add_parser(
        "export",
        help="a cycle's billing reads under the ERP's meter names (CSV or JSON)",
        description="CSV columns: site, serial, model, meter (the ERP name), value, read_at (UTC), "
        "cycle. --unmapped lists meters without an ERP name too, under the device's own name.",
    )
    export.add_argument("--cycle", required=True, help="the cycle's label, YYYY-MM-DD")
    export.add_argument("--site", default=None)
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--unmapped", action="store_true", help="also meters with no ERP name")
    export.add_argument("-o", "--output", type=Path, default=None, help="a file (default: stdout)")
    export.add_argument("--store", type=store_location, default=store)
    export.set_defaults(handler=run_export)


def _store(path: str | Path, *, read_only: bool) -> CollectorStore:
    if not store_exists(path):
        raise CollectorStoreError(f"no collector store at {path}")
    return CollectorStore(path, read_only=read_only)


def run_meters(args: argparse.Namespace) -> int:
    try:
        with _store(args.store, read_only=args.meters_action == "list") as store:
            if args.meters_action == "list":
                for m in list_names(store.con, args.site or None):
                    print(json.dumps(mapping_dict(m)) if args.json else _line(m))
                return 0
            if args.meters_action == "remove":
                if remove_name(store.con, args.site, args.vendor, args.model, args.meter):
                    return 0
                print(f"printwatch collector meters remove: no mapping of {args.meter!r}", file=sys.stderr)
                return 1
            with store.transaction() as con:
                m = set_name(
                    con,
                    Mapping(args.site, args.vendor, args.model, args.meter, args.erp_name),
                    now=naive_utcnow(),
                )
            print(json.dumps(mapping_dict(m)) if args.json else _line(m))
            return 0
    except MeterNameError as err:
        print(f"printwatch collector meters: {err}", file=sys.stderr)
        return 2
    except CollectorStoreError as err:
        print(f"printwatch collector meters: {err}", file=sys.stderr)
        return 1


def _line(m: Mapping) -> str:
    scope = " ".join(f"{k}={v}" for k, v in (("site", m.site), ("vendor", m.vendor), ("model", m.model)) if v)
    return f"{m.meter!r} -> {m.erp_name!r}" + (f"  ({scope})" if scope else "  (default)")


def run_export(args: argparse.Namespace) -> int:
    try:
        cycle = dt.date.fromisoformat(args.cycle).isoformat()
    except ValueError:
        print(f"printwatch collector export: --cycle {args.cycle!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    try:
        with _store(args.store, read_only=True) as store:
            rows = billing_export(store.con, cycle, args.site, unmapped=args.unmapped)
    except CollectorStoreError as err:
        print(f"printwatch collector export: {err}", file=sys.stderr)
        return 1
    text = export_csv(rows) if args.format == "csv" else json.dumps(rows, indent=1) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
