"""Alerts: supply low, empty or running out before a reorder arrives, a printer offline or at
fault, a billing read missing; kept in the store and sent by e-mail and webhooks.

See :mod:`printwatch.alerts.rules` (when a condition holds), :mod:`printwatch.alerts.tracker`
(hysteresis, the alert log), :mod:`printwatch.alerts.outbox` (notifications that survive a
server being down), :mod:`printwatch.alerts.service` (the appliance's side) and
docs/alerts.md.
"""

from printwatch.alerts.channels import DeliveryError
from printwatch.alerts.rules import KINDS, Observation, Rules
from printwatch.alerts.service import AlertService, AlertStats
from printwatch.alerts.tracker import Outcome

__all__ = ["KINDS", "AlertService", "AlertStats", "DeliveryError", "Observation", "Outcome", "Rules"]
