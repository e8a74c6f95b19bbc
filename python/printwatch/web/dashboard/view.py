"""What every page's handler shares: the dashboard from ``app.state``, the session the gate
found, the CSRF check of a form, and the answer rendered from a template.

The templates are ``templates/`` beside this module, over the web layer's shared
``layout.html`` (:mod:`printwatch.web.templating`): autoescaped, with the formats of
:mod:`~printwatch.web.dashboard.formats` as filters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from printwatch.web.auth.session_file import Session
from printwatch.web.auth.sessions import same_token
from printwatch.web.dashboard.formats import ago, number, qs, stamp, utc
from printwatch.web.dashboard.state import Dashboard
from printwatch.web.templating import templates

HERE = Path(__file__).resolve().parent
NAV = (
    ("/fleet", "Fleet"),
    ("/alerts", "Alerts"),
    ("/discovery", "Discovery"),
    ("/uplink", "Uplink"),
    ("/settings", "Settings"),
)
TEMPLATES = templates(
    HERE / "templates",
    filters={"ago": ago, "utc": utc, "number": number, "qs": qs, "stamp": stamp},
    brand="printwatch",
    nav=NAV,
    static="/static",
    logout="/logout",
)


def dashboard_of(request: Request) -> Dashboard:
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard


def session_of(request: Request) -> Session:
    """The request's session (the gate lets no request without one through to the pages)."""
    session: Session | None = request.scope.get("state", {}).get("session")
    if session is None:
        raise RuntimeError("dashboard page reached without a session")
    return session


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def page(request: Request, template: str, status: int = 200, /, **context: Any) -> HTMLResponse:
    """The ``template`` as the answer (never cached), with the session's CSRF token for the
    layout (none without a session: the login page)."""
    session: Session | None = request.scope.get("state", {}).get("session")
    context = {"csrf": session.csrf if session else None, "active": "", **context}
    return TEMPLATES.TemplateResponse(
        request, template, context, status_code=status, headers={"cache-control": "no-store"}
    )


def render(template: str, /, **context: Any) -> Markup:
    """The ``template`` rendered without a request (a part of a page, or a page for a test)."""
    return Markup(TEMPLATES.get_template(template).render({"csrf": None, "active": "", **context}))


def refused(request: Request) -> Response:
    return page(
        request, "message.html", 403, title="Refused", error="The form's CSRF token is missing or wrong."
    )


def not_found(request: Request, what: str) -> Response:
    return page(request, "message.html", 404, title="Not found", error=f"No {what}.")


async def checked_form(request: Request) -> dict[str, str] | Response:
    """The form's fields, or a 403 page when its CSRF token is missing or not the session's (a
    file field: 400, from Starlette)."""
    form = await request.form(max_files=0)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not same_token(fields.get("csrf"), session_of(request).csrf):
        return refused(request)
    return fields
