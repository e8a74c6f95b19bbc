"""The public SQL views: a contract that users query (documented in docs/store.md).

They are recreated each time the writer opens the store, so a new printwatch can fix a view
without a migration; their columns only ever grow.
"""

from __future__ import annotations

VIEWS: dict[str, str] = {
    "devices_view_state": """
        SELECT d.*, s.target, s.last_poll_at, s.last_ok_at, s.last_meter_at, s.reachable, s.error,
               s.status_device, s.status_printer, s.errors, s.consecutive_misses, s.rtt_ms, s.uptime_s
        FROM device_registry d LEFT JOIN device_state s USING (device_id)
    """,
    "devices": """
        SELECT device_id, identity, serial, mac, vendor, model, sys_name, address, a.addresses,
               site, first_seen, greatest(last_seen, coalesce(last_ok_at, last_seen)) AS last_seen,
               CASE WHEN gone_at IS NOT NULL THEN 'gone'
                    WHEN reachable IS NULL THEN 'unknown'
                    WHEN NOT reachable THEN 'offline'
                    ELSE coalesce(status_device, 'unknown') END AS state,
               status_printer, errors, gone_at, gone_reason, manual, last_poll_at, last_meter_at
        FROM devices_view_state v LEFT JOIN (
            SELECT device_id, list(address ORDER BY address) AS addresses FROM device_addresses
            WHERE released_at IS NULL GROUP BY device_id
        ) a USING (device_id)
    """,
    "supply_levels_all": """
        SELECT * FROM supply_levels UNION ALL SELECT * FROM supply_levels_days
        UNION ALL SELECT * FROM supply_levels_recent
    """,
    "supply_history": """
        SELECT s.device_id, s.supply_id, s.supply_index, s.description, s.type, s.class, s.color, s.unit,
               l.time, l.level, l.max_capacity, l.percent, l.state
        FROM supply_levels_all l JOIN supplies s USING (supply_id)
    """,
    "meter_reads_all": """
        SELECT * FROM meter_reads UNION ALL SELECT * FROM meter_reads_days
        UNION ALL SELECT * FROM meter_reads_recent
    """,
    "meter_history": """
        SELECT m.device_id, m.meter, r.time, r.value, m.oid, coalesce(r.raw, r.value) AS raw, m.rule
        FROM meter_reads_all r JOIN meter_sources m USING (source_id)
    """,
    # Named counters (migration 6): every counter a device names, with its own name and OID.
    "counter_history": """
        SELECT c.device_id, c.name, c.oid, c.source, c.unit, r.time, r.value
        FROM meter_reads_all r JOIN counter_sources c USING (source_id)
    """,
    "device_counters": """
        SELECT c.device_id, c.name, c.oid, c.source, c.unit, l.value, l.time
        FROM meter_latest l JOIN counter_sources c USING (source_id)
    """,
    # Pages come from the 'total' meter, or black + color where a device has no total. A step
    # counts when the meter went forward by no more than max_pages_per_minute per elapsed minute;
    # steps that go backwards (reset, board swap) or jump are left out (see meter_events).
    # Closed days are rolled up into pages_daily by the daily upkeep; pages_steps_live counts the
    # rest from the reads since pages_rolled_until, seeded with pages_frontier.
    "pages_sources": """
        SELECT s.source_id, s.device_id, s.meter FROM meter_sources s
        WHERE s.meter = 'total'
           OR (s.meter IN ('black', 'color') AND NOT EXISTS (
                SELECT 1 FROM meter_sources t WHERE t.device_id = s.device_id AND t.meter = 'total'))
    """,
    "pages_steps_live": """
        WITH cut AS (SELECT value::TIMESTAMP_S AS t FROM settings WHERE key = 'pages_rolled_until'),
        chosen AS (
            SELECT p.device_id, p.meter, r.time, r.value
            FROM meter_reads_all r JOIN pages_sources p USING (source_id), cut
            WHERE r.time >= cut.t
            UNION ALL
            SELECT device_id, meter, time, value FROM pages_frontier
        ), steps AS (
            SELECT device_id, meter, time,
                   value - lag(value) OVER w AS delta,
                   epoch(time - lag(time) OVER w) / 60.0 AS minutes
            FROM chosen WINDOW w AS (PARTITION BY device_id, meter ORDER BY time)
        )
        SELECT device_id, meter, time, delta, minutes,
               delta >= 0 AND delta <= (SELECT value::DOUBLE FROM settings WHERE key = 'max_pages_per_minute')
                                        * greatest(minutes, 1) AS valid
        FROM steps WHERE delta IS NOT NULL
    """,
    "pages_live_per_day": """
        SELECT device_id, time::DATE AS day,
               sum(CASE WHEN valid THEN delta ELSE 0 END)::BIGINT AS pages,
               count(*) FILTER (WHERE NOT valid) AS discarded_steps
        FROM pages_steps_live GROUP BY ALL
    """,
    "pages_per_day": """
        SELECT device_id, day, pages, discarded_steps FROM pages_daily
        UNION ALL
        SELECT device_id, day, pages, discarded_steps FROM pages_live_per_day
    """,
    # Ordinary least squares of percent over time on the supply_history rows since the last
    # replacement (a rise of replacement_jump_percent or more); null with fewer than 3 rows or
    # less than a day of history, or when the level is not falling.
    "supply_forecast": """
        WITH fit AS (
            SELECT l.*, s.device_id, s.supply_index, s.description, s.type, s.color,
                   (fit_n * fit_stt - fit_st * fit_st) AS den
            FROM supply_latest l JOIN supplies s USING (supply_id)
        ), slope AS (
            SELECT *, CASE WHEN fit_n >= 3 AND fit_t_last_d >= 1 AND den > 0
                           THEN (fit_n * fit_stp - fit_st * fit_sp) / den END AS per_day
            FROM fit
        )
        SELECT device_id, supply_id, supply_index, description, type, color, percent AS percent_now,
               time AS as_of, cycle_start AS since_replacement, fit_n AS points,
               CASE WHEN per_day < 0 THEN -per_day END AS burn_percent_per_day,
               CASE WHEN per_day < 0 AND percent IS NOT NULL THEN percent / -per_day END AS days_to_empty,
               CASE WHEN per_day < 0 AND percent IS NOT NULL
                    THEN time + to_microseconds((percent / -per_day * 86400e6)::BIGINT) END AS empty_at
        FROM slope
    """,
    # A device's meter read is expected every poll_interval_s; it is missed when the last one is
    # older than 1.5 intervals before the store's latest poll (or never came).
    "missed_reads": """
        WITH now_ AS (SELECT max(last_poll_at) AS t FROM device_state),
             iv AS (SELECT value::DOUBLE AS s FROM settings WHERE key = 'poll_interval_s')
        SELECT d.device_id, d.serial, d.address, d.last_poll_at, d.last_meter_at,
               d.last_meter_at + to_microseconds((iv.s * 1e6)::BIGINT) AS expected_at,
               d.consecutive_misses AS missed_polls, d.error
        FROM devices_view_state d, now_, iv
        WHERE d.gone_at IS NULL AND d.last_poll_at IS NOT NULL
          AND (d.last_meter_at IS NULL OR epoch(now_.t - d.last_meter_at) > 1.5 * iv.s)
    """,
    # Every alert, open (closed_at null) and closed, with the identity of its device.
    "alerts": """
        SELECT a.alert_id, a.device_id, d.serial, d.address, d.sys_name, d.vendor, d.model, d.site,
               a.kind, a.subject, a.severity, a.closed_at IS NULL AS open, a.opened_at, a.closed_at,
               a.last_seen, a.detail, a.notified_at
        FROM alert_log a LEFT JOIN device_registry d USING (device_id)
    """,
}

PUBLIC_VIEWS = (
    "devices",
    "supply_history",
    "meter_history",
    "pages_per_day",
    "supply_forecast",
    "missed_reads",
    "alerts",
    "counter_history",
    "device_counters",
)
