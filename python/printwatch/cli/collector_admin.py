"""How ``printwatch collector`` administers a store: on the store itself, or through the running
server's admin API.

``collector serve`` on a DuckDB file holds it open: nothing else may open it, so ``site add``,
``site token``, ``token ...``, ``user ...`` and the read commands (``sites``, ``devices``...)
go through the server instead::

    printwatch collector --server https://collector.example:8443 --api-token-file admin.token \\
        [--ca-file ca.pem] site add branch-7

(the token: ``collector token add NAME --role admin``, made before the server started or
through another admin; its file holds the token alone, readable by its owner). Without
``--server`` they open ``--store`` as before: a PostgreSQL URL is shared by every front end and
command, so no server is needed there.

``collector user add NAME --role ROLE [--site SITE]... | list | remove NAME | passwd NAME``: a
password is read from standard input (one line) or, on a terminal, asked twice; it is never an
argument (a command line is readable by every local user).

Error handling: :class:`AdminError` with the server's own ``error`` text, or what kept it from
answering; a DuckDB file held by a server gets a hint naming ``--server``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from printwatch import PrintwatchError
from printwatch.clock import naive_utcnow
from printwatch.collector import admin
from printwatch.collector.roles import ROLES
from printwatch.collector.store import CollectorStore, CollectorStoreError

TIMEOUT_S = 30.0


class AdminError(PrintwatchError):
    """The server refused an operation, or could not be reached."""


def add_remote_options(parser: argparse.ArgumentParser) -> None:
    """``--server``, ``--api-token-file`` and ``--ca-file`` on ``printwatch collector``."""
    parser.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help="administer through this running collector (https://HOST:PORT) instead of opening "
        "--store: what a DuckDB store needs while `collector serve` holds it",
    )
    parser.add_argument(
        "--api-token-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --server: a file holding an API token (an admin's for site, token and user)",
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        metavar="PEM",
        help="with --server: the CA (or certificate) to trust",
    )


def add_user_action(actions: Any, store_help: str, default_store: Path, store_type: Any) -> None:
    """The ``user`` action of ``printwatch collector``."""
    user = actions.add_parser(
        "user",
        help="`user add NAME --role ROLE [--site S]` / `user list` / `user remove NAME` / "
        "`user passwd NAME`: "
        "the console's users (password from stdin or asked)",
    )
    user.add_argument("user_action", choices=["add", "list", "remove", "passwd"])
    user.add_argument("username", nargs="?", metavar="NAME")
    user.add_argument("--role", choices=list(ROLES), default=None, help="with add")
    user.add_argument(
        "--site", action="append", default=[], metavar="SITE", help="a customer's site (repeatable)"
    )
    user.add_argument("--store", type=store_type, default=default_store, help=store_help)


def read_password(prompt: str = "password") -> str:
    """A password from standard input (its first line) or, on a terminal, asked twice."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        if getpass.getpass(f"{prompt} again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def _token(args: argparse.Namespace) -> str:
    if args.api_token_file is None:
        raise ValueError("--server needs --api-token-file FILE (collector token add NAME --role admin)")
    try:
        token = str(args.api_token_file.read_text(encoding="utf-8")).strip()
    except OSError as err:
        raise ValueError(f"--api-token-file {args.api_token_file}: {err.strerror}") from None
    if not token:
        raise ValueError(f"--api-token-file {args.api_token_file} is empty")
    return token


def request(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """``method path`` on ``--server`` with the API token; the answer's JSON."""
    base = str(args.server).rstrip("/")
    if not base.startswith("https://"):
        raise ValueError(f"--server {base}: an https:// URL")
    context = ssl.create_default_context(cafile=str(args.ca_file) if args.ca_file else None)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {_token(args)}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S, context=context) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as err:
        try:
            reason = json.loads(err.read()).get("error", err.reason)
        except (ValueError, AttributeError):
            reason = err.reason
        raise AdminError(f"{base}: {err.code}: {reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise AdminError(f"{base}: {getattr(err, 'reason', err)}") from None


def call(args: argparse.Namespace, op: str, params: dict[str, Any]) -> dict[str, Any]:
    """Operation ``op`` (:mod:`printwatch.collector.admin`) on ``--server`` or on ``--store``."""
    if args.server:
        result: dict[str, Any] = request(args, "POST", f"/api/admin/{op}", params)
        return result
    with open_store(args.store) as store:
        return admin.run(store, op, params, now=naive_utcnow())


def open_store(location: Any, *, read_only: bool = False) -> CollectorStore:
    """The store, or an error that names ``--server`` when a running server holds its file."""
    try:
        return CollectorStore(location, read_only=read_only)
    except CollectorStoreError as err:
        if "lock" in str(err).lower():
            raise CollectorStoreError(
                f"{err}\n(a running `collector serve` holds this DuckDB file: add --server "
                "https://HOST:PORT --api-token-file FILE to go through it)"
            ) from None
        raise


def view_rows(args: argparse.Namespace, name: str, site: str | None) -> list[dict[str, Any]] | None:
    """A read view's rows through ``--server`` (``GET /api/{name}``), None without ``--server``."""
    if not args.server:
        return None
    query = "?" + urllib.parse.urlencode({"site": site}) if site else ""
    rows: list[dict[str, Any]] = request(args, "GET", f"/api/{name}{query}")
    return rows


def user(args: argparse.Namespace) -> int:
    """``collector user ...``."""
    action, name = args.user_action, args.username
    if action != "list" and not name:
        raise ValueError(f"user {action} needs a user NAME")
    if action == "add":
        if args.role is None:
            raise ValueError(f"user add needs --role (one of {', '.join(ROLES)})")
        params = {"username": name, "role": args.role, "sites": args.site, "password": read_password()}
        call(args, "user.add", params)
        print(f"user {name} added ({args.role}{': ' + ', '.join(args.site) if args.site else ''})")
    elif action == "passwd":
        call(args, "user.passwd", {"username": name, "password": read_password("new password")})
        print(f"password of {name} changed (its sessions ended)")
    elif action == "remove":
        call(args, "user.remove", {"username": name})
        print(f"user {name} removed (its sessions ended)")
    else:
        for u in call(args, "user.list", {})["users"]:
            scope = f" ({','.join(u['sites'])})" if u["sites"] else ""
            print(f"{u['username']}  {u['role']}{scope}  password set {u['password_changed_at'][:16]}")
    return 0
