"""The discovery page (``/discovery``): run a sweep of the site's networks, add a printer by
address or host name, the printers added by hand, the addresses polled.

"Add a printer" resolves a name first (at most ``resolve_timeout_s``, a few lookups at a time)
and only then makes its registry write through the store's own one-at-a-time limiter, like a
cycle's ingest: a slow DNS server never holds up the store's writer. A sweep stays inside the
:class:`~printwatch.web.dashboard.sweep.SweepScope`.

Error handling: a target that is neither an address nor a name, or that does not resolve (or
not in time), and a sweep out of scope or too large, are said on the page (400); without a
store, 503.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import Response

from printwatch.store import Store, resolve_ipv4
from printwatch.web.dashboard.state import Dashboard
from printwatch.web.dashboard.sweep import LIMIT_S, MAX_ADDRESSES, SweepResult, parse_networks
from printwatch.web.dashboard.view import checked_form, dashboard_of, page

log = logging.getLogger(__name__)

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_MANUAL = "SELECT coalesce(name, address), added_at FROM manual_targets ORDER BY added_at DESC"


def target_problem(target: str) -> str | None:
    """Why ``target`` is neither an IPv4 address nor a host name (checked before any lookup)."""
    try:
        ipaddress.IPv4Address(target)
        return None
    except ValueError:
        pass
    labels = target.rstrip(".").split(".")
    if not target or len(target) > 253 or not all(_LABEL.match(label) for label in labels):
        return f"{target!r} is neither an IPv4 address nor a host name"
    if all(label.isdigit() for label in labels):
        return f"{target!r} is not a valid IPv4 address"
    return None


def sweep_form(result: SweepResult | None = None, *, networks: str = "", port: int = 161) -> dict[str, Any]:
    """The sweep part of the page: its form as typed, and what a sweep found."""
    return {
        "result": result,
        "networks": networks,
        "port": port,
        "max_addresses": MAX_ADDRESSES,
        "limit_s": LIMIT_S,
    }


def _gather(d: Dashboard) -> tuple[list[str], list[tuple[str, Any]]]:
    manual = [(str(a), t) for a, t in d.data.con().execute(_MANUAL).fetchall()]
    return (d.store.targets() if d.store else []), manual


async def _page(
    request: Request,
    *,
    message: str = "",
    error: str = "",
    status: int = 200,
    sweep: dict[str, Any] | None = None,
) -> Response:
    d = dashboard_of(request)
    targets, manual = await d.read(_gather, d)
    if sweep is None and d.sweeper is not None:
        sweep = sweep_form()
    return page(
        request,
        "discovery.html",
        status,
        targets=targets,
        manual=manual,
        message=message,
        error=error,
        sweep=sweep,
    )


async def discovery(request: Request) -> Response:
    return await _page(request)


async def _resolve(target: str, timeout_s: float, limiter: trio.CapacityLimiter) -> str:
    """``target``'s IPv4 address, resolved in a worker thread within ``timeout_s``.

    Error handling: a name that does not resolve, or not in time, is a :class:`ValueError`."""
    with trio.move_on_after(timeout_s):
        address, _ = await trio.to_thread.run_sync(
            resolve_ipv4, target, limiter=limiter, abandon_on_cancel=True
        )
        return address
    raise ValueError(f"manual target {target!r}: DNS gave no answer within {timeout_s:g} s")


async def _write(store: Store, fn: Callable[[str], str], arg: str) -> str:
    """A registry write in a worker thread, one at a time with the store's ingests."""
    return await trio.to_thread.run_sync(fn, arg, limiter=store.write_limiter)


async def discovery_add(request: Request) -> Response:
    fields = await checked_form(request)
    if isinstance(fields, Response):
        return fields
    d = dashboard_of(request)
    target = fields.get("target", "").strip()
    problem = target_problem(target)
    if problem:
        return await _page(request, error=problem, status=400)
    if d.store is None:
        return await _page(request, error="No history store to add printers to.", status=503)
    try:
        resolved = await _resolve(target, d.resolve_timeout_s, d.resolve_limiter)
        # the write lock only now, with the address in hand
        address = await _write(d.store, partial(d.store.add_manual, address=resolved), target)
    except ValueError as err:
        return await _page(request, error=str(err), status=400)
    log.info("dashboard: %r added by hand as %s", target, address)
    return await _page(request, message=f"Added {target} ({address}); it is polled from the next cycle.")


async def discovery_sweep(request: Request) -> Response:
    fields = await checked_form(request)
    if isinstance(fields, Response):
        return fields
    d = dashboard_of(request)
    if d.sweeper is None:
        return await _page(request, error="No history store to file printers in.", status=503)
    text = fields.get("networks", "")
    port = 161
    try:
        port = int(fields.get("port", "161") or "161")
        networks = parse_networks(text)
        result = await d.sweeper.sweep(networks, port)
    except ValueError as err:
        return await _page(request, error=str(err), status=400, sweep=sweep_form(networks=text, port=port))
    log.info("dashboard: sweep of %s: %d printers", " ".join(networks), len(result.printers))
    return await _page(request, sweep=sweep_form(result, networks=text, port=port))
