"""The poll engine: thousands of SNMP requests in flight from one socket, driven from Python.

The engine itself is Rust (``rust/src/engine``): a batch of targets runs on its own thread with
batched UDP I/O, a packets-per-second cap, timeouts with retries and backoff, and strict
matching of answers (source address and port, request id, community). Python hands over the
whole batch and takes finished targets back in batches.

>>> from printwatch.engine import Engine, Plan, Target, poll
>>> plan = Plan(gets=["1.3.6.1.2.1.1.5.0"], walks=["1.3.6.1.2.1.43.11.1"])
>>> results = poll([Target("127.0.0.1", 161, plan=plan)], engine=Engine(timeout_s=0.2))  # doctest: +SKIP

:func:`poll` blocks (it releases the GIL while it waits); :func:`poll_async` is the same for
Trio, and cancelling its scope stops the batch's sending within 100 ms.

Error handling: a printer that fails is data, not an exception: each :class:`TargetResult`
has a ``status`` (``ok`` or the first failure's kind) and ``failures``. Exceptions are for
misuse: ``ValueError`` for a bad OID, address or setting, ``OSError`` if no socket can be bound.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Sequence

import trio

from printwatch._core import Batch, Engine, Plan, Target, TargetResult

__all__ = [
    "Batch",
    "Engine",
    "Plan",
    "Target",
    "TargetResult",
    "parse_target",
    "poll",
    "poll_async",
]

#: How long one ``Batch.wait`` step lasts: the longest a Trio cancel waits for the thread.
WAIT_STEP_S = 0.05

ResultsCallback = Callable[[Sequence[TargetResult]], None]


def parse_target(spec: str, default_port: int = 161) -> tuple[str, int]:
    """``host[:port]`` → ``(IPv4 address, port)``; a name is resolved (IPv4 only).

    Error handling: ``ValueError`` naming the spec for a bad port or a name that does not resolve.
    """
    host, sep, port_text = spec.rpartition(":")
    if not sep:
        host, port_text = spec, str(default_port)
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{spec!r}: the port must be a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{spec!r}: the port must be between 1 and 65535")
    if not host:
        raise ValueError(f"{spec!r}: no host")
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    except socket.gaierror as err:
        raise ValueError(f"{spec!r}: cannot resolve {host!r} ({err.strerror})") from None
    return str(infos[0][4][0]), port


def poll(
    targets: Iterable[Target],
    *,
    engine: Engine | None = None,
    on_results: ResultsCallback | None = None,
) -> list[TargetResult]:
    """Poll every target once; returns the results in the targets' order.

    ``on_results`` is called with each batch of finished targets as they come (for progress).
    """
    batch = (engine or Engine()).start(list(targets))
    results: list[TargetResult] = []
    try:
        while True:
            # `done` is read before the wait, so the wait that follows takes the last results.
            finished = batch.done
            got = batch.wait(WAIT_STEP_S * 4)
            if got:
                results.extend(got)
                if on_results is not None:
                    on_results(got)
            elif finished:
                break
    finally:
        batch.cancel()
    results.sort(key=lambda r: r.index)
    return results


async def poll_async(
    targets: Iterable[Target],
    *,
    engine: Engine | None = None,
    on_results: ResultsCallback | None = None,
) -> list[TargetResult]:
    """:func:`poll` for Trio: the loop keeps running while the batch is in flight.

    Cancelling the surrounding scope cancels the batch: no request is sent more than 100 ms
    later (one wait step of 50 ms, then the engine's 20 ms turn).
    """
    batch = (engine or Engine()).start(list(targets))
    results: list[TargetResult] = []
    try:
        while True:
            # `done` is read before the wait, so the wait that follows takes the last results.
            finished = batch.done
            got = await trio.to_thread.run_sync(batch.wait, WAIT_STEP_S)
            if got:
                results.extend(got)
                if on_results is not None:
                    on_results(got)
            elif finished:
                break
    finally:
        batch.cancel()
    results.sort(key=lambda r: r.index)
    return results
