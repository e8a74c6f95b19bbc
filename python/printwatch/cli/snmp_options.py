"""The SNMP options every command that talks to printers takes (``poll``, ``discover``,
``simulate``): community and version for v1/v2c, user and protocols for SNMPv3, with the
passwords from the command line, a file or the environment.

``snmp_options()`` is the argparse parent with all of them (``poll``); ``add_v3_options(parser,
what)`` adds the SNMPv3 group alone, last, with its own help for ``--v3-user`` (``discover`` and
``simulate``). ``target_kwargs(args)`` turns the parsed arguments into ``Target(...)`` keyword
arguments (``community``, ``version``, ``v3``); ``v3_credentials(args)`` is the SNMPv3 part.

Error handling: ``target_kwargs`` raises ``ValueError`` with a message naming the option (or
the file, or the environment variable) for incomplete or unusable credentials; commands raise
it again as :class:`printwatch.cli.options.UsageError`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from printwatch.v3 import AUTH_PROTOCOLS, PRIV_PROTOCOLS, V3Credentials, credentials_from_profile

#: Environment variables read when neither ``--auth-pass`` nor ``--auth-pass-file`` is given.
AUTH_PASS_ENV = "PRINTWATCH_V3_AUTH_PASS"
PRIV_PASS_ENV = "PRINTWATCH_V3_PRIV_PASS"


def snmp_options() -> argparse.ArgumentParser:
    """A parent with ``--community``, ``--snmp-version`` and the SNMPv3 options."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--community", default="public", help="SNMP community (default public)")
    parser.add_argument(
        "--snmp-version",
        choices=["1", "2c", "3", "auto"],
        default="auto",
        help="SNMP version; auto tries v2c and v1 and keeps the one that answers, or speaks v3 "
        "when --v3-user is given (default auto)",
    )
    add_v3_options(parser)
    return parser


def add_v3_options(parser: argparse.ArgumentParser, what: str = "SNMPv3 user name (selects SNMPv3)") -> None:
    """Adds the SNMPv3 options alone (``printwatch simulate`` takes these: the user its printers
    know); ``what`` is the help of ``--v3-user``."""
    v3 = parser.add_argument_group(
        "SNMPv3 (USM)",
        "Passwords: prefer --auth-pass-file/--priv-pass-file (first line of the file) or the "
        f"environment variables {AUTH_PASS_ENV} and {PRIV_PASS_ENV}: a password given with "
        "--auth-pass/--priv-pass is visible to other users in the process list.",
    )
    v3.add_argument("--v3-user", metavar="USER", help=what)
    v3.add_argument(
        "--auth-proto",
        metavar="PROTO",
        help=f"authentication: {', '.join(AUTH_PROTOCOLS)} (SHA256 etc. also accepted)",
    )
    v3.add_argument("--auth-pass", metavar="PASS", help=f"authentication password (or ${AUTH_PASS_ENV})")
    v3.add_argument("--auth-pass-file", type=Path, metavar="FILE", help="read the authentication password")
    v3.add_argument("--priv-proto", metavar="PROTO", help=f"privacy: {', '.join(PRIV_PROTOCOLS)}")
    v3.add_argument("--priv-pass", metavar="PASS", help=f"privacy password (or ${PRIV_PASS_ENV})")
    v3.add_argument("--priv-pass-file", type=Path, metavar="FILE", help="read the privacy password")
    v3.add_argument("--context", metavar="NAME", help="SNMPv3 context name (e.g. Jetdirect; default none)")


def _password(args: argparse.Namespace, kind: str, env_name: str) -> str | None:
    given: str | None = getattr(args, f"{kind}_pass")
    path: Path | None = getattr(args, f"{kind}_pass_file")
    if given is not None and path is not None:
        raise ValueError(f"--{kind}-pass and --{kind}-pass-file: give one")
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise ValueError(f"--{kind}-pass-file {path}: {err.strerror}") from None
        if not lines or not lines[0]:
            raise ValueError(f"--{kind}-pass-file {path}: the first line is empty")
        return lines[0]
    if given is not None:
        return given
    return os.environ.get(env_name) or None


def v3_credentials(args: argparse.Namespace) -> V3Credentials | None:
    """The SNMPv3 user the options describe, or ``None`` without ``--v3-user``."""
    if args.v3_user is None:
        stray = [
            f"--{n.replace('_', '-')}" for n in ("auth_proto", "priv_proto", "context") if getattr(args, n)
        ]
        stray += [
            f"--{n.replace('_', '-')}" for n in ("auth_pass", "priv_pass") if getattr(args, n) is not None
        ]
        stray += [
            f"--{n.replace('_', '-')}" for n in ("auth_pass_file", "priv_pass_file") if getattr(args, n)
        ]
        if stray:
            raise ValueError(f"{stray[0]} needs --v3-user")
        if getattr(args, "snmp_version", None) == "3":
            raise ValueError("--snmp-version 3 needs --v3-user")
        return None
    auth_pass = _password(args, "auth", AUTH_PASS_ENV) if args.auth_proto else None
    priv_pass = _password(args, "priv", PRIV_PASS_ENV) if args.priv_proto else None
    if args.auth_proto and auth_pass is None:
        raise ValueError(f"--auth-proto needs --auth-pass, --auth-pass-file or ${AUTH_PASS_ENV}")
    if args.priv_proto and priv_pass is None:
        raise ValueError(f"--priv-proto needs --priv-pass, --priv-pass-file or ${PRIV_PASS_ENV}")
    if args.priv_proto and not args.auth_proto:
        raise ValueError("--priv-proto needs --auth-proto (no privacy without authentication)")
    if getattr(args, "snmp_version", None) in ("1", "2c"):
        raise ValueError(f"--v3-user speaks SNMPv3, not --snmp-version {args.snmp_version}")
    profile = {
        "user": args.v3_user,
        "auth_proto": args.auth_proto,
        "auth_pass": auth_pass,
        "priv_proto": args.priv_proto,
        "priv_pass": priv_pass,
        "context": args.context,
    }
    return credentials_from_profile(profile, where="SNMPv3 options")


def target_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``Target(host, port, plan=..., **target_kwargs(args))``."""
    v3 = v3_credentials(args)
    version = "3" if v3 is not None else args.snmp_version
    return {"community": args.community, "version": version, "v3": v3}
