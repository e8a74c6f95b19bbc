"""The appliance's web app with the dashboard on it, and its TLS, from the ``[web]`` settings;
:meth:`WebSetup.serve` is the HTTP server that the assembly hands to
:func:`~printwatch.service.daemon.run_until_stopped`.

Error handling: :class:`~printwatch.web.auth.tls.TlsError` or
:class:`~printwatch.web.auth.passwords.PasswordFileError` naming the file when the certificate
or the password file cannot be read or made (the appliance does not start).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trio
from starlette.applications import Starlette

from printwatch.config.model import WebConfig
from printwatch.service.appliance import Appliance
from printwatch.store import Store
from printwatch.web.app import create_app
from printwatch.web.auth.tls import TlsFiles, configured, self_signed
from printwatch.web.dashboard.routes import ROUTES, middleware
from printwatch.web.dashboard.state import Dashboard
from printwatch.web.dashboard.sweep import SweepScope
from printwatch.web.server import serve_http


def dashboard_app(dashboard: Dashboard, appliance: Appliance | None = None) -> Starlette:
    """The dashboard's pages behind its gate, with the appliance's ``/health``, ``/metrics`` and
    API when ``appliance`` is given (a bench serves the pages alone)."""
    if appliance is not None:
        app = create_app(appliance, routes=ROUTES, middleware=middleware(dashboard))
    else:
        app = Starlette(routes=ROUTES, middleware=middleware(dashboard))
    app.state.dashboard = dashboard
    return app


@dataclass(frozen=True)
class WebSetup:
    app: Starlette
    dashboard: Dashboard
    tls: TlsFiles | None
    first_password: str | None  # made by this start (also in passwords.first_password_path)
    web: WebConfig

    def url(self, address: tuple[str, int]) -> str:
        return f"{'https' if self.tls else 'http'}://{address[0]}:{address[1]}"

    async def serve(
        self, *, task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serves the app on ``[web] host:port`` (HTTPS with :attr:`tls`) until cancelled; started
        with the address it is bound to (see :func:`~printwatch.web.server.serve_http`)."""
        cert, key = (self.tls.cert, self.tls.key) if self.tls else (None, None)
        await serve_http(
            self.app, self.web.host, self.web.port, certfile=cert, keyfile=key, task_status=task_status
        )


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
        clock=appliance.clock.now,
    )
    return WebSetup(dashboard_app(dashboard, appliance), dashboard, tls, first, web)
