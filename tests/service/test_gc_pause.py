"""The garbage collector around cycles (printwatch.service.fairness): a cycle's end freezes what
was made since the previous end, without a collection; cyclic garbage among frozen objects is
found by the full collection every FULL_EVERY cycles."""

from __future__ import annotations

import gc
import weakref

import pytest
from printwatch.service import fairness
from printwatch.service.fairness import FULL_EVERY, gc_paused, manage_gc, release_gc


class Node:
    me: object


def cyclic() -> tuple[Node, weakref.ref[Node]]:
    node = Node()
    node.me = node
    return node, weakref.ref(node)


def test_a_cycles_end_freezes_what_it_made_and_collects_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fairness, "_cycles_ended", 0)  # the ends below are not the full one
    manage_gc()
    try:
        frozen = gc.get_freeze_count()
        kept, kept_ref = cyclic()
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() > frozen and kept_ref() is kept
        node, ref = cyclic()
        del node  # garbage made during a cycle
        with gc_paused():
            pass
        gc.collect()  # a young collection: the frozen garbage is not in its walk
        assert ref() is not None
    finally:
        release_gc()
    assert gc.get_freeze_count() == 0


def test_what_a_failing_cycle_made_is_left_to_the_next_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle's error may hold its documents in a reference cycle: not frozen, they go at the
    next collection once the error is handled."""
    monkeypatch.setattr(fairness, "_cycles_ended", 0)
    manage_gc()
    try:
        frozen = gc.get_freeze_count()
        refs: list[weakref.ref[Node]] = []

        def failing_cycle() -> None:
            with gc_paused():
                node, ref = cyclic()
                refs.append(ref)
                del node
                raise RuntimeError("the store's write failed")

        with pytest.raises(RuntimeError):
            failing_cycle()
        (ref,) = refs
        assert gc.isenabled() and gc.get_freeze_count() == frozen  # nothing frozen
        gc.collect()
        assert ref() is None
    finally:
        release_gc()


def test_garbage_among_frozen_objects_is_found_within_full_every_cycles() -> None:
    manage_gc()
    try:
        node, ref = cyclic()
        with gc_paused():
            pass  # node alive at this end: frozen with the rest
        del node
        if fairness._cycles_ended % FULL_EVERY != FULL_EVERY - 1:  # the next end is not the full one
            with gc_paused():
                pass
            assert ref() is not None  # frozen: the walks of the ends between full ones miss it
        for _ in range(FULL_EVERY):
            with gc_paused():
                pass
            if ref() is None:
                break
        assert ref() is None
    finally:
        release_gc()
