"""Long Python work on the Trio loop (building a cycle's documents, serializing them, rendering
/metrics) in steps, giving way to the HTTP server between them.

Error handling: none needed; cancellation passes through the checkpoints.
"""

from __future__ import annotations

import trio
import trio.lowlevel

#: How many extra loop turns a step gives way for, at most, while other tasks are ready.
MAX_TURNS = 16


async def give_way(max_turns: int = MAX_TURNS) -> None:
    """A checkpoint that lets every other ready task (a request in progress) run, and keeps
    giving way while some are still ready, up to ``max_turns`` loop turns: a request needs
    several turns (read, handle, send), and one turn per step of a long job would make it wait
    for as many steps."""
    await trio.lowlevel.checkpoint()
    for _ in range(max_turns):
        if trio.lowlevel.current_statistics().tasks_runnable == 0:
            return
        await trio.lowlevel.checkpoint()
