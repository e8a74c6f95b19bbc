"""The e-mail for a billing read that did not arrive: one message per site to its key contact.

:func:`notify_missing` takes the ``missing`` view (devices whose read for the current cycle has
not arrived ``grace`` after the cycle began) and sends each site's contact one e-mail listing
its devices, through the alerts' SMTP channel (:func:`printwatch.alerts.channels.send_email`,
with the contact as the recipient). Each device and cycle is noticed once (``billing_notices``,
written only after the mail was accepted).

Error handling: a site without a contact is skipped and named in the result; a failed delivery
(:class:`printwatch.alerts.channels.DeliveryError`) is named in the result, nothing is recorded
for it, and the next call tries again. :func:`watch_missing` runs it periodically inside
``printwatch collector serve``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import trio

from printwatch.alerts.channels import DeliveryError, send_email
from printwatch.collector import views
from printwatch.collector.store import CollectorStore
from printwatch.config.model import SmtpConfig

log = logging.getLogger(__name__)


def notify_missing(
    store: CollectorStore, smtp: SmtpConfig, *, now: dt.datetime, grace: dt.timedelta = dt.timedelta(days=1)
) -> list[str]:
    """Send the e-mails; returns one line per site: sent, skipped or failed (with why)."""
    done: list[str] = []
    by_site: dict[str, list[dict[str, object]]] = {}
    for row in views.missing(store.con, now=now, grace=grace):
        noticed = store.con.execute(
            "SELECT count(*) FROM billing_notices WHERE site_id = ? AND n = ? AND cycle = ?",
            [row["site_id"], row["n"], row["cycle"]],
        ).fetchall()
        if noticed[0][0] == 0:
            by_site.setdefault(str(row["site_id"]), []).append(row)
    for site, rows in sorted(by_site.items()):
        contact = rows[0]["contact"]
        if not contact:
            done.append(
                f"{site}: {len(rows)} billing reads missing, but the site has no contact (site add --contact)"
            )
            continue
        cycle = rows[0]["cycle"]
        message = EmailMessage()
        message["Subject"] = f"printwatch: {len(rows)} billing meter reads missing for {site} (cycle {cycle})"
        message["From"] = smtp.sender
        message["To"] = str(contact)
        lines = [
            f"  device {r['n']}: serial {r['serial'] or '-'}, address {r['address'] or '-'}" for r in rows
        ]
        message.set_content(
            f"The billing meter reads of cycle {cycle} have not arrived from these printers of site "
            f"{site}:\n\n"
            + "\n".join(lines)
            + "\n\nCheck that the appliance is running and can reach the collector.\n"
        )
        try:
            send_email(dataclasses.replace(smtp, recipients=(str(contact),)), message)
        except DeliveryError as err:
            done.append(f"{site}: not sent: {err}")
            continue
        with store.transaction() as con:
            for r in rows:
                con.execute(
                    "INSERT INTO billing_notices VALUES (?, ?, ?, ?)", [site, r["n"], r["cycle"], now]
                )
        done.append(f"{site}: sent to {contact} ({len(rows)} devices)")
    return done


async def watch_missing(
    run: Callable[[Callable[[], list[str]]], Awaitable[list[str]]],
    store: CollectorStore,
    smtp: SmtpConfig,
    *,
    every_s: float,
    grace: dt.timedelta,
    now: Callable[[], dt.datetime],
) -> None:
    """:func:`notify_missing` every ``every_s`` seconds until cancelled (``collector serve
    --notify-config``). ``run`` calls it where the store may be used (the server's one database
    thread). A site is mailed once per device and cycle; a failure is logged and tried again the
    next time round.
    """
    while True:
        for line in await run(lambda: notify_missing(store, smtp, now=now(), grace=grace)):
            (log.warning if ": not sent: " in line else log.info)("billing reads missing: %s", line)
        await trio.sleep(every_s)
