"""The appliance's answers for machines, module-level handlers on ``app.state.appliance``:

* ``GET /health`` — JSON: ``status`` ``ok`` (or ``degraded``, with HTTP 503, when the status
  job has not completed a run for three of its intervals after the first), uptime, devices,
  and per job its runs, skipped slots, overruns, failures, last slot and next start. Behind the
  dashboard's gate, a request that may not read ``/metrics`` gets ``{"status": ...}`` alone
  (the gate sets ``health_detail`` in the request's state; without a gate, the full answer).
* ``GET /metrics`` — the Prometheus text format (see :mod:`printwatch.service.metrics`), gzip
  to a client that takes it.
* ``POST /api/assist/{device}`` — call for assistance: an immediate full poll of the device
  (``host[:port]``, serial or sysName), its document as JSON; 404 for an unknown device.

Error handling: every handler answers (JSON errors with a status code); an exception inside one
is a 500 logged by the server, never a crash of the appliance (in ``/metrics`` once its pieces
are being sent: the response ends short).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from printwatch import __version__
from printwatch.service.appliance import Appliance
from printwatch.service.gzipped import accepts_gzip, gzip_member
from printwatch.service.metrics import exposition

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
VARY = {"Vary": "Accept-Encoding"}


def _iso(value: object) -> str | None:
    return None if value is None else value.isoformat()  # type: ignore[attr-defined]


def _stale(app: Appliance, now: dt.datetime, age_s: float) -> bool:
    """Whether the status job has missed its runs (see the module's docstring)."""
    status = app.scheduler.statistics().get("status")
    interval_s = app.config.intervals.status_s
    if status is None:
        return False
    if status.last_slot is None:
        return age_s > 3 * interval_s
    return (now - status.last_slot).total_seconds() > 4 * interval_s


def health_of(app: Appliance) -> tuple[dict[str, object], int]:
    """``/health``'s body and status code."""
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
    now = app.clock.now()
    age_s = (now - app.started).total_seconds()
    stale = _stale(app, now, age_s)
    body: dict[str, object] = {
        "status": "degraded" if stale else "ok",
        "version": __version__,
        "uptime_s": round(age_s, 3),
        "devices": len(app.devices()),
        "answering": app.answering,
        "jobs": jobs,
    }
    return body, 503 if stale else 200


def appliance_of(request: Request) -> Appliance:
    appliance: Appliance = request.app.state.appliance
    return appliance


async def health(request: Request) -> Response:
    body, code = health_of(appliance_of(request))
    if not request.scope.get("state", {}).get("health_detail", True):
        body = {"status": body["status"]}
    return JSONResponse(body, status_code=code)


async def metrics(request: Request) -> Response:
    """The exposition (:func:`~printwatch.service.metrics.exposition`: the appliance's values as
    of the request, the fleet's as of its last complete cycle where one is kept) as one gzip
    member with its length to a client that takes gzip, else as text a piece at a time, without
    a length. Both are made before the response begins (an error is a 500); the plain text is
    the kept part decompressed. ``HEAD`` makes nothing (no length, no encoding)."""
    if request.method == "HEAD":
        return Response(media_type=PROMETHEUS_TYPE, headers=VARY)
    head, fleet = await exposition(appliance_of(request))
    if accepts_gzip(", ".join(request.headers.getlist("accept-encoding"))):
        body = b"".join(gzip_member(head, fleet))
        return Response(body, media_type=PROMETHEUS_TYPE, headers={**VARY, "Content-Encoding": "gzip"})

    async def pieces() -> AsyncIterator[bytes]:
        yield head.encode()
        for piece in fleet.plain():
            yield piece

    return StreamingResponse(pieces(), media_type=PROMETHEUS_TYPE, headers=VARY)


async def assist(request: Request) -> Response:
    device = request.path_params["device"]
    try:
        doc = await appliance_of(request).assist(device)
    except LookupError as err:
        return JSONResponse({"error": str(err)}, status_code=404)
    return JSONResponse(doc)


ROUTES: list[BaseRoute] = [
    Route("/health", health),
    Route("/metrics", metrics),
    Route("/api/assist/{device:path}", assist, methods=["POST"]),
]
