"""The dashboard's routes: one list, each page a module-level handler in the module of its page
(or small family of pages), and the middleware in front of them (:func:`middleware`).

The app is made in :mod:`~printwatch.web.dashboard.serving` (with the appliance's own routes
from :mod:`printwatch.web.machine`); the handlers find their state on
``request.app.state.dashboard`` (:class:`~printwatch.web.dashboard.state.Dashboard`).
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from printwatch.web.auth.limits import BodyLimit
from printwatch.web.dashboard import alerts, discovery, fleet, login, printer, settings, uplink
from printwatch.web.dashboard.gate import AuthGate
from printwatch.web.dashboard.state import Dashboard
from printwatch.web.templating import STATIC

ROUTES: list[BaseRoute] = [
    Route("/", fleet.home),
    Route("/login", login.login_form, methods=["GET"]),
    Route("/login", login.login, methods=["POST"]),
    Route("/logout", login.logout, methods=["POST"]),
    Route("/fleet", fleet.fleet),
    Route("/printer/{device_id:int}", printer.printer),
    Route("/alerts", alerts.alerts),
    Route("/discovery", discovery.discovery),
    Route("/discovery/add", discovery.discovery_add, methods=["POST"]),
    Route("/discovery/sweep", discovery.discovery_sweep, methods=["POST"]),
    Route("/uplink", uplink.uplink),
    Route("/uplink/{n:int}", uplink.uplink_entry),
    Route("/settings", settings.settings),
    Route("/settings/password", settings.change_password, methods=["POST"]),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
]


def middleware(dashboard: Dashboard) -> list[Middleware]:
    """The gate over the whole app (who may see what, the headers), then the body limits (inside
    the gate: they depend on whether the request has a session)."""
    return [Middleware(AuthGate, dashboard=dashboard), Middleware(BodyLimit, bounds=dashboard)]
