"""The uplink's long loops over a cycle's documents let other Trio tasks (the HTTP server's
``/health``) run every :data:`~printwatch.uplink.service.YIELD_EVERY` documents: counted, not timed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import trio
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.service import YIELD_EVERY, UplinkService
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint

from tests.support.fakes import contract_doc

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
NOWHERE = Endpoint("https://127.0.0.1:9")  # never used here: nothing is sent


def test_another_task_runs_within_a_bounded_number_of_documents(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "app.duckdb", Identity.generate(), "site")
    svc = UplinkService(box, NOWHERE, now=lambda: T0, reorder_percent=50.0)
    # A fleet whose printers differ (pages, toner), some of them unreachable.
    count = 3 * YIELD_EVERY + 17
    docs = [
        contract_doc((f"10.5.{i // 200}.{i % 200 + 10}", 161), 5 + (i * 37) % 80, T0) for i in range(count)
    ]
    for i, doc in enumerate(docs):
        doc["serial"] = f"Y{i:05d}"  # a device each
    seen: list[int] = []  # documents tallied when the other task got scheduled
    states: list[int] = []  # supplies with a reorder state then
    done = False

    async def health() -> None:
        # This task spins while the service waits on its worker threads (tens of thousands of
        # turns): what it records must be cheap. A device a document, so the part's size is
        # the documents tallied.
        while not done:
            seen.append(len(svc.part))
            states.append(len(svc._reorders))
            await trio.lowlevel.checkpoint()

    async def main() -> None:
        nonlocal done
        async with trio.open_nursery() as nursery:
            nursery.start_soon(health)
            await trio.lowlevel.checkpoint()
            await svc.observe(docs)
            done = True

    trio.run(main)
    assert svc.latest and len(svc.part) == len(docs)
    # The other task ran inside the tally, at most two yields apart (Trio runs a batch of
    # runnable tasks in either order, so the loop may run twice between two of its turns).
    inside = sorted({n for n in seen if 0 < n < len(docs)})
    assert inside, seen
    steps = [b - a for a, b in zip([0, *inside], [*inside, len(docs)], strict=True)]
    assert max(steps) <= 2 * YIELD_EVERY, steps
    # ... and inside the reorder decisions (after the tally), as often.
    total = len(svc._reorders)
    per_doc = total / len(docs)
    inside = sorted({n for n in states if 0 < n < total})
    steps = [b - a for a, b in zip([0, *inside], [*inside, total], strict=True)]
    assert inside and max(steps) <= 2 * YIELD_EVERY * per_doc + 8, (steps, per_doc)
