"""The ICMP part of a sweep, for Trio: which addresses answer an echo request.

The sweep itself is Rust (``rust/src/sweep``, :class:`printwatch._core.IcmpSweep`): one ICMP
socket, raw (with CAP_NET_RAW) or datagram (where net.ipv4.ping_group_range allows it), echo
requests paced at ``max_pps`` and sent in batches, replies matched by address, identifier and
cookie, on a thread of its own. :func:`icmp_sweep_async` takes the hosts found in batches;
cancelling its scope stops the sending within 100 ms and keeps what was found (``on_found`` has
seen every host taken).

Error handling: ``PermissionError`` if the system allows no ICMP socket of that kind,
``ValueError`` for a bad address or setting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import trio

from printwatch._core import IcmpSweep, expand_networks, icmp_kinds

__all__ = ["WAIT_STEP_S", "IcmpSweep", "Live", "expand_networks", "icmp_kind", "icmp_sweep_async"]

#: How long one wait for replies lasts: the longest a Trio cancel waits for the thread.
WAIT_STEP_S = 0.05

#: ``(index, address, rtt_ms)`` of a host that answered.
Live = tuple[int, str, float]


def icmp_kind() -> str | None:
    """The ICMP socket kind a sweep uses here (``raw`` preferred), or None when neither is
    allowed (then only an SNMP sweep is possible)."""
    kinds = icmp_kinds()
    return kinds[0] if kinds else None


async def icmp_sweep_async(
    sweep: IcmpSweep,
    *,
    on_found: Callable[[Sequence[Live]], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> list[Live]:
    """Takes every host a started sweep finds, in address order. ``on_found`` is called with each
    batch as it comes, ``on_step`` after every wait (about every 50 ms, for progress). The sweep
    is cancelled if this is cancelled."""
    found: list[Live] = []
    try:
        while True:
            finished = sweep.done
            got = await trio.to_thread.run_sync(sweep.wait, WAIT_STEP_S)
            if got:
                found.extend(got)
                if on_found is not None:
                    on_found(got)
            if on_step is not None:
                on_step()
            if not got and finished:
                break
    finally:
        sweep.cancel()
    found.sort()
    return found
