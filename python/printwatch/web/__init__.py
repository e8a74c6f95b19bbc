"""The appliance's web layer: the app (:func:`create_app`: ``/health``, ``/metrics``,
``POST /api/assist/{device}``, and the dashboard's pages given to it), its server
(:func:`serve_http`), and the templates' shared layout (:mod:`printwatch.web.templating`)."""

from printwatch.web.app import create_app
from printwatch.web.server import http_server, serve_http

__all__ = ["create_app", "http_server", "serve_http"]
