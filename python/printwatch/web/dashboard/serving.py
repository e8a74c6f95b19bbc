"""The appliance's web app with the dashboard on it, and its TLS, from the ``[web]`` settings.

Error handling: :class:`~printwatch.web.dashboard.tls.TlsError` or
:class:`~printwatch.web.dashboard.auth.PasswordFileError` naming the file when the certificate
or the password file cannot be read or made (the appliance does not start).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from printwatch.config.model import WebConfig
from printwatch.service.appliance import Appliance
from printwatch.store import Store
from printwatch.web.app import create_app
from printwatch.web.dashboard.routes import Dashboard, install
from printwatch.web.dashboard.sweep import SweepScope
from printwatch.web.dashboard.tls import TlsFiles, configured, self_signed


@dataclass(frozen=True)
class WebSetup:
    app: Starlette
    dashboard: Dashboard
    tls: TlsFiles | None
    first_password: str | None  # made by this start (also in passwords.first_password_path)

    def url(self, address: tuple[str, int]) -> str:
        return f"{'https' if self.tls else 'http'}://{address[0]}:{address[1]}"


def web_setup(appliance: Appliance, store: Store, web: WebConfig, state_dir: Path) -> WebSetup:
    tls = None
    if web.uses_tls:
        if web.tls == "files" and web.cert_file and web.key_file:
            tls = configured(web.cert_file, web.key_file)
        else:
            tls = self_signed(state_dir / "web-tls", web.host)
    dashboard, first = Dashboard.open(
        store,
        state_dir,
        secure=tls is not None,
        api_token=web.api_token,
        snmp=appliance.config.snmp,
        sweep_scope=SweepScope.of(appliance.config),
    )
    app = install(create_app(appliance), dashboard)
    return WebSetup(app, dashboard, tls, first)
