"""The uplink pages: ``/uplink``, every transmission to the collector (the uplink's hash-chained
log, newest first) with the chain's verdict, and ``/uplink/N``, one of them with its request
and response byte for byte (what ``printwatch uplink log --bytes`` prints)."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from printwatch.web.dashboard.view import dashboard_of, not_found, page


def hex_dump(data: bytes) -> str:
    """16 bytes a line: offset, hex, and the printable ASCII."""
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at : at + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{at:08x}  {chunk.hex(' '):<47}  {text}")
    return "\n".join(lines)


async def uplink(request: Request) -> Response:
    d = dashboard_of(request)
    entries, problems = await d.read(d.data.uplink_log)
    return page(request, "uplink.html", entries=entries, problems=problems)


async def uplink_entry(request: Request) -> Response:
    d = dashboard_of(request)
    n = int(request.path_params["n"])
    x = await d.read(partial(d.data.uplink_entry, n))
    if x is None:
        return not_found(request, f"transmission {n}")
    return page(
        request,
        "uplink_entry.html",
        x=x,
        request_dump=hex_dump(x.request),
        response_dump=hex_dump(x.response),
    )
