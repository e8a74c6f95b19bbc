"""``printwatch collector``: the MSP's collector server, its sites and its read-only view."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import signal
import sys
from pathlib import Path

import duckdb
import psycopg
import trio

from printwatch.cli import collector_admin as remote
from printwatch.cli.collector_meters import add_meter_actions
from printwatch.cli.options import Subparsers
from printwatch.clock import naive_utcnow, utcnow
from printwatch.collector import views
from printwatch.collector.roles import ROLES
from printwatch.collector.server import create_app, refresh_supplies, renew_daily, serve_collector
from printwatch.collector.storage import display
from printwatch.collector.storage import exists as store_exists
from printwatch.collector.storage import location as store_location
from printwatch.collector.store import CollectorStore, CollectorStoreError
from printwatch.collector.tokens import DEFAULT_EXPIRES_DAYS, MAX_EXPIRES_DAYS, SCOPES
from printwatch.config.model import SmtpConfig
from printwatch.uplink.transport import pin_of_pem

DEFAULT_STORE = Path("collector.duckdb")


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    collector = commands.add_parser(
        name,
        help=summary,
        description="`collector serve --cert C --key K` receives the appliances' signed uploads over "
        "HTTPS; `collector site add SITE` creates a site and prints its one-time enrolment token; "
        "`collector sites|devices|reads|reorders|missing` print the view (--json: one object per "
        "line); `collector pin CERT` prints the pin appliances configure.",
    )
    remote.add_remote_options(collector)
    actions = collector.add_subparsers(dest="action", metavar="ACTION", required=True)
    store_help = (
        "the collector's store: a DuckDB file (default ./collector.duckdb) or a PostgreSQL URL "
        "(postgresql://user@host/db)"
    )
    serve = actions.add_parser("serve", help="serve HTTPS until SIGTERM/SIGINT")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument("--cert", type=Path, required=True, help="the certificate chain (PEM)")
    serve.add_argument("--key", type=Path, required=True, help="its private key (PEM)")
    serve.add_argument("--store", type=store_location, default=DEFAULT_STORE, help=store_help)
    serve.add_argument(
        "--retention-months",
        type=int,
        default=None,
        metavar="M",
        help="PostgreSQL: drop the monthly partitions of reads and messages older than M months "
        "(checked at start and daily; default: keep everything)",
    )
    serve.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    serve.add_argument(
        "--notify-config",
        type=Path,
        default=None,
        metavar="FILE",
        help="a printwatch TOML file with [smtp]: e-mail each site's contact the billing reads that did "
        "not arrive, checked every --notify-every-min minutes (once per device and cycle)",
    )
    serve.add_argument("--notify-every-min", type=float, default=60.0, metavar="M", help="default 60")
    serve.add_argument(
        "--grace-hours", type=float, default=24.0, help="a read is missing this long after its cycle began"
    )
    serve.add_argument(
        "--api-port",
        type=int,
        default=None,
        metavar="P",
        help="serve the read API (/api/...) on its own HTTPS listener on this port (with --api-host, "
        "default 127.0.0.1) instead of beside the uploads",
    )
    serve.add_argument("--api-host", default="127.0.0.1", help="the read API's address (with --api-port)")
    token = actions.add_parser(
        "token", help="`token add NAME` / `token list` / `token revoke ID`: the read API's credentials"
    )
    token.add_argument("token_action", choices=["add", "list", "revoke"])
    token.add_argument("name", nargs="?", metavar="NAME|ID", help="a name to add, an id to revoke")
    token.add_argument(
        "--role", choices=list(ROLES), default="viewer", help="the token's role (default viewer)"
    )
    token.add_argument(
        "--site", action="append", default=[], metavar="SITE", help="a customer token's site (repeatable)"
    )
    token.add_argument(
        "--scope",
        action="append",
        choices=list(SCOPES),
        default=None,
        help="before roles: read is --role viewer",
    )
    token.add_argument(
        "--expires-days",
        type=float,
        default=DEFAULT_EXPIRES_DAYS,
        metavar="DAYS",
        help=f"the token's life (default {DEFAULT_EXPIRES_DAYS:g} days, at most {MAX_EXPIRES_DAYS:g})",
    )
    token.add_argument("--store", type=store_location, default=DEFAULT_STORE, help=store_help)
    site = actions.add_parser("site", help="`site add SITE` / `site token SITE`: a one-time enrolment token")
    site.add_argument("site_action", choices=["add", "token"])
    site.add_argument("site_id", metavar="SITE")
    site.add_argument("--name", default=None)
    site.add_argument("--contact", default=None, help="the site's key contact (e-mail)")
    site.add_argument("--valid-days", type=float, default=14.0, help="the token's life (default 14 days)")
    site.add_argument("--store", type=store_location, default=DEFAULT_STORE, help=store_help)
    for name in views.VIEWS:
        view = actions.add_parser(name, help=f"print {name} (read-only)")
        view.add_argument("--site", default=None)
        view.add_argument("--json", action="store_true", help="one JSON object per line")
        view.add_argument("--store", type=store_location, default=DEFAULT_STORE, help=store_help)
    notify = actions.add_parser(
        "notify", help="e-mail each site's contact the billing reads that did not arrive (once each)"
    )
    notify.add_argument("--config", type=Path, required=True, help="a printwatch TOML file with [smtp]")
    notify.add_argument("--grace-hours", type=float, default=24.0, help="after the cycle began (default 24)")
    notify.add_argument("--store", type=store_location, default=DEFAULT_STORE, help=store_help)
    pin = actions.add_parser("pin", help="the pin (sha256/BASE64 of the public key) of a PEM certificate")
    pin.add_argument("cert", type=Path)
    remote.add_user_action(actions, store_help, DEFAULT_STORE, store_location)
    add_meter_actions(actions, DEFAULT_STORE)  # `meters` (ERP names), `export` (billing, ERP names)
    return collector


def run(args: argparse.Namespace) -> int:
    """Exit status 0, 1 when it fails (the reason on stderr), 2 for bad arguments. Files it
    makes (the store of every tenant, its write-ahead log) are 0600 whatever the umask."""
    umask = os.umask(0o077)
    try:
        return _run_collector(args)
    finally:
        os.umask(umask)


def _run_collector(args: argparse.Namespace) -> int:
    try:
        if getattr(args, "handler", None) is not None:
            return int(args.handler(args))
        if args.action == "pin":
            print(pin_of_pem(args.cert.read_bytes()))
            return 0
        if args.action == "serve":
            return _serve(args)
        if args.action == "notify":
            return _notify(args)
        if args.action == "token":
            return _token(args)
        if args.action == "site":
            params = {"site_id": args.site_id, "valid_days": args.valid_days}
            if args.site_action == "add":
                params |= {"name": args.name, "contact": args.contact}
            token = remote.call(args, f"site.{args.site_action}", params)["token"]
            print(
                f"site {args.site_id}: one-time enrolment token (shown once, valid {args.valid_days:g} days):"
            )
            print(token)
            return 0
        if args.action == "user":
            return remote.user(args)
        return _view(args)
    except (CollectorStoreError, remote.AdminError, OSError, ValueError, duckdb.Error, psycopg.Error) as err:
        print(f"printwatch collector {args.action}: {err}", file=sys.stderr)
        return 2 if isinstance(err, ValueError) else 1


def _token(args: argparse.Namespace) -> int:
    if args.token_action != "list" and not args.name:
        raise ValueError(
            f"token {args.token_action} needs a {'name' if args.token_action == 'add' else 'token id'}"
        )
    if args.token_action == "add":
        params = {"name": args.name, "role": args.role, "sites": args.site, "expires_days": args.expires_days}
        made = remote.call(args, "token.add", params)
        print(
            f"API token {args.name!r} ({args.role}; expires {made['expires_at'][:16].replace('T', ' ')} UTC; "
            "shown once; send it as 'Authorization: Bearer ...'):"
        )
        print(made["token"])
    elif args.token_action == "revoke":
        remote.call(args, "token.revoke", {"token_id": args.name})
        print(f"API token {args.name} revoked")
    else:
        for t in remote.call(args, "token.list", {})["tokens"]:
            state = (
                f"revoked {t['revoked_at'][:10]}"
                if t["revoked_at"]
                else "expired"
                if t["expired"]
                else "live"
            )
            used = t["last_used_at"][:16].replace("T", " ") if t["last_used_at"] else "never"
            expires = t["expires_at"][:16].replace("T", " ") if t["expires_at"] else "never"
            scope = f" ({','.join(t['sites'])})" if t["sites"] else ""
            print(
                f"{t['token_id']}  {t['name']}  {t['role']}{scope}  {state}  "
                f"expires {expires}  last used {used}"
            )
    return 0


def _smtp_of(config: Path, command: str) -> SmtpConfig | None:
    """The ``[smtp]`` table of a printwatch TOML file; None (said on stderr) when it has none or
    has problems."""
    from printwatch.config import ConfigError, load_config

    try:
        smtp = load_config(config).smtp
    except ConfigError as err:
        print(f"printwatch collector {command}: the configuration has problems:\n{err}", file=sys.stderr)
        return None
    if smtp is None:
        print(f"printwatch collector {command}: {config} has no [smtp] table", file=sys.stderr)
    return smtp


def _notify(args: argparse.Namespace) -> int:
    from printwatch.collector.notices import notify_missing

    smtp = _smtp_of(args.config, "notify")
    if smtp is None:
        return 2
    with CollectorStore(args.store) as store:
        lines = notify_missing(store, smtp, now=naive_utcnow(), grace=dt.timedelta(hours=args.grace_hours))
    for line in lines:
        print(line)
    return 1 if any(": not sent: " in line for line in lines) else 0


def _view(args: argparse.Namespace) -> int:
    found = remote.view_rows(args, args.action, args.site)
    if found is not None:
        rows = found
    else:
        if not store_exists(args.store):
            raise CollectorStoreError(f"no collector store at {args.store}")
        with remote.open_store(args.store, read_only=True) as store:
            rows = views.view(store.con, args.action, args.site)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print(f"no {args.action}")
        return 0
    columns = list(rows[0])
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for line in cells:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from printwatch.collector.notices import watch_missing

    smtp = None
    if args.notify_config is not None:
        smtp = _smtp_of(args.notify_config, "serve")
        if smtp is None:
            return 2
    store = CollectorStore(args.store, retention_months=args.retention_months)

    async def main() -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with trio.open_nursery() as nursery:
                separate = args.api_port is not None
                one_thread = trio.CapacityLimiter(1)  # the store's, for both listeners
                app = create_app(store, api=not separate, limiter=one_thread)
                host, port = await nursery.start(
                    lambda task_status: serve_collector(
                        app,
                        args.host,
                        args.port,
                        certfile=args.cert,
                        keyfile=args.key,
                        task_status=task_status,
                    )
                )
                print(
                    f"collector: https://{host}:{port} (store {display(args.store)}); stop: Ctrl-C",
                    flush=True,
                )
                if separate:
                    api = create_app(store, uploads=False, limiter=one_thread)
                    api_host, api_port = await nursery.start(
                        lambda task_status: serve_collector(
                            api,
                            args.api_host,
                            args.api_port,
                            certfile=args.cert,
                            keyfile=args.key,
                            task_status=task_status,
                        )
                    )
                    print(
                        f"  read API: https://{api_host}:{api_port}/api/ (a token: collector token add)",
                        flush=True,
                    )
                console_at = f"https://{api_host}:{api_port}" if separate else f"https://{host}:{port}"
                print(f"  console: {console_at}/console/ (a user: collector user add)", flush=True)
                nursery.start_soon(renew_daily, app.state.db, store)
                nursery.start_soon(refresh_supplies, app.state.db, store)
                if smtp is not None:
                    nursery.start_soon(
                        functools.partial(
                            watch_missing,
                            app.state.db,
                            store,
                            smtp,
                            every_s=60.0 * args.notify_every_min,
                            grace=dt.timedelta(hours=args.grace_hours),
                            now=naive_utcnow,
                        )
                    )
                    print(
                        f"  billing reads missing: mailed, checked every {args.notify_every_min:g} min",
                        flush=True,
                    )
                with trio.move_on_after(args.duration if args.duration is not None else float("inf")):
                    async for _ in signals:
                        break
                nursery.cancel_scope.cancel()

    try:
        trio.run(main)
    finally:
        store.close()
    print(f"collector stopped at {utcnow():%H:%M:%S}Z", file=sys.stderr)
    return 0
