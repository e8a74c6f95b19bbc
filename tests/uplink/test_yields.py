"""The uplink's long loops over a cycle's documents let other Trio tasks (the HTTP server's
``/health``) run every :data:`~printwatch.uplink.service.YIELD_EVERY` documents: counted, not timed."""

from __future__ import annotations

from pathlib import Path

import trio
from printwatch.uplink.service import YIELD_EVERY

from tests.uplink.test_service import make, varied


def test_another_task_runs_within_a_bounded_number_of_documents(tmp_path: Path) -> None:
    svc = make(tmp_path, "app", reorder_percent=50.0)
    docs = varied(3 * YIELD_EVERY + 17)
    for i, doc in enumerate(docs):
        doc["serial"] = f"Y{i:05d}"  # a device each
    seen: list[int] = []  # documents tallied when the other task got scheduled
    states: list[int] = []  # supplies with a reorder state then
    done = False

    async def health() -> None:
        while not done:
            seen.append(sum(d.polls for d in svc.part.values()))
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
