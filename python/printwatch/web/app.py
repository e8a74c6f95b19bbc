"""The ASGI app of the appliance (Starlette): one routes list, the state on ``app.state``.

:func:`create_app` serves the appliance's own routes (``/health``, ``/metrics``,
``POST /api/assist/{device}``: :mod:`printwatch.web.machine`) and the ``routes`` given beside
them (the dashboard's pages, :mod:`printwatch.web.dashboard.routes`), behind the
``middleware`` given; ``app.state.appliance`` is the running
:class:`~printwatch.service.appliance.Appliance`.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from printwatch.service.appliance import Appliance
from printwatch.web import machine
from printwatch.web.machine import health_of

__all__ = ["create_app", "health_of"]


def create_app(
    appliance: Appliance, *, routes: Sequence[BaseRoute] = (), middleware: Sequence[Middleware] = ()
) -> Starlette:
    """The appliance's app; ``routes`` (the dashboard's pages) are served beside its own."""
    app = Starlette(routes=[*machine.ROUTES, *routes], middleware=list(middleware))
    app.state.appliance = appliance
    return app
