"""The settings a collector may set through its sync answer, and that the customer may lock
(``[uplink] locked``): the names the configuration checks a ``locked`` list against, and the
uplink's :mod:`printwatch.uplink.remote` validates a sync answer by. They live here, below both,
so that the configuration does not import the uplink."""

from __future__ import annotations

SERVICES = ("aggregates", "billing", "reorders", "assist")
THRESHOLDS = {"reorder_percent": (0.0, 100.0), "lead_time_days": (0.0, 365.0)}
#: The keys a collector may set (and the customer lock); a group locks its members.
LOCKABLE = (
    "upload_times", "budget_bytes_per_day", "billing", "services",
    *(f"services.{s}" for s in SERVICES), "thresholds", *(f"thresholds.{t}" for t in THRESHOLDS),
)  # fmt: skip
