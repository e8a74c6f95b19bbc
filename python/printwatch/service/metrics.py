"""``/metrics``: the appliance and its fleet in the Prometheus text format (version 0.0.4).

Every name starts with ``printwatch_``. The appliance: per job (label ``job``) runs, skipped
slots, overruns, failures, whether it runs now, the last run's duration and the share of its
budget it used, the last slot's time; the poller's targets, answers, timeouts, packets and
bytes, and the datagrams its engine dropped by why (late, duplicate, spoofed, unexpected,
malformed) and the sends the system refused; queue lengths (targets in flight, documents
waiting for their write, uplink items pending); its resident memory; the alerts (open, opened,
closed; notifications sent, failed, pending). The fleet, from each device's latest poll
document: up, round-trip time, device and printer state, supply percent, page meters.

The fleet's families are most of a scrape (7.5 MB at 10,000 printers) and change once a cycle:
they are compressed once per cycle (:func:`fleet_families`) and sent as they are to a client
that takes gzip (Prometheus does), or decompressed a piece at a time for one that does not; the
appliance's own families are made at every scrape.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import trio

from printwatch.service.appliance import Appliance
from printwatch.service.exposition import Family, fleet_chunks
from printwatch.service.gzipped import Deflated
from printwatch.service.memory import resident_bytes


def _fam(name: str, kind: str, help_text: str) -> Family:
    return Family(f"printwatch_{name}", kind, help_text)


def _single(name: str, kind: str, value: float | bool | None, help_text: str) -> Family:
    """A family of one unlabelled sample."""
    fam = _fam(name, kind, help_text)
    fam.add(value)
    return fam


def _appliance_families(app: Appliance) -> list[Family]:
    f = {
        "runs": _fam("job_runs_total", "counter", "Runs of each scheduled job since start."),
        "skipped": _fam("job_skipped_total", "counter", "Slots skipped because the previous run overran."),
        "overruns": _fam("job_overruns_total", "counter", "Runs that took longer than their budget."),
        "failures": _fam("job_failures_total", "counter", "Runs that ended with an error."),
        "running": _fam("job_running", "gauge", "1 while the job runs."),
        "duration": _fam("job_last_duration_seconds", "gauge", "Duration of the job's last run."),
        "cpu": _fam("job_last_cpu_seconds", "gauge", "The process's CPU seconds during the job's last run."),
        "budget": _fam("job_budget_used_ratio", "gauge", "Last run's duration over its budget."),
        "slot": _fam("job_last_slot_timestamp_seconds", "gauge", "The slot the last run served."),
        "next": _fam("job_next_start_timestamp_seconds", "gauge", "When the job runs next."),
    }
    for name, s in app.scheduler.statistics().items():
        f["runs"].add(s.runs, job=name)
        f["skipped"].add(s.skipped, job=name)
        f["overruns"].add(s.overruns, job=name)
        f["failures"].add(s.failures, job=name)
        f["running"].add(s.running, job=name)
        f["duration"].add(s.last_duration_s, job=name)
        f["cpu"].add(s.last_cpu_s, job=name)
        f["budget"].add(s.last_budget_used, job=name)
        f["slot"].add(s.last_slot.timestamp() if s.last_slot else None, job=name)
        f["next"].add(s.next_start.timestamp() if s.next_start else None, job=name)
    p = app.poller.statistics()
    out = list(f.values())
    dropped = _fam(
        "poll_answers_dropped_total",
        "counter",
        "Datagrams the engine counted and dropped: late, duplicate, spoofed (another address or "
        "port than asked), unexpected (no request of it), malformed.",
    )
    for kind, count in sorted(p.dropped.items()):
        dropped.add(count, reason=kind)
    out.append(dropped)
    out.append(_single("poll_send_errors_total", "counter", p.send_errors, "SNMP sends the system refused."))
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
        ("resident_memory_bytes", "gauge", resident_bytes(), "The appliance process's resident memory."),
    ]:
        out.append(_single(name, kind, value, help_text))
    store = getattr(app.sink, "store", None)  # the DuckDB history (not the tests' memory sink)
    if store is not None:
        out.append(
            _single(
                "store_renewals_total",
                "counter",
                store.renewals,
                "Times the history's database was closed and opened again (daily, and after writes "
                "that grew the process's memory).",
            )
        )
    if app.alerts is not None:
        a = app.alerts.statistics()
        for name, kind, value, help_text in [
            ("alerts_open", "gauge", a.open, "Alerts open after the last evaluation."),
            ("alerts_opened_total", "counter", a.opened, "Alerts opened since start."),
            ("alerts_closed_total", "counter", a.closed, "Alerts closed since start."),
            ("alert_notifications_sent_total", "counter", a.sent, "Notifications delivered since start."),
            ("alert_notification_failures_total", "counter", a.failed_tries, "Tries that failed (retried)."),
            ("alert_notifications_pending", "gauge", a.pending, "Queue: notifications not delivered yet."),
        ]:
            out.append(_single(name, kind, value, help_text))
    return out


#: Devices whose lines of one family make one piece of the fleet's text while it is compressed:
#: at 10,000 printers, a piece a family, 3 MB at most.
PIECE_DEVICES = 20_000


class _Kept:
    """What the metrics keep of one appliance's fleet view between scrapes: its targets sorted
    and its families' text, each with the fleet version it is of, and the lock of the one
    build of that text at a time."""

    def __init__(self) -> None:
        self.order: tuple[int, list[str]] | None = None
        self.text: tuple[int, Deflated] | None = None
        self.lock = trio.Lock()

    def text_of(self, version: int) -> Deflated | None:
        return self.text[1] if self.text is not None and self.text[0] == version else None


_kept: dict[int, _Kept] = {}  # id(appliance) -> its kept parts


def _kept_of(app: Appliance) -> _Kept:
    kept = _kept.get(id(app))
    if kept is None:
        _kept.clear()  # one appliance per process; tests make many
        kept = _kept[id(app)] = _Kept()
    return kept


def _ordered_fleet(app: Appliance) -> list[dict[str, Any]]:
    """The fleet view's entries by target, as they are now: the targets sorted once per change
    of the fleet view (only the names are kept: entries a cycle replaced are not held)."""
    kept = _kept_of(app)
    if kept.order is None or kept.order[0] != app.fleet_version:
        kept.order = (app.fleet_version, sorted(app.fleet))
    fleet = app.fleet
    return [entry for entry in map(fleet.get, kept.order[1]) if entry is not None]


def head_text(app: Appliance) -> str:
    """The appliance's own families, as they are now, ending with a newline."""
    return "\n".join(line for family in _appliance_families(app) for line in family.render()) + "\n"


