"""``printwatch assist DEVICE``: call for assistance through the running appliance.

Asks the appliance's HTTP server (``POST /api/assist/DEVICE``) for an immediate full poll of the
device; the appliance writes it to the history and hands the snapshot to the uplink. Prints the
poll document as JSON.

Exit status: 0 when the device answered, 1 when it did not or the appliance cannot be reached,
2 for a device the appliance does not know (or a bad configuration).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from printwatch.cli.options import Subparsers
from printwatch.config import ConfigError, load_config


@dataclass(frozen=True)
class Endpoint:
    url: str
    token: str | None = None  # [web] api_token, sent as a bearer token
    context: ssl.SSLContext | None = None  # trusts the appliance's own certificate


def appliance_url(config_path: Path | None, url: str | None) -> Endpoint:
    """``url``, else the ``[web]`` address of the configuration (its unspecified address as
    loopback; over HTTPS trusting the configured or self-signed certificate), else the default."""
    if url:
        return Endpoint(url.rstrip("/"))
    if config_path is not None:
        config = load_config(config_path)
        web = config.web
        host = "127.0.0.1" if web.host == "0.0.0.0" else web.host
        context = None
        if web.uses_tls:
            cert = (
                web.cert_file if web.tls == "files" else config.appliance.state_dir / "web-tls" / "cert.pem"
            )
            context = ssl.create_default_context(cafile=str(cert)) if cert and cert.exists() else None
        return Endpoint(f"{web.scheme}://{host}:{web.port}", web.api_token, context)
    return Endpoint("http://127.0.0.1:8080")


def run_assist(
    device: str,
    *,
    url: str | None,
    config_path: Path | None,
    timeout_s: float = 60.0,
    out: TextIO = sys.stdout,
) -> int:
    try:
        where = appliance_url(config_path, url)
    except ConfigError as err:
        print(f"printwatch assist: {err}", file=sys.stderr)
        return 2
    endpoint = f"{where.url}/api/assist/{urllib.parse.quote(device, safe='')}"
    headers = {"Authorization": f"Bearer {where.token}"} if where.token else {}
    request = urllib.request.Request(endpoint, method="POST", data=b"", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=where.context) as response:
            doc = json.load(response)
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["error"]
        print(f"printwatch assist: {detail}", file=sys.stderr)
        return 2 if err.code == 404 else 1
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        print(
            f"printwatch assist: cannot reach the appliance at {where.url} ({reason}); is it running?",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(doc, indent=1), file=out)
    return 0 if doc.get("reachable") else 1


def add_parser(commands: Subparsers, name: str, summary: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description="Ask the running appliance (its HTTP server) for an immediate full poll of DEVICE "
        "(host[:port], serial number or sysName), written to the history and handed to the uplink; "
        "prints the poll document. Exit status 0 if it answered, 1 if not or the appliance is not "
        "reachable, 2 for an unknown device.",
    )
    parser.add_argument("device", metavar="DEVICE")
    parser.add_argument(
        "--url",
        default=None,
        help="the appliance's HTTP server (default from --config, else http://127.0.0.1:8080)",
    )
    parser.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="read the HTTP address from FILE"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    return run_assist(args.device, url=args.url, config_path=args.config)
