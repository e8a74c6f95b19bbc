"""A real SMTP server for the notification tests (the alerts' mail, the collector's notices):
aiosmtpd (its own thread and asyncio loop) on 127.0.0.1, STARTTLS with a certificate from
tests/support/tls.py, AUTH (LOGIN/PLAIN) required and only after STARTTLS; and the client's
configuration that reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from printwatch.config.model import SmtpConfig

from tests.support.tls import Certs

USER, PASSWORD = "printwatch@example.com", "s3cret-relay"


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)  # aiosmtpd envelopes
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted)
    tls_sessions: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if session.ssl is not None:
            self.tls_sessions += 1
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        ok = (user, password) == (USER, PASSWORD)
        self.logins.append((user, ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 235 or 535


@contextmanager
def smtp_server(port: int, certs: Certs, mailbox: Mailbox) -> Iterator[Controller]:
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=certs.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=mailbox.authenticate,
        ready_timeout=10.0,
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def smtp_config(port: int, ca_file: Path, password: str = PASSWORD) -> SmtpConfig:
    """The appliance's SMTP settings for :func:`smtp_server` on ``port`` (``ca_file``: the CA
    that signed its certificate)."""
    return SmtpConfig(
        host="127.0.0.1",
        port=port,
        security="starttls",
        username=USER,
        password=password,
        sender="printwatch@example.com",
        recipients=("fleet@example.com", "it@example.com"),
        ca_file=ca_file,
        timeout_s=10.0,
    )
