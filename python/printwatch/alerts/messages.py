"""What the notifications say: an e-mail, a JSON document, a chat line per alert.

One message carries every due notification of a channel (a cycle that opens 40 alerts sends one
e-mail, not 40). Times are UTC, ISO 8601 in JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from printwatch.alerts.outbox import Notification

KIND_TITLES = {
    "supply_low": "supply low",
    "supply_empty": "supply empty",
    "supply_runout": "supply runs out before a reorder arrives",
    "offline": "printer offline",
    "fault": "printer fault",
    "billing_read_missing": "billing meter read missing",
}


def _device(a: dict[str, Any] | Any) -> str:
    name = a.get("sys_name") or a.get("model") or "printer"
    where = a.get("address") or "?"
    serial = a.get("serial")
    return f"{name} at {where}" + (f" (serial {serial})" if serial else "")


def line(n: Notification) -> str:
    """One line for people: ``OPEN critical printer offline: HP at 10.0.0.7 (serial X) - ...``."""
    a = n.alert
    verb = "OPEN" if n.event == "opened" else "CLOSED"
    title = KIND_TITLES.get(str(a.get("kind")), str(a.get("kind")))
    detail = a.get("detail") or ""
    return f"{verb} {a.get('severity')} {title}: {_device(a)}" + (f" - {detail}" if detail else "")


def _iso(value: Any) -> Any:
    return value.isoformat() + "Z" if isinstance(value, dt.datetime) else value


def as_json(notifications: Sequence[Notification], site: str | None) -> bytes:
    """``{"source": "printwatch", "site", "alerts": [{id, event, alert_id, kind, subject,
    severity, detail, opened_at, closed_at, device: {device_id, serial, address, sys_name,
    vendor, model}}]}``."""
    items = []
    for n in notifications:
        a = n.alert
        items.append(
            {
                "id": n.notification_id,
                "event": n.event,
                "alert_id": a.get("alert_id"),
                "kind": a.get("kind"),
                "subject": a.get("subject"),
                "severity": a.get("severity"),
                "detail": a.get("detail"),
                "opened_at": _iso(a.get("opened_at")),
                "closed_at": _iso(a.get("closed_at")),
                "device": {
                    k: a.get(k) for k in ("device_id", "serial", "address", "sys_name", "vendor", "model")
                },
            }
        )
    return json.dumps({"source": "printwatch", "site": site, "alerts": items}).encode()


def as_text(notifications: Sequence[Notification], site: str | None) -> bytes:
    """The chat form: ``{"text": "printwatch (site): ...\\n..."}`` (Slack, Mattermost)."""
    head = f"printwatch{f' ({site})' if site else ''}: {summary(notifications)}"
    return json.dumps({"text": "\n".join([head, *(line(n) for n in notifications)])}).encode()


def summary(notifications: Sequence[Notification]) -> str:
    opened = sum(1 for n in notifications if n.event == "opened")
    closed = len(notifications) - opened
    parts = [f"{opened} alert{'s' * (opened != 1)} opened"] if opened else []
    parts += [f"{closed} closed"] if closed else []
    return ", ".join(parts) or "no change"


def email(
    notifications: Sequence[Notification],
    *,
    sender: str,
    recipients: Sequence[str],
    site: str | None,
    now: dt.datetime,
) -> EmailMessage:
    """One e-mail listing the notifications; its ``Message-ID`` names the first and last ids."""
    msg = EmailMessage()
    first = notifications[0]
    if len(notifications) == 1:
        subject = line(first)
    else:
        subject = f"printwatch{f' ({site})' if site else ''}: {summary(notifications)}"
    msg["Subject"] = subject[:200]
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(now.replace(tzinfo=dt.UTC))
    ids = f"{first.notification_id}-{notifications[-1].notification_id}"
    msg["Message-ID"] = f"<printwatch-alerts-{ids}@printwatch.local>"  # the same on a retry
    body = [
        f"printwatch{f' at site {site}' if site else ''} reports {summary(notifications)}:",
        "",
        *(line(n) for n in notifications),
        "",
        "Times are UTC. Every alert, open and closed: printwatch sql 'SELECT * FROM alerts'",
    ]
    msg.set_content("\n".join(body))
    return msg
