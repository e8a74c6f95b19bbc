"""``/console/settings/{site}``: a site's settings as the appliance gets them at its next sync,
what the appliance last reported applying, the versions before (who, when), and for the support
role the form that changes them (:mod:`printwatch.collector.settings` checks every value)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from printwatch.collector import settings
from printwatch.collector.access import Denied, require, require_site
from printwatch.collector.console.view import PREFIX, page
from printwatch.collector.handlers.state import state_of

ACTIVE = PREFIX + "/sites"


async def settings_page(request: Request) -> Response:
    state = state_of(request)
    who = await require(request)
    site = request.path_params["site"]
    require_site(who, site)

    def gather() -> dict[str, Any]:
        con = state.store.con.cursor()
        found = settings.get(con, site)
        if who.role == "customer":
            return {**settings.for_customer(found), "history": []}
        return {**found, "history": settings.history(con, site, 20)}

    try:
        found = await state.db(gather)
    except LookupError as err:
        raise Denied(404, str(err)) from None
    return page(
        request, "settings.html", title=f"Settings of {site}", active=ACTIVE, s=found,
        services=settings.SERVICES, cycles=settings.CYCLES,
        may_change=who.role in ("support", "billing", "admin"),
    )  # fmt: skip


def _changes(form: FormData) -> dict[str, Any]:
    """The form as settings changes (an empty field: back to the default)."""

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def number(name: str, kind: type = int) -> Any:
        value = text(name)
        if not value:
            return None
        try:
            return kind(value)
        except ValueError:
            raise settings.SettingsError(f"{name}: {value[:40]!r} is not a number") from None

    times = [t.strip() for t in text("upload_times").replace(",", " ").split()]
    changes: dict[str, Any] = {
        "upload_times": times or None,
        "uploads_per_day": number("uploads_per_day"),
        "budget_bytes_per_day": number("budget_bytes_per_day"),
        "services": {name: form.get(f"service_{name}") == "on" for name in settings.SERVICES},
        "billing_cycle": text("billing_cycle") or None,
        "billing_day": number("billing_day"),
    }
    thresholds = {k: number(k, float) for k in settings.THRESHOLDS}
    changes["thresholds"] = {k: v for k, v in thresholds.items() if v is not None} or None
    return changes


async def settings_change(request: Request) -> Response:
    state = state_of(request)
    who = await require(request, "support", "billing")
    site = request.path_params["site"]
    require_site(who, site)
    form = await request.form(max_files=0, max_fields=30)
    try:
        changes = _changes(form)
        now = state.now()
        await state.db(lambda: settings.put(state.store, site, changes, by=who.name, now=now, role=who.role))
    except settings.NotYours as err:
        raise Denied(403, str(err)) from None
    except settings.SettingsError as err:
        raise Denied(400, str(err)) from None
    except LookupError as err:
        raise Denied(404, str(err)) from None
    return RedirectResponse(f"{PREFIX}/settings/{site}", status_code=303)
