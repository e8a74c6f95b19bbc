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

from printwatch._core import Batch, Engine, Plan, Target, TargetResult, V3Credentials

__all__ = [
    "Batch",
    "Engine",
    "Plan",
    "Target",
    "TargetResult",
    "V3Credentials",
    "collect",
    "collect_async",
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


def _keep(
    got: list[TargetResult], finished: bool, into: list[TargetResult], on_results: ResultsCallback | None
) -> bool:
    """Keeps one wait's results; whether to wait again. ``finished`` must be read *before* that
    wait, so that the wait after the batch ended takes its last results."""
    if got:
        into.extend(got)
        if on_results is not None:
            on_results(got)
        return True
    return not finished


def collect(batch: Batch, *, on_results: ResultsCallback | None = None) -> list[TargetResult]:
    """Takes every result of a started batch (blocking, GIL released while it waits), in the
    targets' order. ``on_results`` is called with each batch of finished targets as they come.
    The batch is cancelled if this is interrupted."""
    results: list[TargetResult] = []
    try:
        while True:
            finished = batch.done
            if not _keep(batch.wait(WAIT_STEP_S * 4), finished, results, on_results):
                break
    finally:
        batch.cancel()
    results.sort(key=lambda r: r.index)
    return results


async def collect_async(batch: Batch, *, on_results: ResultsCallback | None = None) -> list[TargetResult]:
    """:func:`collect` for Trio: the loop keeps running while the batch is in flight, and
    cancelling the surrounding scope cancels the batch (no request is sent more than 100 ms
    later: one wait step of 50 ms, then the engine's 20 ms turn)."""
    results: list[TargetResult] = []
    try:
        while True:
            finished = batch.done
            got = await trio.to_thread.run_sync(batch.wait, WAIT_STEP_S)
            if not _keep(got, finished, results, on_results):
                break
    finally:
        batch.cancel()
    results.sort(key=lambda r: r.index)
    return results


def poll(
    targets: Iterable[Target],
    *,
    engine: Engine | None = None,
    on_results: ResultsCallback | None = None,
) -> list[TargetResult]:
    """Poll every target once; returns the results in the targets' order (see :func:`collect`)."""
    return collect((engine or Engine()).start(list(targets)), on_results=on_results)


async def poll_async(
    targets: Iterable[Target],
    *,
    engine: Engine | None = None,
    on_results: ResultsCallback | None = None,
) -> list[TargetResult]:
    """:func:`poll` for Trio (see :func:`collect_async`)."""
    return await collect_async((engine or Engine()).start(list(targets)), on_results=on_results)
