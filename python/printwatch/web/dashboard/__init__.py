"""The dashboard: server-rendered pages on the appliance's web app (docs/dashboard.md).

``Dashboard.open(store, state_dir)`` then ``dashboard_app(dashboard, appliance)``; or
``web_setup(appliance, store, web, state_dir)`` for both and the TLS of ``[web]``.
"""

from printwatch.web.auth.passwords import PasswordFile, PasswordFileError
from printwatch.web.auth.sessions import LoginThrottle, Sessions
from printwatch.web.dashboard.data import DashboardData, FleetQuery
from printwatch.web.dashboard.serving import WebSetup, dashboard_app, web_setup
from printwatch.web.dashboard.state import Dashboard

__all__ = [
    "Dashboard",
    "DashboardData",
    "FleetQuery",
    "LoginThrottle",
    "PasswordFile",
    "PasswordFileError",
    "Sessions",
    "WebSetup",
    "dashboard_app",
    "web_setup",
]
