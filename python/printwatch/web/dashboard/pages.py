"""The dashboard's pages as HTML, each a function of what :mod:`.data` read (no I/O here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from printwatch.uplink.log import Entry as UplinkEntry
from printwatch.web.dashboard.charts import Series, colour_of, line_chart
from printwatch.web.dashboard.data import PAGE_SIZES, PAGES_DAYS, STATES, FleetPage, SupplyBar
from printwatch.web.dashboard.html import ago, aware, csrf_field, e, page, qs, state_badge, utc
from printwatch.web.dashboard.sweep import LIMIT_S, MAX_ADDRESSES, SweepResult

LOW_PERCENT = 20.0
_EMPTY = '<tr><td colspan="{}" class="muted">{}</td></tr>'


def login_page(token: str, *, error: str = "", user: str = "admin", next_path: str | None = None) -> str:
    err = f'<p class="error">{e(error)}</p>' if error else ""
    action = "/login?" + qs(next=next_path) if next_path else "/login"
    body = (
        f'<form method="post" action="{e(action)}" class="login">{err}{csrf_field(token)}'
        '<label for="user">User</label>'
        f'<input id="user" name="user" value="{e(user)}" autocomplete="username">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" autofocus>'
        '<button type="submit">Log in</button></form>'
    )
    return page("Log in", body, csrf=None)


def password_page(csrf: str, *, must_change: bool, error: str = "", done: str = "") -> str:
    why = (
        '<p class="flash">This is the first-run password: choose your own before going on.</p>'
        if must_change
        else ""
    )
    err = f'<p class="error">{e(error)}</p>' if error else ""
    ok = f'<p class="flash">{e(done)}</p>' if done else ""
    body = (
        f'{why}{err}{ok}<form method="post" action="/settings/password" class="form">{csrf_field(csrf)}'
        '<label for="current">Current password</label>'
        '<input id="current" name="current" type="password" autocomplete="current-password">'
        '<label for="new">New password (10 characters or more)</label>'
        '<input id="new" name="new" type="password" autocomplete="new-password">'
        '<label for="again">New password again</label>'
        '<input id="again" name="again" type="password" autocomplete="new-password">'
        '<p><button type="submit">Change password</button></p></form>'
    )
    return page("Settings", body, csrf=csrf, active="/settings")


def _num(value: object, fmt: str) -> str:
    return "" if value is None else fmt.format(value)


def _bar(s: SupplyBar) -> str:
    name = (s.color or s.description or "").lower()
    cls = next((c for c in ("black", "cyan", "magenta", "yellow") if c in name), "other")
    title = f"{s.description}: " + (f"{s.percent:.0f}%" if s.percent is not None else "level unknown")
    if s.days_to_empty is not None:
        title += f", empty in {s.days_to_empty:.0f} days"
    if s.percent is None:
        return f'<span class="bar unknown" title="{e(title)}"></span>'
    low = " low" if s.percent <= LOW_PERCENT else ""
    width = max(0.0, min(100.0, s.percent))
    return (
        f'<span class="bar{low}" title="{e(title)}"><i class="c-{cls}" style="width:{width:.0f}%"></i></span>'
    )


def fleet_page(p: FleetPage, csrf: str, now: dt.datetime) -> str:
    q = p.query

    def link(**change: object) -> str:
        params: dict[str, object] = {
            "q": q.text,
            "state": q.state,
            "sort": q.sort,
            "dir": "desc" if q.descending else "",
            "per": q.per_page if q.per_page != 50 else "",
            "page": "",
        }
        params.update(change)
        return "/fleet?" + qs(**params)

    def head(label: str, key: str, cls: str = "") -> str:
        sorted_ = q.sort == key
        desc = sorted_ and not q.descending
        classes = " ".join(
            c for c in ("sorted" if sorted_ else "", "desc" if sorted_ and q.descending else "") if c
        )
        return (
            f'<th class="{cls}"><a href="{e(link(sort=key, dir="desc" if desc else ""))}"'
            f' class="{classes}">{label}</a></th>'
        )

    options = "".join(
        f'<option value="{s}"{" selected" if q.state == s else ""}>{s or "every state"}</option>'
        for s in ("", "problem", *STATES)
    )
    per = "".join(f"<option{' selected' if q.per_page == n else ''}>{n}</option>" for n in PAGE_SIZES)
    chips = " ".join(
        f'<a href="{e(link(state=s))}">{e(s)} {n:,}</a>'
        for s, n in sorted(p.states.items(), key=lambda x: -x[1])
    )
    filters = (
        '<form method="get" action="/fleet" class="filters" data-autosubmit>'
        f'<input type="search" name="q" value="{e(q.text)}" placeholder="name, address, serial, model">'
        f'<select name="state">{options}</select><select name="per">{per}</select>'
        f'<input type="hidden" name="sort" value="{e(q.sort)}">'
        + ('<input type="hidden" name="dir" value="desc">' if q.descending else "")
        + '<button type="submit">Filter</button></form>'
        f'<p class="chips muted">{p.fleet:,} printers: {chips}</p>'
    )
    rows = []
    for r in p.rows:
        bars = "".join(_bar(s) for s in r.supplies) or '<span class="muted">none</span>'
        ppd = f"{r.pages_per_day:,.0f}" if r.pages_per_day is not None else ""
        errs = f' <span class="muted">{e(", ".join(r.errors))}</span>' if r.errors else ""
        rows.append(
            f'<tr><td><a href="/printer/{r.device_id}">{e(r.name)}</a></td><td>{e(r.address)}</td>'
            f"<td>{e(' '.join(x for x in (r.vendor, r.model) if x))}</td>"
            f"<td>{state_badge(r.state)}{errs}</td>"
            f'<td><span class="bars">{bars}</span></td><td class="num">{ppd}</td>'
            f'<td title="{e(utc(r.last_seen))}">{e(ago(r.last_seen, now))}</td></tr>'
        )
    table = (
        "<table id=fleet><thead><tr>"
        + head("Printer", "name")
        + head("Address", "address")
        + head("Model", "model")
        + head("State", "state")
        + head("Supplies", "supply")
        + head(f"Pages/day ({PAGES_DAYS} d)", "pages", "num")
        + head("Last seen", "last_seen")
        + "</tr></thead><tbody>"
        + ("".join(rows) or '<tr><td colspan="7" class="muted">No printer matches.</td></tr>')
        + "</tbody></table>"
    )
    first = (q.page - 1) * q.per_page + 1 if p.total else 0
    last = min(p.total, q.page * q.per_page)
    prev = f'<a href="{e(link(page=q.page - 1))}" rel="prev">previous</a>' if q.page > 1 else ""
    nxt = f'<a href="{e(link(page=q.page + 1))}" rel="next">next</a>' if q.page < p.pages else ""
    pager = (
        f'<div class="pager">{prev}<span>{first:,}-{last:,} of {p.total:,} '
        f"(page {q.page:,} of {p.pages:,})</span>{nxt}</div>"
    )
    conflicts = "".join(
        f"<p class=error>Serial conflict: {e(c)}. Its reads are kept apart until an admin decides "
        "(<code>store.resolve_conflict</code>, see docs/store.md).</p>"
        for c in p.conflicts
    )
    return page("Fleet", conflicts + filters + table + pager, csrf=csrf, active="/fleet")


def supply_chart(
    history: Sequence[tuple[int, dt.datetime, float]],
    forecasts: Sequence[dict[str, Any]],
    since: dt.datetime,
    now: dt.datetime,
) -> str:
    """Supply levels since ``since`` with each forecast's dashed line to empty (to 60 days ahead)."""
    horizon = now + dt.timedelta(days=14)
    series = []
    for n, f in enumerate(forecasts):
        index = f["supply_index"]
        points = [(t, pct) for i, t, pct in history if i == index]
        colour = colour_of(f.get("color") or f.get("description"), n, grey=True)
        forecast = None
        note = "no forecast yet"
        if f.get("empty_at") is not None and f.get("percent_now") is not None and f.get("as_of") is not None:
            empty_at = aware(f["empty_at"])
            forecast = ((aware(f["as_of"]), float(f["percent_now"])), (empty_at, 0.0))
            note = f"empty {utc(empty_at)[:10]} ({f['days_to_empty']:.0f} days)"
            horizon = max(horizon, min(empty_at, now + dt.timedelta(days=60)))
        elif f.get("percent_now") is None:
            note = "level unknown"
        series.append(Series(str(f.get("description") or f"supply {index}"), colour, points, forecast, note))
    return line_chart(
        series, title="Supply levels (%) and forecast to empty", x_from=since, x_to=horizon, y_from=0,
        y_to=100, y_unit="%", now=now,
    )  # fmt: skip


