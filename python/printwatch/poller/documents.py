"""Poll targets and turn their answers into poll documents (the shared contract).

A poll has two steps (see :mod:`printwatch.poller.plans`): the base plan for every target,
then, for each target that answered, the GETs of its vendor's meter map. A caller that already
knows each target's vendor (the scheduler, from the device registry) can poll
:func:`~printwatch.poller.plans.full_plan` in one step and call
:func:`printwatch.mib.interpret` itself.

Credentials are a :data:`TargetFactory` (community-based v1/v2c today:
:func:`community_targets`), so other kinds of credentials only add a factory.

Error handling: a printer that fails is data (``reachable: false`` or ``failures``); exceptions
are the engine's (``OSError`` if no socket can be bound).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from printwatch._core import Engine, Plan, Target, TargetResult, V3Credentials
from printwatch.clock import iso_seconds, utcnow
from printwatch.engine import poll, poll_async
from printwatch.mib import interpret, vendor_of
from printwatch.mib.tables import present
from printwatch.mib.text import decode_text
from printwatch.poller.plans import SYSTEM, base_plan, vendor_plan

Version = Literal["1", "2c", "3", "auto"]
#: Builds the engine's Target for an address and a plan, with the right credentials.
TargetFactory = Callable[[str, int, Plan], Target]
#: A target to poll: (its name in the document, IPv4 address, port).
Address = tuple[str, str, int]


def community_targets(
    community: str, version: Version = "auto", v3: V3Credentials | None = None
) -> TargetFactory:
    """SNMPv1/v2c targets with one community, or SNMPv3 targets as the user ``v3``."""

    def make(host: str, port: int, plan: Plan) -> Target:
        return Target(host, port, plan=plan, community=community, version=version, v3=v3)

    return make


def vendor_from(result: TargetResult) -> str | None:
    """The vendor of a base-plan result (from sysDescr and sysObjectID)."""
    descr = present(result.gets, SYSTEM["descr"])
    object_id = present(result.gets, SYSTEM["object_id"])
    return vendor_of(
        decode_text(descr.value) if descr is not None else None,
        object_id.value if object_id is not None and isinstance(object_id.value, str) else None,
    )


def _second_step(
    addresses: Sequence[Address], make_target: TargetFactory, first: Sequence[TargetResult]
) -> tuple[list[int], list[Target]]:
    answered = [i for i, r in enumerate(first) if r.reachable]
    targets = [
        make_target(addresses[i][1], addresses[i][2], vendor_plan(vendor_from(first[i]))) for i in answered
    ]
    return answered, targets


def _documents(
    addresses: Sequence[Address],
    first: Sequence[TargetResult],
    answered: list[int],
    second: Sequence[TargetResult],
    time: str,
    thresholds: Mapping[str, float] | None,
) -> list[dict[str, Any]]:
    extra = dict(zip(answered, second, strict=True))
    return [
        interpret(
            first[i], *([extra[i]] if i in extra else []), target=name, time=time, thresholds=thresholds
        )
        for i, (name, _, _) in enumerate(addresses)
    ]


def poll_documents(
    addresses: Sequence[Address],
    make_target: TargetFactory,
    *,
    engine: Engine,
    thresholds: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Polls the targets in two steps (blocking, GIL released while the engine waits); their
    poll documents, in order."""
    time = iso_seconds(utcnow())
    first = poll([make_target(host, port, base_plan()) for _, host, port in addresses], engine=engine)
    answered, targets = _second_step(addresses, make_target, first)
    second = poll(targets, engine=engine) if targets else []
    return _documents(addresses, first, answered, second, time, thresholds)


async def poll_documents_async(
    addresses: Sequence[Address],
    make_target: TargetFactory,
    *,
    engine: Engine,
    thresholds: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """:func:`poll_documents` for Trio: the loop keeps running, and cancelling the surrounding
    scope cancels the batch in flight."""
    time = iso_seconds(utcnow())
    first = await poll_async(
        [make_target(host, port, base_plan()) for _, host, port in addresses], engine=engine
    )
    answered, targets = _second_step(addresses, make_target, first)
    second = await poll_async(targets, engine=engine) if targets else []
    return _documents(addresses, first, answered, second, time, thresholds)
