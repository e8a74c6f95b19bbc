"""``printwatch poll``: one poll of each target, as text or as one JSON object per line.

A poll has two steps (see :mod:`printwatch.poller.plans`): the base plan for every target,
then, for each target that answered, the GETs of its vendor's meter map. Each target's results
become the poll document of the shared contract (:func:`printwatch.mib.interpret`).

Credentials are a :data:`TargetFactory` (today community-based v1/v2c,
:func:`community_targets`), so other kinds of credentials only add a factory.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, Literal, TextIO

from printwatch._core import Engine, Plan, Target, TargetResult
from printwatch.cli.poll_text import print_text
from printwatch.engine import parse_target, poll
from printwatch.mib import interpret, utc_now, vendor_of
from printwatch.mib.tables import present
from printwatch.mib.text import decode_text
from printwatch.poller.plans import SYSTEM, base_plan, vendor_plan

Version = Literal["1", "2c", "auto"]
#: Builds the engine's Target for an address and a plan, with the right credentials.
TargetFactory = Callable[[str, int, Plan], Target]


def community_targets(community: str, version: Version) -> TargetFactory:
    """SNMPv1/v2c targets with one community."""

    def make(host: str, port: int, plan: Plan) -> Target:
        return Target(host, port, plan=plan, community=community, version=version)

    return make


def vendor_from(result: TargetResult) -> str | None:
    """The vendor of a base-plan result (sysDescr and sysObjectID)."""
    descr = present(result.gets, SYSTEM["descr"])
    object_id = present(result.gets, SYSTEM["object_id"])
    return vendor_of(
        decode_text(descr.value) if descr is not None else None,
        object_id.value if object_id is not None and isinstance(object_id.value, str) else None,
    )


def poll_documents(
    addresses: list[tuple[str, str, int]],
    make_target: TargetFactory,
    *,
    engine: Engine,
    thresholds: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Polls ``(name, host, port)`` targets in two steps; their poll documents, in order."""
    time = utc_now()
    first = poll([make_target(host, port, base_plan()) for _, host, port in addresses], engine=engine)
    answered = [i for i, r in enumerate(first) if r.reachable]
    second = poll(
        [make_target(addresses[i][1], addresses[i][2], vendor_plan(vendor_from(first[i]))) for i in answered],
        engine=engine,
    )
    extra: dict[int, TargetResult] = dict(zip(answered, second, strict=True))
    docs = []
    for i, (name, _, _) in enumerate(addresses):
        more = [extra[i]] if i in extra else []
        docs.append(interpret(first[i], *more, target=name, time=time, thresholds=thresholds))
    return docs


def run_poll(
    specs: list[str],
    *,
    community: str,
    version: Version,
    as_json: bool,
    engine: Engine,
    out: TextIO = sys.stdout,
) -> int:
    """Polls every target; exit status 0 if any answered, 1 if none did, 2 for a bad target."""
    addresses = []
    for spec in specs:
        try:
            host, port = parse_target(spec)
        except ValueError as err:
            print(f"printwatch poll: {err}", file=sys.stderr)
            return 2
        addresses.append((spec, host, port))
    docs = poll_documents(addresses, community_targets(community, version), engine=engine)
    for doc in docs:
        if as_json:
            print(json.dumps(doc, separators=(",", ":"), ensure_ascii=False), file=out)
        else:
            print_text(doc, out)
    return 0 if any(doc["reachable"] for doc in docs) else 1