def meter_chart(history: Sequence[tuple[str, dt.datetime, int]], since: dt.datetime, now: dt.datetime) -> str:
    names = list(dict.fromkeys(m for m, _, _ in history))
    series = [
        Series(name, colour_of(None, n), [(t, float(v)) for m, t, v in history if m == name])
        for n, name in enumerate(names)
    ]
    return line_chart(series, title="Meters (pages)", x_from=since, x_to=now, now=now)


def printer_page(
    dev: dict[str, Any],
    *,
    forecasts: Sequence[dict[str, Any]],
    supply_svg: str,
    meter_svg: str,
    meters: Sequence[dict[str, Any]],
    pages: Sequence[tuple[dt.date, int]],
    alerts: Sequence[dict[str, Any]] | None,
    csrf: str,
    now: dt.datetime,
) -> str:
    name = dev.get("sys_name") or dev.get("address") or dev.get("identity")
    fields = [
        ("State", state_badge(dev.get("state")) + (f" {e(', '.join(dev.get('errors') or []))}")),
        ("Printer status", e(dev.get("status_printer"))),
        ("Address", e(", ".join(dev.get("addresses") or []) or dev.get("address"))),
        ("Vendor / model", e(" ".join(str(x) for x in (dev.get("vendor"), dev.get("model")) if x))),
        ("Serial", e(dev.get("serial"))),
        ("MAC", e(dev.get("mac"))),
        ("Identity", e(dev.get("identity"))),
        ("Site", e(dev.get("site"))),
        ("First seen", e(utc(dev.get("first_seen")))),
        (
            "Last seen",
            f'{e(ago(dev.get("last_seen"), now))} <span class="muted">{e(utc(dev.get("last_seen")))}</span>',
        ),
        ("Last meter read", e(utc(dev.get("last_meter_at")))),
    ]
    if dev.get("gone_at"):
        fields.append(("Gone", e(f"{utc(dev['gone_at'])}: {dev.get('gone_reason') or ''}")))
    details = "<dl class=details>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in fields) + "</dl>"
    target = dev.get("address") or ""
    assist = (
        f'<form method="post" action="/api/assist/{e(quote(str(target), safe=""))}" data-assist>'
        f'{csrf_field(csrf)}<button type="submit" id="assist">Call for assistance</button>'
        '<span class="muted"> an immediate full poll, recorded and sent upstream</span></form>'
        '<div id="assist-result" role="status"></div>'
        if target
        else ""
    )
    supplies = "".join(
        f"<tr><td>{e(f.get('description'))}</td><td>{e(f.get('color'))}</td>"
        f'<td class="num">{_num(f.get("percent_now"), "{:.0f}%")}</td>'
        f'<td class="num">{_num(f.get("burn_percent_per_day"), "{:.2f}")}</td>'
        f'<td class="num">{_num(f.get("days_to_empty"), "{:.0f}")}</td>'
        f"<td>{e(utc(f.get('empty_at')))}</td></tr>"
        for f in forecasts
    )
    supply_table = (
        "<table><thead><tr><th>Supply</th><th>Colour</th><th class=num>Level</th>"
        "<th class=num>Use %/day</th><th class=num>Days to empty</th><th>Empty at</th></tr></thead>"
        f"<tbody>{supplies or _EMPTY.format(6, 'No supplies reported.')}</tbody></table>"
    )
    meter_rows = "".join(
        f'<tr><td>{e(m["meter"])}</td><td class="num">{m["value"]:,}</td><td>{e(utc(m["time"]))}</td>'
        f"<td><code>{e(m.get('oid'))}</code></td><td>{e(m.get('rule'))}</td></tr>"
        for m in meters
    )
    meter_table = (
        "<table><thead><tr><th>Meter</th><th class=num>Value</th><th>Read</th><th>OID</th><th>Rule</th>"
        f"</tr></thead><tbody>{meter_rows or _EMPTY.format(5, 'No meter reads in 30 days.')}"
        "</tbody></table>"
    )
    pages_rows = "".join(f'<tr><td>{d}</td><td class="num">{n:,}</td></tr>' for d, n in pages[-14:])
    pages_table = (
        "<table><thead><tr><th>Day (UTC)</th><th class=num>Pages</th></tr></thead>"
        f"<tbody>{pages_rows}</tbody></table>"
        if pages_rows
        else '<p class="muted">No pages counted yet.</p>'
    )
    body = (
        f'<div class="grid2"><section>{details}{assist}</section>'
        f"<section><h2>Supplies</h2>{supply_svg}</section></div>"
        f"<h2>Supply forecast</h2>{supply_table}"
        f'<div class="grid2"><section><h2>Meters</h2>{meter_svg}</section>'
        f"<section><h2>Pages per day</h2>{pages_table}</section></div>"
        f"<h2>Meter reads and their evidence</h2>{meter_table}"
        f"<h2>Alerts</h2>{alerts_table(alerts, now, with_device=False)}"
    )
    return page(str(name), body, csrf=csrf, active="/fleet")


