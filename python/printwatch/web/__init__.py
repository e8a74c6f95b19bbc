"""The appliance's HTTP server: ``/health``, ``/metrics``, ``POST /api/assist/{device}``; the
dashboard mounts its pages on the same app (:func:`create_app` takes more routes)."""

from printwatch.web.app import create_app
from printwatch.web.server import serve_http

__all__ = ["create_app", "serve_http"]
