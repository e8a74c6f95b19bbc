"""The dashboard's page frame and small HTML helpers (plain strings; every value escaped here).

Pages are built from Python strings rather than a template engine: a handful of pages, each a
function of its data, and one place (:func:`e`) that escapes.
"""

from __future__ import annotations

import datetime as dt
import functools
from html import escape
from pathlib import Path
from urllib.parse import urlencode

NAV = (
    ("/fleet", "Fleet"),
    ("/alerts", "Alerts"),
    ("/discovery", "Discovery"),
    ("/uplink", "Uplink"),
    ("/settings", "Settings"),
)


def e(value: object) -> str:
    """``value`` as escaped text ('' for None)."""
    return "" if value is None else escape(str(value), quote=True)


def qs(**params: object) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def aware(t: dt.datetime) -> dt.datetime:
    """``t`` with its time zone (DuckDB gives UTC times without one)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def ago(t: dt.datetime | None, now: dt.datetime) -> str:
    if t is None:
        return "never"
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    s = (now - t).total_seconds()
    if s < 0:
        return "just now"
    if s < 90:
        return f"{s:.0f} s ago"
    if s < 5400:
        return f"{s / 60:.0f} min ago"
    if s < 2 * 86400:
        return f"{s / 3600:.0f} h ago"
    return f"{s / 86400:.0f} days ago"


def utc(t: dt.datetime | None) -> str:
    if t is None:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def state_badge(state: str | None) -> str:
    s = state or "unknown"
    return f'<span class="state state-{e(s)}">{e(s)}</span>'


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


@functools.cache
def stylesheet() -> str:
    """``static/app.css``, for the login page, which has no session to fetch it with."""
    return (Path(__file__).resolve().parent / "static" / "app.css").read_text(encoding="utf-8")


def page(title: str, body: str, *, csrf: str | None, active: str = "", flash: str = "") -> str:
    """A whole page: the navigation (when logged in), ``body``, the CSS and the script. Without a
    session (``csrf`` None: the login page) the stylesheet is inline and there is no script:
    nothing but the login and /health answers without a session, static files included."""
    nav = ""
    if csrf is not None:
        links = "".join(
            f'<a href="{href}"{" class=active" if href == active else ""}>{label}</a>' for href, label in NAV
        )
        nav = (
            f'<nav><span class="brand">printwatch</span>{links}'
            f'<form method="post" action="/logout" class="logout">{csrf_field(csrf)}'
            '<button type="submit">Log out</button></form></nav>'
        )
    note = f'<p class="flash">{e(flash)}</p>' if flash else ""
    meta = f'<meta name="csrf-token" content="{e(csrf)}">' if csrf else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}<title>{e(title)} - printwatch</title>"
        + (
            '<link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script>'
            if csrf is not None
            else f"<style>{stylesheet()}</style>"
        )
        + f"</head><body>{nav}<main><h1>{e(title)}</h1>{note}{body}</main></body></html>"
    )
