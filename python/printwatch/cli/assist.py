"""``printwatch assist DEVICE``: call for assistance through the running appliance.

Asks the appliance's HTTP server (``POST /api/assist/DEVICE``) for an immediate full poll of the
device; the appliance writes it to the history and hands the snapshot to the uplink. Prints the
poll document as JSON.

Exit status: 0 when the device answered, 1 when it did not or the appliance cannot be reached,
2 for a device the appliance does not know (or a bad configuration).
"""

from __future__ import annotations

import contextlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TextIO

from printwatch.config import ConfigError, load_config


def appliance_url(config_path: Path | None, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    if config_path is not None:
        web = load_config(config_path).web
        return f"http://{web.host}:{web.port}"
    return "http://127.0.0.1:8080"


def run_assist(
    device: str,
    *,
    url: str | None,
    config_path: Path | None,
    timeout_s: float = 60.0,
    out: TextIO = sys.stdout,
) -> int:
    try:
        base = appliance_url(config_path, url)
    except ConfigError as err:
        print(f"printwatch assist: {err}", file=sys.stderr)
        return 2
    endpoint = f"{base}/api/assist/{urllib.parse.quote(device, safe='')}"
    request = urllib.request.Request(endpoint, method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
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
            f"printwatch assist: cannot reach the appliance at {base} ({reason}); is it running?",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(doc, indent=1), file=out)
    return 0 if doc.get("reachable") else 1
