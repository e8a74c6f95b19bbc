"""An appliance's uplink in a process of its own, for the kill -9 test: on its first start it
makes PARTS aggregates (12 printers, 4 parts a day) and a billing read, then it sends until its
outbox is empty and exits 0. Started again after a kill, it only sends what is left.

    python -m tests.uplink.appliance_child STORE KEY URL PIN SITE TOKEN PARTS
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path

import trio
from printwatch.uplink.outbox import Outbox
from printwatch.uplink.sender import Backoff
from printwatch.uplink.service import UplinkService
from printwatch.uplink.signing import Identity
from printwatch.uplink.transport import Endpoint

from tests.support.fakes import contract_doc

DEVICES = [(f"10.9.0.{i}", 161) for i in range(1, 13)]
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


async def main(store: Path, key: Path, url: str, pin: str, site: str, token: str, parts: int) -> None:
    box = Outbox(store, Identity.load_or_create(key), site)
    clock = {"now": T0}
    svc = UplinkService(
        box, Endpoint(url, pin=pin, timeout_s=10), now=lambda: clock["now"], token=token,
        backoff=Backoff(0.02, 0.2), idle_s=0.05,
    )  # fmt: skip
    if box.get_state("child_made") is None:
        for n in range(1, parts + 1):
            clock["now"] = T0 + dt.timedelta(hours=6 * n)
            docs = [contract_doc(d, n, clock["now"]) for d in DEVICES]
            await svc.observe(docs)
            await svc.upload(clock["now"])
            if n == 1:
                await svc.billing_cycle(clock["now"].date(), docs)
        box.set_state("child_made", "yes")
    clock["now"] = T0 + dt.timedelta(hours=6 * (parts + 1))  # after the last part, in both runs
    print(f"pending {box.pending()[0]}", flush=True)
    async with trio.open_nursery() as nursery:
        await nursery.start(svc.serve)
        while (await svc.outbox_counts())[0]:  # noqa: ASYNC110 - the outbox is a table, not an event
            await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    box.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    store_, key_, url_, pin_, site_, token_, parts_ = sys.argv[1:8]
    trio.run(main, Path(store_), Path(key_), url_, pin_, site_, token_, int(parts_))
