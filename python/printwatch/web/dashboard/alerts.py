"""The alerts page (``/alerts``): the store's ``alerts`` view, open ones first, with a filter for
open ones only; its table is shared with the printer's page (``alerts_table.html``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from printwatch.web.dashboard.formats import utc
from printwatch.web.dashboard.view import dashboard_of, page, render


def _notified(alert: dict[str, Any]) -> str:
    """``notified_at``, or ``notifications`` as the view first named it."""
    value = alert.get("notified_at", alert.get("notifications"))
    if isinstance(value, dt.datetime):
        return utc(value)
    return "" if value is None else str(value)


def rows(alerts: Sequence[dict[str, Any]] | None) -> list[defaultdict[str, Any]] | None:
    """The view's rows for ``alerts_table.html`` (None: the store has no ``alerts`` view)."""
    if alerts is None:
        return None
    return [defaultdict(lambda: None, a, notified=_notified(a)) for a in alerts]


def alerts_table(
    alerts: Sequence[dict[str, Any]] | None, now: dt.datetime, *, with_device: bool = True
) -> Markup:
    """The table on its own (the pages include it)."""
    return render("alerts_table.html", alerts=rows(alerts), now=now, with_device=with_device)


async def alerts(request: Request) -> Response:
    d = dashboard_of(request)
    open_only = request.query_params.get("open") == "1"
    got = await d.read(partial(d.data.alerts, open_only=open_only))
    return page(
        request, "alerts.html", alerts=rows(got), open_only=open_only, now=d.clock(), with_device=True
    )