def _fleet_pieces(ordered: list[dict[str, Any]]) -> Iterator[str]:
    yield from fleet_chunks(ordered, per_chunk=PIECE_DEVICES)
    yield "\n"


async def fleet_families(app: Appliance) -> Deflated:
    """The fleet's families (ending with a newline), compressed, as the last cycle left the fleet
    view: made once per cycle, in a worker thread, at the first scrape after it (at 10,000
    printers 7.75 MB of text, 0.75 MB compressed, 26-31 ms, half of it holding the GIL), and
    kept until the next cycle has changed the view; one build at a time (scrapes that come
    meanwhile wait for it). A scrape while a cycle replaces entries gets the kept text of the
    cycle before; with none kept (no scrape since), the entries as they are then (some
    replaced, some not), not kept."""
    kept = _kept_of(app)
    text = kept.text_of(app.fleet_version)
    if text is not None:
        return text
    async with kept.lock:
        text = kept.text_of(app.fleet_version)
        if text is not None:
            return text  # made while this scrape waited
        version, complete = app.fleet_version, app.fleet_writers == 0
        ordered = _ordered_fleet(app)  # the entries themselves: a cycle replaces them, never changes one
        deflated = await trio.to_thread.run_sync(Deflated, _fleet_pieces(ordered))
        if complete:
            kept.text = (version, deflated)
        return deflated


async def exposition(app: Appliance) -> tuple[str, Deflated]:
    """A scrape: the appliance's families as they are now, and the fleet's
    (:func:`fleet_families`). Sent as one gzip member (:func:`~printwatch.service.gzipped.gzip_member`:
    the fleet's part is not compressed again) or as text a piece at a time."""
    fleet = await fleet_families(app)
    return head_text(app), fleet


def render_metrics(app: Appliance) -> str:
    """The whole exposition as one string, ending with a newline: the fleet as it is now."""
    return head_text(app) + "".join(_fleet_pieces(_ordered_fleet(app)))
