"""What is true of a printer after a status poll: the conditions that alerts are made of.

Pure functions, one per kind, from a poll document (the shared contract) and the store's views.
Each gives :class:`Observation` values: ``on`` (the condition holds) or ``hold`` (in the dead
band between holding and cleared: an open alert stays open, a closed one stays closed); what
they do not mention is ``off`` (cleared) for the kinds the device was observed for this time
(the tracker fills those in, so a fleet of printers where all is well costs no objects). The
dead band is half of the hysteresis; :mod:`printwatch.alerts.tracker` adds the other half (an
alert opens after ``open_after`` polls ``on`` in a row and closes after ``clear_after_polls``
polls ``off`` in a row).

* ``supply_low`` (warning): on when the document's supply ``state`` is ``low`` or ``empty``
  (the poller applied the per-type threshold); off at or above threshold + margin, or (no
  percent) when the state is ``ok`` or ``some_remaining``.
* ``supply_empty`` (critical): on when ``state`` is ``empty``; off above the margin, or (no
  percent) at another known state.
* ``supply_runout`` (warning): on when ``supply_forecast.days_to_empty`` is within the reorder
  lead time; off without a forecast, or beyond 1.25 times the lead time plus a day.
* ``offline`` (critical): on when the printer did not answer; off when it did.
* ``fault`` (per subject): on for an error bit (``status.errors``) or a prtAlertTable entry
  that stops the printer or needs a person; off when it is gone.
* ``billing_read_missing`` (warning): on for a ``missed_reads`` row whose last meter read is
  older than ``billing_missing_hours``; off when the device is not in ``missed_reads``.

Subjects: the supply's index (``supply_*``), the error bit or ``code@group/location`` of the
alert-table entry (``fault``), ``""`` for device-wide kinds.

Error handling: missing or wrongly typed fields of a document give no observation for them
(never an exception): a document broken beyond that was refused by the store already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

State = Literal["on", "off", "hold"]

KINDS = ("supply_low", "supply_empty", "supply_runout", "offline", "fault", "billing_read_missing")
#: The kinds a document of an answering printer says everything about (tracked subjects it does
#: not mention are cleared).
DOCUMENT_KINDS = ("supply_low", "supply_empty", "fault")

#: hrPrinterDetectedErrorState bits that are faults, with their severity. lowToner and noToner
#: are left to the supply alerts, which say which supply.
FAULT_BITS: dict[str, str] = {
    "noPaper": "critical",
    "doorOpen": "critical",
    "jammed": "critical",
    "offline": "critical",
    "serviceRequested": "critical",
    "inputTrayMissing": "critical",
    "outputTrayMissing": "critical",
    "markerSupplyMissing": "critical",
    "outputFull": "critical",
    "inputTrayEmpty": "warning",
    "lowPaper": "warning",
    "outputNearFull": "warning",
    "overduePreventMaint": "warning",
}
#: prtAlertTable codes that are faults whatever their severity (a person must act).
FAULT_CODES = {
    "coverOpen",
    "interlockOpen",
    "jam",
    "doorOpen",
    "subunitMissing",
    "subunitLifeOver",
    "subunitRecoverableFailure",
    "subunitUnrecoverableFailure",
    "subunitMotorFailure",
    "inputMediaTrayMissing",
    "inputMediaSupplyEmpty",
    "inputManualInputRequest",
    "inputTrayPositionFailure",
    "inputTrayElevationFailure",
    "inputCannotFeedSizeSelected",
    "outputMediaTrayMissing",
    "outputMediaTrayFull",
    "markerFuserUnderTemperature",
    "markerFuserOverTemperature",
    "markerFuserTimingFailure",
    "markerFuserThermistorFailure",
    "markerTonerCartridgeMissing",
    "mediaPathMediaTrayMissing",
    "mediaPathMediaTrayFull",
}
#: prtAlertTable groups whose entries the supply alerts already cover.
SUPPLY_GROUPS = {"markerSupplies", "markerColorant"}
#: prtAlertTable codes that report something good or neutral (never a fault).
BENIGN_CODES = {
    "coverClosed",
    "interlockClosed",
    "doorClosed",
    "configurationChange",
    "subunitClosed",
    "subunitTurnedOn",
    "subunitPowerSaver",
    "subunitWarmingUp",
    "subunitAdded",
    "subunitResourceAdded",
    "poweredUp",
    "printerReadyToPrint",
    "inputManualInputRequestCleared",
    "markerAdjustingPrintQuality",
}
CLEARED_STATES = {"ok", "some_remaining"}


@dataclass(frozen=True)
class Observation:
    device_id: int
    kind: str
    subject: str
    state: State
    severity: str = "warning"
    detail: str = ""


@dataclass(frozen=True)
class Rules:
    """The numbers the rules use (from the configuration's ``[thresholds]`` and ``[alerts]``)."""

    low_percent: Mapping[str, float]  # by supply type, "default" for the rest
    clear_margin_percent: float = 5.0
    reorder_lead_days: float = 7.0
    billing_missing_hours: float = 24.0

    def low_for(self, supply_type: str | None) -> float:
        return float(self.low_percent.get(supply_type or "default", self.low_percent.get("default", 20.0)))


def _supply_name(s: Mapping[str, Any]) -> str:
    parts = [str(s.get("description") or f"supply {s.get('index')}")]
    extra = [str(x) for x in (s.get("type"), s.get("color")) if x]
    return f"{parts[0]} ({', '.join(extra)})" if extra else parts[0]


def _level_text(s: Mapping[str, Any]) -> str:
    percent = s.get("percent")
    if isinstance(percent, int | float) and not isinstance(percent, bool):
        return f"{percent:g}%"
    return str(s.get("state") or "unknown")


def _low_state(state: Any, percent: float | None, low: float, margin: float) -> State:
    """``supply_low`` of one supply: on when the printer says low or empty, off once the level
    is the clearing margin above the threshold, held in the dead band between."""
    if state in ("low", "empty"):
        return "on"
    if percent is not None:
        return "off" if percent >= low + margin else "hold"
    return "off" if state in CLEARED_STATES else "hold"


def _empty_state(state: Any, percent: float | None, margin: float) -> State:
    """``supply_empty`` of one supply: on when the printer says empty, off once the level is
    the clearing margin above zero, held in the dead band between."""
    if state == "empty":
        return "on"
    if percent is not None:
        return "off" if percent >= margin else "hold"
    return "off" if state in CLEARED_STATES or state == "low" else "hold"


def supply_observations(device_id: int, doc: Mapping[str, Any], rules: Rules) -> list[Observation]:
    """``supply_low`` and ``supply_empty`` for the supplies of an answering printer's document
    that are low, empty or in the dead band (the rest are ``off``)."""
    out: list[Observation] = []
    supplies = doc.get("supplies")
    if not isinstance(supplies, list):
        return out
    margin = rules.clear_margin_percent
    for s in supplies:
        if not isinstance(s, dict) or not isinstance(s.get("index"), int):
            continue
        if s.get("class") == "filled":
            continue  # a waste receptacle filling up is not "low"
        state = s.get("state")
        raw = s.get("percent")
        percent = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        if state in CLEARED_STATES and (percent is None or percent >= 50.0 + margin):
            continue  # the common case, cleared for every threshold there can be (up to 50%)
        low = rules.low_for(s.get("type"))
        low_state = _low_state(state, percent, low, margin)
        empty_state = _empty_state(state, percent, margin)
        subject = str(s["index"])
        if low_state != "off":
            detail = f"{_supply_name(s)} at {_level_text(s)} (low below {low:g}%)"
            out.append(Observation(device_id, "supply_low", subject, low_state, "warning", detail))
        if empty_state != "off":
            detail = f"{_supply_name(s)} is empty"
            out.append(Observation(device_id, "supply_empty", subject, empty_state, "critical", detail))
    return out


def fault_observations(device_id: int, doc: Mapping[str, Any]) -> list[Observation]:
    """``fault`` for each fault an answering printer's document reports (error bits, then the
    alert table); the subjects it does not report are cleared by the tracker."""
    found: dict[str, Observation] = {}
    status = doc.get("status")
    errors = status.get("errors") if isinstance(status, dict) else None
    for bit in errors if isinstance(errors, list) else []:
        if bit in FAULT_BITS:
            found[bit] = Observation(
                device_id, "fault", bit, "on", FAULT_BITS[bit], f"the printer reports {bit}"
            )
    alerts = doc.get("alerts")
    for a in alerts if isinstance(alerts, list) else []:
        if not isinstance(a, dict):
            continue
        code, group, severity = a.get("code"), a.get("group"), a.get("severity")
        if group in SUPPLY_GROUPS or code in BENIGN_CODES:
            continue
        if code not in FAULT_CODES and severity != "critical":
            continue
        subject = f"{code}@{group}/{a.get('location')}"
        text = a.get("description") or code
        level = "critical" if severity == "critical" or code in FAULT_CODES else "warning"
        found.setdefault(subject, Observation(device_id, "fault", subject, "on", level, f"alert: {text}"))
    return list(found.values())


def offline_observation(device_id: int, doc: Mapping[str, Any]) -> Observation | None:
    """``offline`` when the printer did not answer (None when it did: ``off``)."""
    if doc.get("reachable") is True:
        return None
    why = doc.get("error") or "no answer"
    return Observation(device_id, "offline", "", "on", "critical", f"no answer to the status poll ({why})")


def runout_horizon_days(rules: Rules) -> float:
    """Forecasts beyond this many days are cleared (the rest is on or in the dead band)."""
    return rules.reorder_lead_days * 1.25 + 1


def runout_observations(rows: Iterable[Mapping[str, Any]], rules: Rules) -> list[Observation]:
    """``supply_runout`` from ``supply_forecast`` rows (the latest row per device and index);
    no forecast (a replacement, a level not falling), already empty, or beyond the horizon is
    ``off``."""
    out = []
    lead = rules.reorder_lead_days
    for r in rows:
        days, percent = r.get("days_to_empty"), r.get("percent_now")
        if days is None or (percent is not None and percent <= 0) or days > runout_horizon_days(rules):
            continue
        state: State = "on" if days <= lead else "hold"
        name = _supply_name(
            {
                "description": r.get("description"),
                "index": r["supply_index"],
                "type": r.get("type"),
                "color": r.get("color"),
            }
        )
        empty_at = r.get("empty_at")
        when = empty_at.strftime("%Y-%m-%d") if isinstance(empty_at, dt.datetime) else "?"
        detail = f"{name} runs out in {days:.1f} days (about {when}; reorder lead time {lead:g} days)"
        out.append(
            Observation(
                int(r["device_id"]), "supply_runout", str(r["supply_index"]), state, "warning", detail
            )
        )
    return out


def billing_observations(
    missing: Mapping[int, Mapping[str, Any]], as_of: dt.datetime, rules: Rules
) -> list[Observation]:
    """``billing_read_missing`` for the polled devices in ``missing`` (their ``missed_reads``
    row, with ``since``: the last meter read or, without one, when the device was first seen):
    on when that is older than ``billing_missing_hours``, else in the dead band; a polled device
    not in ``missed_reads`` is ``off``."""
    out = []
    for device_id, row in missing.items():
        since = row.get("since")
        hours = (as_of - since).total_seconds() / 3600 if isinstance(since, dt.datetime) else 0.0
        if hours < rules.billing_missing_hours:
            out.append(Observation(device_id, "billing_read_missing", "", "hold"))
            continue
        last = row.get("last_meter_at")
        what = f"since {last:%Y-%m-%d %H:%M} UTC" if isinstance(last, dt.datetime) else "ever"
        detail = f"no billing meter read {what} ({hours:.0f} h)"
        out.append(Observation(device_id, "billing_read_missing", "", "on", "warning", detail))
    return out
