"""The console's routes and its app, mounted at ``/console`` on the collector's API listener
(:func:`printwatch.collector.server.create_app`).

Every page answers ``.json`` (and a table ``.csv``) beside its HTML. The app shares the
collector's state (the store's thread, its clock) and answers refusals as the collector does
(:func:`printwatch.collector.console.view.denied`); every answer carries the security headers (the
collector's app adds the web layer's :class:`~printwatch.web.auth.headers.SecurityHeaders` to
every route), and every request body is bounded in size and time before a handler sees it
(:class:`~printwatch.web.auth.limits.BodyLimit`).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from printwatch.collector.access import Denied
from printwatch.collector.console.access_page import access_action, access_page
from printwatch.collector.console.billing import billing_action, billing_cycle, billing_site, billing_sites
from printwatch.collector.console.devices import device_page, devices_page
from printwatch.collector.console.enrolment import enrolment_action, enrolment_page
from printwatch.collector.console.login import login, login_form, logout
from printwatch.collector.console.settings import settings_change, settings_page
from printwatch.collector.console.sites import site_message, site_page, site_transmissions, sites_page
from printwatch.collector.console.state import ConsoleState
from printwatch.collector.console.supplies import supplies_move, supplies_page
from printwatch.collector.console.view import denied
from printwatch.collector.handlers.state import CollectorState
from printwatch.collector.storage import StoreUnavailable
from printwatch.web.auth.limits import BodyLimit
from printwatch.web.templating import STATIC


async def home(request: Request) -> Response:
    return RedirectResponse("/console/sites", status_code=303)


ROUTES = [
    Route("/", home),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/sites", sites_page),
    Route("/sites.json", sites_page),
    Route("/sites.csv", sites_page),
    Route("/sites/{site}/messages.json", site_transmissions),
    Route("/sites/{site}/messages.csv", site_transmissions),
    Route("/sites/{site}/messages/{seq}", site_message),
    Route("/sites/{site}", site_page),
    Route("/devices", devices_page),
    Route("/devices.json", devices_page),
    Route("/devices.csv", devices_page),
    Route("/devices/{site}/{n}", device_page),
    Route("/enrolment", enrolment_page),
    Route("/enrolment.json", enrolment_page),
    Route("/enrolment.csv", enrolment_page),
    Route("/enrolment/{action}", enrolment_action, methods=["POST"]),
    Route("/access", access_page),
    Route("/access.json", access_page),
    Route("/access/{action}", access_action, methods=["POST"]),
    Route("/billing", billing_sites),
    Route("/billing.json", billing_sites),
    Route("/billing.csv", billing_sites),
    Route("/billing/{site}", billing_site),
    Route("/billing/{site}/{cycle}", billing_cycle),
    Route("/billing/{site}/{cycle}/{action}", billing_action, methods=["POST"]),
    Route("/supplies", supplies_page),
    Route("/supplies.json", supplies_page),
    Route("/supplies.csv", supplies_page),
    Route("/supplies/{site}/{n}/{index}/{opened_seq}", supplies_move, methods=["POST"]),
    Route("/settings/{site}", settings_page, methods=["GET"]),
    Route("/settings/{site}", settings_change, methods=["POST"]),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
]


def console_app(state: CollectorState, console: ConsoleState, unavailable: object) -> Starlette:
    """The console on ``state`` (the collector's), with ``unavailable`` answering a store that
    cannot be reached."""
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(BodyLimit, bounds=console)],  # the headers: the collector's app
        exception_handlers={StoreUnavailable: unavailable, Denied: denied},  # type: ignore[dict-item]
    )
    app.state.collector = state
    app.state.console = console
    return app
