"""The Prometheus text format (version 0.0.4): escaping, numbers, metric families, and the
fleet's per-device lines.

A device's lines are made once, when its poll document arrives (:func:`device_lines`, stored in
the fleet view), so that serving ``/metrics`` for thousands of printers only joins strings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

#: The fleet's families, in the order of :func:`device_lines`' strings: (name, type, help).
FLEET_FAMILIES = (
    ("printwatch_device_up", "gauge", "1 if the device answered its last poll."),
    ("printwatch_device_rtt_seconds", "gauge", "Round-trip time of the last poll's first answer."),
    (
        "printwatch_device_state",
        "gauge",
        "1 for the device's current status (hrDeviceStatus: running, warning, ...).",
    ),
    ("printwatch_supply_percent", "gauge", "Supply level in percent (only where the level is known)."),
    ("printwatch_pages_total", "counter", "Page meters by meter name (total, black, color, ...)."),
)


def escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def labels(pairs: dict[str, Any]) -> str:
    parts = [f'{k}="{escape(v)}"' for k, v in pairs.items() if v is not None]
    return "{" + ",".join(parts) + "}" if parts else ""


def number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


class Family:
    """One metric family: its samples under one HELP and TYPE."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name = name
        self.kind = kind
        self.help = help_text
        self.samples: list[tuple[dict[str, Any], float]] = []

    def add(self, value: float | None, **pairs: Any) -> None:
        if value is not None:
            self.samples.append((pairs, value))

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for pairs, value in self.samples:
            yield f"{self.name}{labels(pairs)} {number(value)}"


#: What a device's lines are made of but its round trip (which changes at every poll).
LINE_KEYS = ("target", "serial", "reachable", "device_state", "supplies", "meters")


def device_lines(entry: dict[str, Any], previous: dict[str, Any] | None = None) -> tuple[str, ...]:
    """The lines of one device (a fleet-view entry) for each of :data:`FLEET_FAMILIES`, each
    string holding zero or more lines. With the device's ``previous`` entry (and its lines),
    lines that would come out the same are taken from it: most polls change only the round
    trip, and escaping every label again is most of a fleet entry's cost."""
    if previous is not None and all(previous.get(k) == entry.get(k) for k in LINE_KEYS):
        lines: tuple[str, ...] = previous["lines"]
        if not entry.get("reachable") or previous.get("rtt_ms") == entry.get("rtt_ms"):
            return lines
        return (lines[0], _rtt_line(escape(entry["target"]), entry.get("rtt_ms")), *lines[2:])
    target = escape(entry["target"])
    serial = entry.get("serial")
    serial_label = f',serial="{escape(serial)}"' if serial is not None else ""
    up = f'printwatch_device_up{{target="{target}"{serial_label}}} {1 if entry.get("reachable") else 0}'
    if not entry.get("reachable"):
        return (up, "", "", "", "")
    rtt_line = _rtt_line(target, entry.get("rtt_ms"))
    state = entry.get("device_state")
    state_line = f'printwatch_device_state{{target="{target}",state="{escape(state)}"}} 1' if state else ""
    supplies = []
    for index, description, kind, color, percent, _state in entry.get("supplies", ()):
        if isinstance(percent, int | float) and not isinstance(percent, bool):
            pairs = labels(
                {
                    "target": entry["target"],
                    "index": index,
                    "description": description,
                    "type": kind,
                    "color": color,
                }
            )
            supplies.append(f"printwatch_supply_percent{pairs} {number(percent)}")
    pages = [
        f'printwatch_pages_total{{target="{target}",meter="{escape(m)}"}} {v}'
        for m, v in entry.get("meters", ())
    ]
    return (up, rtt_line, state_line, "\n".join(supplies), "\n".join(pages))


def _rtt_line(target: str, rtt_ms: float | None) -> str:
    """The round-trip line of an escaped ``target``."""
    if rtt_ms is None:
        return ""
    return f'printwatch_device_rtt_seconds{{target="{target}"}} {number(rtt_ms / 1000.0)}'


def fleet_chunks(ordered: Sequence[dict[str, Any]], *, per_chunk: int) -> Iterator[str]:
    """The fleet's families from the entries' precomputed lines, ``ordered`` as they are to
    appear (by target), a piece at a time: each family's header, then the lines of
    ``per_chunk`` entries at a time, each line preceded by its newline. Joined, the pieces are
    the families' text; served one by one, a fleet's megabytes are never one string."""
    for k, (name, kind, help_text) in enumerate(FLEET_FAMILIES):
        newline = "\n" if k else ""
        yield f"{newline}# HELP {name} {help_text}\n# TYPE {name} {kind}"
        for start in range(0, len(ordered), per_chunk):
            lines = [line for e in ordered[start : start + per_chunk] if (line := e["lines"][k])]
            if lines:
                yield "\n" + "\n".join(lines)
