"""``/metrics``: the appliance and its fleet in the Prometheus text format (version 0.0.4).

Every name starts with ``printwatch_``. The appliance: per job (label ``job``) runs, skipped
slots, overruns, failures, whether it runs now, the last run's duration and the share of its
budget it used, the last slot's time; the poller's targets, answers, timeouts, packets and
bytes; queue lengths (targets in flight, documents waiting for their write, uplink items
pending). The fleet, from each device's latest poll document: up, round-trip time, device and
printer state, supply percent, page meters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from printwatch.service.appliance import Appliance
from printwatch.service.fairness import give_way

#: Devices rendered between two checkpoints (about 1 ms of the loop's time).
DEVICES_PER_STEP = 200

_DEVICE_STATES = ("running", "warning", "testing", "down", "unknown")


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, Any]) -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels.items() if v is not None]
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name = f"printwatch_{name}"
        self.kind = kind
        self.help = help_text
        self.samples: list[tuple[dict[str, Any], float]] = []

    def add(self, value: float | None, **labels: Any) -> None:
        if value is not None:
            self.samples.append((labels, value))

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.samples:
            yield f"{self.name}{_labels(labels)} {_number(value)}"


def _appliance_families(app: Appliance) -> list[_Family]:
    f = {
        "runs": _Family("job_runs_total", "counter", "Runs of each scheduled job since start."),
        "skipped": _Family("job_skipped_total", "counter", "Slots skipped because the previous run overran."),
        "overruns": _Family("job_overruns_total", "counter", "Runs that took longer than their budget."),
        "failures": _Family("job_failures_total", "counter", "Runs that ended with an error."),
        "running": _Family("job_running", "gauge", "1 while the job runs."),
        "duration": _Family("job_last_duration_seconds", "gauge", "Duration of the job's last run."),
        "budget": _Family("job_budget_used_ratio", "gauge", "Last run's duration over its budget."),
        "slot": _Family("job_last_slot_timestamp_seconds", "gauge", "The slot the last run served."),
        "next": _Family("job_next_start_timestamp_seconds", "gauge", "When the job runs next."),
    }
    for name, s in app.scheduler.statistics().items():
        f["runs"].add(s.runs, job=name)
        f["skipped"].add(s.skipped, job=name)
        f["overruns"].add(s.overruns, job=name)
        f["failures"].add(s.failures, job=name)
        f["running"].add(s.running, job=name)
        f["duration"].add(s.last_duration_s, job=name)
        f["budget"].add(s.last_budget_used, job=name)
        f["slot"].add(s.last_slot.timestamp() if s.last_slot else None, job=name)
        f["next"].add(s.next_start.timestamp() if s.next_start else None, job=name)
    p = app.poller.statistics()
    out = list(f.values())
    for name, kind, value, help_text in [
        ("poll_cycles_total", "counter", p.cycles, "Poll cycles (status, meters, billing, assist)."),
        ("poll_targets_total", "counter", p.targets, "Devices polled."),
        ("poll_answered_total", "counter", p.answered, "Polls answered."),
        ("poll_timeouts_total", "counter", p.timeouts, "Polls that timed out."),
        ("poll_packets_sent_total", "counter", p.packets_sent, "SNMP packets sent."),
        ("poll_packets_received_total", "counter", p.packets_received, "SNMP packets received."),
        ("poll_bytes_sent_total", "counter", p.bytes_sent, "SNMP payload bytes sent."),
        ("poll_bytes_received_total", "counter", p.bytes_received, "SNMP payload bytes received."),
        ("poll_last_cycle_seconds", "gauge", p.last_cycle_s, "Wall time of the last poll cycle."),
        ("poll_in_flight", "gauge", p.in_flight, "Queue: devices of the running cycle not finished."),
        (
            "store_pending_documents",
            "gauge",
            app.sink_stats.pending,
            "Queue: documents waiting for their write.",
        ),
        ("store_writes_total", "counter", app.sink_stats.writes, "Cycle writes to the history."),
        ("store_documents_total", "counter", app.sink_stats.documents, "Poll documents written."),
        ("store_last_write_seconds", "gauge", app.sink_stats.last_write_s, "Duration of the last write."),
        ("uplink_pending", "gauge", app.uplink.pending(), "Queue: items waiting for the uplink."),
        ("devices", "gauge", len(app.devices()), "Devices known (configured and discovered)."),
    ]:
        fam = _Family(name, kind, help_text)
        fam.add(value)
        out.append(fam)
    return out


async def _fleet_families(fleet: dict[str, dict[str, Any]]) -> list[_Family]:
    up = _Family("device_up", "gauge", "1 if the device answered its last poll.")
    rtt = _Family("device_rtt_seconds", "gauge", "Round-trip time of the last poll's first answer.")
    state = _Family("device_state", "gauge", "1 for the device's status (hrDeviceStatus) in its last poll.")
    supply = _Family("supply_percent", "gauge", "Supply level in percent (only where the level is known).")
    pages = _Family("pages_total", "counter", "Page meters by meter name (total, black, color, ...).")
    for n, (target, doc) in enumerate(sorted(fleet.items())):
        if n % DEVICES_PER_STEP == DEVICES_PER_STEP - 1:
            await give_way()  # the loop serves other requests between steps
        serial = doc.get("serial")
        up.add(bool(doc.get("reachable")), target=target, serial=serial)
        if not doc.get("reachable"):
            continue
        if isinstance(doc.get("rtt_ms"), int | float):
            rtt.add(doc["rtt_ms"] / 1000.0, target=target)
        device = doc.get("device_state")
        if device in _DEVICE_STATES:
            for s in _DEVICE_STATES:
                state.add(s == device, target=target, state=s)
        for item in doc.get("supplies") or ():
            if isinstance(item.get("percent"), int | float):
                supply.add(
                    item["percent"],
                    target=target,
                    index=item.get("index"),
                    description=item.get("description"),
                    type=item.get("type"),
                    color=item.get("color"),
                )
        for meter, value in (doc.get("meters") or {}).items():
            if isinstance(value, int):
                pages.add(value, target=target, meter=meter)
    return [up, rtt, state, supply, pages]


_fleet_cache: dict[int, tuple[int, str]] = {}  # id(appliance) -> (fleet version, text)


async def _fleet_text(app: Appliance) -> str:
    """The fleet's part, rendered once per change of the fleet view (it is most of the text)."""
    cached = _fleet_cache.get(id(app))
    if cached is None or cached[0] != app.fleet_version:
        version = app.fleet_version
        families = await _fleet_families(dict(app.fleet))
        text = "\n".join(line for family in families for line in family.render())
        cached = (version, text)
        _fleet_cache.clear()  # one appliance per process; tests make many
        _fleet_cache[id(app)] = cached
    return cached[1]


async def render_metrics(app: Appliance) -> str:
    """The whole exposition, ending with a newline."""
    fleet = await _fleet_text(app)
    lines = [line for family in _appliance_families(app) for line in family.render()]
    return "\n".join([*lines, fleet]) + "\n"
