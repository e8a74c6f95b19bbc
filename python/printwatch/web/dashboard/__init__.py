"""The dashboard: server-rendered pages on the appliance's web app (docs/dashboard.md).

``Dashboard.open(store, state_dir)`` then ``install(create_app(appliance), dashboard)``.
"""

from printwatch.web.dashboard.auth import PasswordFile, PasswordFileError
from printwatch.web.dashboard.data import DashboardData, FleetQuery
from printwatch.web.dashboard.routes import Dashboard, install
from printwatch.web.dashboard.sessions import LoginThrottle, Sessions

__all__ = [
    "Dashboard",
    "DashboardData",
    "FleetQuery",
    "LoginThrottle",
    "PasswordFile",
    "PasswordFileError",
    "Sessions",
    "install",
]
