"""Poll-cycle client: pysnmp 7 (pure Python, pyasn1), its v3arch asyncio API.

One ``SnmpEngine`` for the whole fleet (one UDP socket, as pysnmp's own examples do), up to
``--concurrency`` printers in flight (an ``asyncio.Semaphore``; default 50). More is not
better: pysnmp is CPU-bound, and with 200 or more printers in flight the responses overflow its
socket's receive buffer (the kernel's default size) while it decodes, so printers time out (at
500, half of them); from 5 to 50 its CPU per poll is the same within this machine's noise
(measured on 500 printers, 3 runs each: see docs/benchmarks.md).

Per printer: ``get_cmd`` of the scalars, then for each table a ``bulk_cmd`` loop from the
table's root until the first varbind outside it (what ``bulk_walk_cmd(lexicographicMode=False)``
does, written out so a timeout ends the walk instead of being retried by the generator).
``lookupMib=False`` everywhere: no MIB resolution, pysnmp's fastest path for numeric OIDs.

    python -m bench.clients.pysnmp_asyncio --targets FILE [--concurrency N] [--limit-seconds S]
"""

from __future__ import annotations

import asyncio
import sys
import time
from importlib import metadata
from typing import Any

try:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        bulk_cmd,
        get_cmd,
    )
    from pysnmp.proto import errind
    from pysnmp.proto.rfc1902 import Null
    from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject
except ImportError as err:  # pragma: no cover - depends on the environment
    sys.exit(f"pysnmp is not installed ({err}); install it with: pip install -e '.[test]'  (pysnmp>=7.1)")

from bench.clients._common import Deadline, Tally, inside, oid_tuple, parse_args, v3_user
from bench.workload import Target, Workload
from tests.real.pysnmp_peer import usm_user

NAME = "pysnmp_asyncio"
EXCEPTIONS = (NoSuchObject, NoSuchInstance, EndOfMibView)


def usm_auth() -> object | None:
    """pysnmp's ``UsmUserData`` for ``$PRINTWATCH_BENCH_V3``, or None (v2c)."""
    user = v3_user()
    if user is None:
        return None
    return usm_user(
        user["user"], user["auth_proto"], user["auth_pass"], user.get("priv_proto"), user.get("priv_pass")
    )


def _error_kind(indication: object) -> str:
    return "timeout" if isinstance(indication, errind.RequestTimedOut) else "other"


async def poll_one(
    engine: SnmpEngine, auth: Any, context: ContextData, target: Target, workload: Workload
) -> tuple[int, str | None]:
    transport = await UdpTransportTarget.create(
        (target.host, target.port), timeout=workload.timeout_s, retries=workload.retries
    )
    count = 0
    indication, status, _index, var_binds = await get_cmd(
        engine,
        auth,
        transport,
        context,
        *(ObjectType(ObjectIdentity(oid)) for oid in workload.scalars),
        lookupMib=False,
    )
    if indication:
        return count, _error_kind(indication)
    if status:
        return count, "snmp_error"
    count += sum(1 for _name, value in var_binds if not isinstance(value, EXCEPTIONS))

    for table in workload.tables:
        root = oid_tuple(table)
        last, last_oid = table, root
        walking = True
        while walking:
            indication, status, _index, table_rows = await bulk_cmd(
                engine,
                auth,
                transport,
                context,
                0,
                workload.max_repetitions,
                ObjectType(ObjectIdentity(last), Null("")),
                lookupMib=False,
            )
            if indication:
                return count, _error_kind(indication)
            if status:
                return count, "snmp_error"
            walking = bool(table_rows)
            for name, value in table_rows:
                oid = tuple(name)
                if isinstance(value, EXCEPTIONS) or not inside(oid, root):
                    walking = False
                    break
                if oid <= last_oid:  # an agent that does not move forward would loop for ever
                    return count, "oid_not_increasing"
                count += 1
                last, last_oid = str(name), oid
    return count, None


async def poll_all(targets: list[Target], workload: Workload, concurrency: int, limit_s: float) -> Tally:
    engine = SnmpEngine()
    context = ContextData()
    auths: dict[str, CommunityData] = {}
    usm = usm_auth()
    tally = Tally(len(targets))
    gate = asyncio.Semaphore(concurrency)
    deadline = Deadline(limit_s)

    async def worker(index: int, target: Target) -> None:
        async with gate:
            if deadline.passed():
                return
            auth = (
                usm
                if usm is not None
                else auths.setdefault(target.community, CommunityData(target.community, mpModel=1))
            )
            try:
                count, error = await poll_one(engine, auth, context, target, workload)
            except Exception as err:  # a failing printer is data: counted, never fatal
                count, error = 0, f"exception:{type(err).__name__}"
            tally.record(index, count, error)

    try:
        await asyncio.gather(*(worker(i, t) for i, t in enumerate(targets)))
    finally:
        engine.close_dispatcher()
    return tally


def main() -> None:
    args = parse_args(__doc__ or NAME, default_concurrency=50)
    start = time.perf_counter()
    tally = asyncio.run(poll_all(args.targets, args.workload, args.concurrency, args.limit_seconds))
    wall_s = time.perf_counter() - start
    snmp = "v3" if v3_user() else "v2c"
    tally.emit(NAME, wall_s, args.concurrency, version=metadata.version("pysnmp"), snmp=snmp)


if __name__ == "__main__":
    main()