def _notified(alert: dict[str, Any]) -> str:
    value = alert.get("notified_at", alert.get("notifications"))
    if isinstance(value, dt.datetime):
        return utc(value)
    return "" if value is None else str(value)


def alerts_table(
    alerts: Sequence[dict[str, Any]] | None, now: dt.datetime, *, with_device: bool = True
) -> str:
    if alerts is None:
        return '<p class="muted">This build keeps no alerts (the store has no <code>alerts</code> view).</p>'
    if not alerts:
        return '<p class="muted">No alerts.</p>'
    rows = []
    for a in alerts:
        device = (
            f'<td><a href="/printer/{e(a["device_id"])}">{e(a.get("device_name") or a["device_id"])}</a></td>'
            if with_device
            else ""
        )
        closed = a.get("closed_at")
        rows.append(
            f'<tr class="{"closed" if closed else "open"}">{device}<td>{e(a.get("kind"))}</td>'
            f"<td>{e(a.get('subject'))}</td><td>{e(a.get('severity'))}</td>"
            f"<td>{e(utc(a.get('opened_at')))}</td>"
            f"<td>{e(utc(closed)) if closed else '<b>open</b>'}</td>"
            f"<td>{e(ago(a.get('last_seen'), now))}</td><td>{e(a.get('detail'))}</td>"
            f"<td>{e(_notified(a))}</td></tr>"
        )
    head = "<th>Printer</th>" if with_device else ""
    return (
        f"<table class=alerts><thead><tr>{head}<th>Kind</th><th>Subject</th><th>Severity</th><th>Opened</th>"
        "<th>Closed</th><th>Last seen</th><th>Detail</th><th>Notified</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def alerts_page(alerts: Sequence[dict[str, Any]] | None, open_only: bool, csrf: str, now: dt.datetime) -> str:
    toggle = (
        '<p><a href="/alerts">show closed alerts too</a></p>'
        if open_only
        else '<p><a href="/alerts?open=1">open alerts only</a></p>'
    )
    return page("Alerts", toggle + alerts_table(alerts, now), csrf=csrf, active="/alerts")


def sweep_section(csrf: str, result: SweepResult | None, *, networks: str = "", port: int = 161) -> str:
    form = (
        "<h2>Run a sweep</h2>"
        f'<form method="post" action="/discovery/sweep" class="filters">{csrf_field(csrf)}'
        f'<input name="networks" value="{e(networks)}" size="40" required'
        ' placeholder="10.0.0.0/24 10.0.1.0/24">'
        f'<label>UDP port <input name="port" value="{port}" size="6" inputmode="numeric"></label>'
        '<button type="submit" id="sweep">Sweep</button></form>'
        f'<p class="muted">Up to {MAX_ADDRESSES:,} addresses and {LIMIT_S:.0f} s a sweep, with the '
        "appliance's communities; excluded ranges are left out; every printer found is filed in the "
        "registry (and polled from the next cycle).</p>"
    )
    if result is None:
        return form
    rows = "".join(
        f"<tr><td>{e(a.address)}</td><td>{e(' '.join(x for x in (a.vendor, a.model) if x))}</td>"
        f"<td>{e(a.serial)}</td><td>{e(a.mac)}</td><td>{e(a.sweep)}</td><td>{e(r.outcome)}</td>"
        + (
            f'<td><a href="/printer/{r.device_id}">device {r.device_id}</a></td>'
            if r.device_id
            else "<td></td>"
        )
        + "</tr>"
        for a, r in result.printers
    )
    summary = (
        f'<p class="flash" id="sweep-result">Swept {result.addresses:,} addresses in {result.seconds:.1f} s '
        f"({result.outcome}): {result.agents} SNMP agents, {len(result.printers)} printers.</p>"
    )
    table = (
        "<table id=found><thead><tr><th>Address</th><th>Model</th><th>Serial</th><th>MAC</th>"
        f"<th>Found by</th><th>Registry</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    return form + summary + table


def discovery_page(
    csrf: str,
    *,
    targets: Sequence[str],
    manual: Sequence[tuple[str, Any]],
    message: str = "",
    error: str = "",
    sweep: str = "",
) -> str:
    err = f'<p class="error">{e(error)}</p>' if error else ""
    ok = f'<p class="flash">{e(message)}</p>' if message else ""
    manual_rows = "".join(f"<tr><td>{e(t)}</td><td>{e(utc(at))}</td></tr>" for t, at in manual)
    body = (
        f"{err}{ok}{sweep}<h2>Add a printer by address or name</h2>"
        f'<form method="post" action="/discovery/add" class="filters">{csrf_field(csrf)}'
        '<input name="target" placeholder="10.0.0.7 or printer.example" required>'
        '<button type="submit">Add</button></form>'
        f"<h2>Added by hand</h2><table><thead><tr><th>Target</th><th>Added</th></tr></thead>"
        f"<tbody>{manual_rows or '<tr><td colspan=2 class=muted>none</td></tr>'}</tbody></table>"
        f'<h2>Polled addresses</h2><p class="muted">{len(targets):,} addresses: '
        f"{e(', '.join(targets[:50]))}{' ...' if len(targets) > 50 else ''}</p>"
    )
    return page("Discovery", body, csrf=csrf, active="/discovery")


def uplink_page(entries: Sequence[UplinkEntry], problems: Sequence[str], csrf: str) -> str:
    """Every transmission to the collector (newest first), with the hash chain's verdict."""
    verdict = (
        '<p class="flash" id="chain">The hash chain is whole: no transmission was edited, removed '
        "or inserted.</p>"
        if not problems
        else '<p class="flash error" id="chain">The hash chain is broken: '
        + "; ".join(e(p) for p in problems)
        + "</p>"
    )
    rows = "".join(
        f'<tr><td><a href="/uplink/{x.n}">{x.n}</a></td><td>{e(f"{x.time:%Y-%m-%d %H:%M:%S}")}Z</td>'
        f"<td>{e(x.kind or '')}</td><td>{'' if x.seq is None else x.seq}</td>"
        f"<td>{e(x.status if x.status is not None else x.error or '')}</td>"
        f"<td class=num>{len(x.request):,}</td><td class=num>{len(x.response):,}</td>"
        f"<td><code>{x.hash.hex()[:16]}</code></td></tr>"
        for x in entries
    )
    table = (
        "<table id=uplink><thead><tr><th>#</th><th>Time (UTC)</th><th>Message</th><th>Seq</th>"
        "<th>HTTP / error</th><th>Bytes up</th><th>Bytes down</th><th>Hash</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if entries
        else '<p class="muted">Nothing was sent yet (or the uplink is off).</p>'
    )
    intro = (
        '<p class="muted">Every request this appliance sent to the collector and every answer, '
        "byte for byte as they crossed the connection (inside TLS); open one to read its bytes. "
        "The same as <code>printwatch uplink log</code>.</p>"
    )
    return page("Uplink", intro + verdict + table, csrf=csrf, active="/uplink")


def hex_dump(data: bytes) -> str:
    """16 bytes a line: offset, hex, and the printable ASCII."""
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at : at + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{at:08x}  {chunk.hex(' '):<47}  {text}")
    return "\n".join(lines)


def uplink_entry_page(x: UplinkEntry, csrf: str) -> str:
    """One transmission: its fields, hashes, and the request and response bytes."""
    fields = (
        f"<dl><dt>Time</dt><dd>{e(f'{x.time:%Y-%m-%d %H:%M:%S}')}Z</dd><dt>URL</dt><dd>{e(x.url)}</dd>"
        f"<dt>Message</dt><dd>{e(x.kind or '-')} (seq {'-' if x.seq is None else x.seq})</dd>"
        f"<dt>Result</dt><dd>{e(x.status if x.status is not None else x.error or '-')}</dd>"
        f"<dt>Hash</dt><dd><code>{x.hash.hex()}</code></dd>"
        f"<dt>Previous hash</dt><dd><code>{x.prev_hash.hex()}</code></dd></dl>"
    )
    body = (
        f'<p><a href="/uplink">all transmissions</a></p>{fields}'
        f"<h2>Request: {len(x.request):,} bytes</h2><pre id=request>{e(hex_dump(x.request))}</pre>"
        f"<h2>Response: {len(x.response):,} bytes</h2><pre id=response>{e(hex_dump(x.response))}</pre>"
    )
    return page(f"Uplink transmission {x.n}", body, csrf=csrf, active="/uplink")
