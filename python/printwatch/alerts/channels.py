"""Sending a message: e-mail over SMTP, a webhook POST. Blocking calls, for a worker thread.

* :func:`send_email`: stdlib ``smtplib``; ``security`` ``starttls`` (the default: the session is
  upgraded with STARTTLS before AUTH and refused if the server does not offer it), ``tls``
  (SMTPS, port 465) or ``none`` (a relay on the local network). The server's certificate is
  verified against the system's CAs, or ``ca_file``; AUTH (LOGIN/PLAIN, whichever the server
  offers) when a username is configured.
* :func:`post_webhook`: ``urllib.request``; success is any 2xx answer from the configured URL
  itself. Redirects are never followed: a redirect would turn the POST into an empty GET (301,
  302, 303) or repeat it, Bearer token included, to wherever the answer points, another host
  as well; a 3xx is a failure that names the redirect and its target.

Error handling: every failure raises :class:`DeliveryError` with a message naming the server
and the reason (refused, timed out, TLS, authentication, a redirect, a non-2xx answer); the
outbox keeps the notification and tries again.
"""

from __future__ import annotations

import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage, Message
from typing import IO

from printwatch import PrintwatchError
from printwatch.config.model import SmtpConfig, WebhookConfig


class DeliveryError(PrintwatchError):
    """A message could not be delivered (the message says where and why)."""


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


def send_email(smtp: SmtpConfig, message: EmailMessage) -> None:
    """Sends ``message`` to ``smtp.recipients`` (see the module's docstring)."""
    where = f"SMTP {smtp.host}:{smtp.port}"
    if not smtp.recipients:
        raise DeliveryError(f"{where}: no recipients configured (smtp.recipients)")
    context = tls_context(str(smtp.ca_file) if smtp.ca_file else None)
    try:
        if smtp.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        with client:
            client.ehlo()
            if smtp.security == "starttls":
                if not client.has_extn("starttls"):
                    raise DeliveryError(f"{where}: the server does not offer STARTTLS (smtp.security)")
                client.starttls(context=context)
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            refused = client.send_message(message, from_addr=smtp.sender, to_addrs=list(smtp.recipients))
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as err:
        raise DeliveryError(f"{where}: authentication as {smtp.username!r} refused: {err.smtp_code}") from err
    except (smtplib.SMTPException, ssl.SSLError, OSError) as err:
        raise DeliveryError(f"{where}: {type(err).__name__}: {err}") from err
    if refused:
        raise DeliveryError(f"{where}: recipients refused: {', '.join(sorted(refused))}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Follows no redirect: the 3xx answer comes back as an :class:`urllib.error.HTTPError`."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def post_webhook(hook: WebhookConfig, body: bytes) -> None:
    """POSTs ``body`` (JSON) to ``hook.url``, and nowhere else (see the module's docstring)."""
    headers = {"Content-Type": "application/json", "User-Agent": "printwatch-alerts"}
    if hook.token:
        headers["Authorization"] = f"Bearer {hook.token}"
    request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirects)  # urlopen's handlers, but for redirects
    try:
        with opener.open(request, timeout=hook.timeout_s) as answer:
            answer.read(65536)
            status = int(answer.status)
    except urllib.error.HTTPError as err:
        location = err.headers.get("Location") if err.headers else None
        err.close()  # the answer's connection
        if 300 <= err.code < 400:
            where = f"a redirect to {location[:300]}" if location else "a redirect"
            raise DeliveryError(
                f"webhook {hook.url}: answered HTTP {err.code} ({where}), not followed: the alert and "
                "its token go to the configured URL only (set the [[webhooks]] url to where it should go)"
            ) from err
        raise DeliveryError(f"webhook {hook.url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        raise DeliveryError(f"webhook {hook.url}: {err}") from err
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook {hook.url}: HTTP {status}")
