"""A message too large for the collector, as several messages of the same kind.

A collector inflates at most :data:`~printwatch.uplink.codec.MAX_PAYLOAD_BYTES` of a payload and
takes at most 100,000 devices in a message (docs/uplink.md). A site of 10,000 printers stays far
below both (a day's aggregate is about 1 MB of JSON); one of 100,000 does not: its registration
(about 15 MB) and its aggregates (about 10 MB) would be refused for ever, and the outbox, which
sends in order, would send nothing after them. So a message whose canonical JSON is over
:data:`PART_BYTES`, or that names more than :data:`PART_DEVICES` devices, is cut into parts
along its devices, each a whole message of the same kind:

* ``register``: its ``devices`` (and, when the stream restarts, each device's ``bases`` go with
  it);
* ``aggregate``: every column (``n``, ``up``, ``st``, each meter of ``m``, ``s``), the same rows
  of each; ``day`` and ``polls`` in every part;
* ``billing``: its reads ``r`` (``cycle`` in every part);
* ``reorder``: its triggers ``t``.

The collector keeps every one of these per device (a device's day, a device's read of a cycle, a
device's registration), so parts give it exactly what the whole would have. ``sync`` and
``snapshot`` (one device) are never cut. Pure functions; the outbox writes a message's parts in
one transaction (:meth:`~printwatch.uplink.outbox.Outbox.enqueue`).
"""

from __future__ import annotations

import json
import math
from itertools import pairwise
from typing import Any

from printwatch.uplink.codec import MAX_PAYLOAD_BYTES

#: The largest canonical JSON of a part's ``data``: half of what a collector inflates, so the
#: envelope around it (site, sequence number, kind, time) can never take it over.
PART_BYTES = MAX_PAYLOAD_BYTES // 2
#: The most devices a part names: half of what a collector takes in one message.
PART_DEVICES = 50_000

_ROWS = {"register": "devices", "aggregate": "n", "billing": "r", "reorder": "t"}


def parts(
    kind: str, data: dict[str, Any], *, max_bytes: int = PART_BYTES, max_devices: int = PART_DEVICES
) -> list[dict[str, Any]]:
    """``data`` as the data of one or more messages of ``kind`` (see the module's docstring),
    each within ``max_bytes`` of JSON and ``max_devices`` devices, in device order. A message of
    one device (or of a kind that is never cut) is returned whole, whatever its size."""
    rows = rows_of(kind, data)
    if rows <= 1:
        return [data]
    size = size_of(data)
    if rows <= max_devices and size <= max_bytes:
        return [data]
    k = max(2, math.ceil(rows / max_devices), math.ceil(size / max_bytes))
    bounds = [rows * i // k for i in range(k + 1)]
    out: list[dict[str, Any]] = []
    for a, b in pairwise(bounds):
        out += parts(kind, _slice(kind, data, a, b), max_bytes=max_bytes, max_devices=max_devices)
    return out


def rows_of(kind: str, data: dict[str, Any]) -> int:
    """How many device rows a message of ``kind`` holds (0 for a kind never cut)."""
    key = _ROWS.get(kind)
    rows = data.get(key) if key is not None else None
    return len(rows) if isinstance(rows, list) else 0


def size_of(data: dict[str, Any]) -> int:
    """The bytes of ``data``'s canonical JSON, as :func:`~printwatch.uplink.codec.encode_payload`
    writes it."""
    return len(json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())


def _slice(kind: str, data: dict[str, Any], a: int, b: int) -> dict[str, Any]:
    part = dict(data)
    if kind == "register":
        devices = data["devices"][a:b]
        part["devices"] = devices
        if "bases" in data:
            numbers = {d.get("n") for d in devices if isinstance(d, dict)}
            if b == len(data["devices"]):  # the last part also takes bases of no listed device
                everyone = {d.get("n") for d in data["devices"] if isinstance(d, dict)}
                numbers |= {x[0] for x in data["bases"] if x[0] not in everyone}
            part["bases"] = [x for x in data["bases"] if x[0] in numbers]
        return part
    if kind == "aggregate":
        for key in ("n", "up", "st", "s"):
            if key in data:
                part[key] = data[key][a:b]
        part["m"] = {name: column[a:b] for name, column in data.get("m", {}).items()}
        return part
    key = _ROWS[kind]
    part[key] = data[key][a:b]
    return part
