"""The ASGI app of the appliance (Starlette): an app factory that others extend.

* ``GET /health`` — JSON: ``status`` ``ok`` (or ``degraded``, with HTTP 503, when the status
  job has not completed a run for three of its intervals after the first), uptime, devices,
  and per job its runs, skipped slots, overruns, failures, last slot and next start. Behind the
  dashboard's gate, a request that may not read ``/metrics`` gets ``{"status": ...}`` alone
  (the gate sets ``health_detail`` in the request's state; without a gate, the full answer).
* ``GET /metrics`` — the Prometheus text format (see :mod:`printwatch.service.metrics`).
* ``POST /api/assist/{device}`` — call for assistance: an immediate full poll of the device
  (``host[:port]``, serial or sysName), its document as JSON; 404 for an unknown device.

The dashboard issue passes its routes (or mounts) to :func:`create_app`, or calls
``app.router.routes.append`` / ``app.mount`` on what it returns; ``app.state.appliance`` is the
running :class:`~printwatch.service.appliance.Appliance`.

Error handling: every handler answers (JSON errors with a status code); an exception inside one
is a 500 logged by the server, never a crash of the appliance.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from printwatch import __version__
from printwatch.service.appliance import Appliance
from printwatch.service.metrics import render_metrics

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _iso(value: object) -> str | None:
    return None if value is None else value.isoformat()  # type: ignore[attr-defined]


def health_of(app: Appliance) -> tuple[dict[str, object], int]:
    now = app.clock.now()
    stats = app.scheduler.statistics()
    jobs = {
        name: {
            "runs": s.runs,
            "skipped": s.skipped,
            "overruns": s.overruns,
            "failures": s.failures,
            "running": s.running,
            "last_slot": _iso(s.last_slot),
            "next_start": _iso(s.next_start),
        }
        for name, s in stats.items()
    }
    status = stats.get("status")
    interval_s = app.config.intervals.status_s
    age_s = (now - app.started).total_seconds()
    stale = status is not None and (
        (status.last_slot is None and age_s > 3 * interval_s)
        or (status.last_slot is not None and (now - status.last_slot).total_seconds() > 4 * interval_s)
    )
    body: dict[str, object] = {
        "status": "degraded" if stale else "ok",
        "version": __version__,
        "uptime_s": round(age_s, 3),
        "devices": len(app.devices()),
        "answering": sum(1 for d in app.fleet.values() if d.get("reachable")),
        "jobs": jobs,
    }
    return body, 503 if stale else 200


def create_app(appliance: Appliance, *, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The appliance's app; ``routes`` (the dashboard's pages) are served beside its own."""

    async def health(request: Request) -> Response:
        body, code = health_of(appliance)
        if not request.scope.get("state", {}).get("health_detail", True):
            body = {"status": body["status"]}
        return JSONResponse(body, status_code=code)

    async def metrics(_request: Request) -> Response:
        return PlainTextResponse(render_metrics(appliance), media_type=PROMETHEUS_TYPE)

    async def assist(request: Request) -> Response:
        device = request.path_params["device"]
        try:
            doc = await appliance.assist(device)
        except LookupError as err:
            return JSONResponse({"error": str(err)}, status_code=404)
        return JSONResponse(doc)

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/metrics", metrics),
            Route("/api/assist/{device:path}", assist, methods=["POST"]),
            *routes,
        ]
    )
    app.state.appliance = appliance
    return app
