"""The garbage collector around cycles (printwatch.service.fairness): a cycle's end freezes what
was made since the previous end, without a collection; cyclic garbage among frozen objects is
found by the full collection every FULL_EVERY cycles."""

from __future__ import annotations

import gc
import weakref

from printwatch.service import fairness
from printwatch.service.fairness import FULL_EVERY, gc_paused, manage_gc, release_gc


class Node:
    me: object


def cyclic() -> tuple[Node, weakref.ref[Node]]:
    node = Node()
    node.me = node
    return node, weakref.ref(node)


def test_a_cycles_end_freezes_what_it_made_and_collects_nothing_but_every_full_every() -> None:
    manage_gc()
    try:
        frozen = gc.get_freeze_count()
        kept, kept_ref = cyclic()
        with gc_paused():
            assert not gc.isenabled()
            made = [object() for _ in range(100)]  # a cycle's survivors, tracked: a list
        assert gc.isenabled() and gc.get_freeze_count() > frozen and kept_ref() is kept
        assert gc.is_tracked(made) and gc.get_count()[0] < 10  # frozen: out of the young walks
        node, ref = cyclic()
        del node  # garbage made during a cycle
        with gc_paused():
            pass
        if fairness._cycles_ended % FULL_EVERY:
            assert ref() is not None  # frozen with the rest: no collection at this end
    finally:
        release_gc()
    assert gc.get_freeze_count() == 0


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
