"""A flood of console logins (each a made-up user name: no throttle key has failures yet) does
not pile up without bound behind the one password hash: once :data:`MAX_WAITING_LOGINS` wait,
the next is answered 503 with ``Retry-After``, its password unchecked and nothing written to the
throttle's table (whose rows a flood would otherwise add as fast as requests come)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import cast

import httpx
import trio
from printwatch.collector.console.login import MAX_WAITING_LOGINS
from printwatch.collector.console.state import ConsoleState
from printwatch.collector.server import create_app
from printwatch.collector.store import CollectorStore
from starlette.applications import Starlette
from starlette.routing import Mount

T0 = dt.datetime(2026, 3, 2, 9, 0)


async def attempt(app: object, user: str, statuses: list[int]) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as c:
        form = await c.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]*)"', form.text)
        assert csrf
        data = {"csrf": csrf[1], "user": user, "password": "a guess", "next": ""}
        r = await c.post("/console/login", data=data)
        statuses.append(r.status_code)
        if r.status_code == 503:
            assert r.headers["retry-after"] == "5"


async def test_logins_beyond_those_waiting_for_the_hash_are_refused_uncounted(tmp_path: Path) -> None:
    store = CollectorStore(tmp_path / "c.duckdb")
    app = create_app(store, now=lambda: T0, secure=False)
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/console")
    console: ConsoleState = cast(Starlette, mount.app).state.console
    holder = object()
    await console.hashing.acquire_on_behalf_of(holder)  # the hash busy: logins wait for it
    statuses: list[int] = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for i in range(MAX_WAITING_LOGINS):
                nursery.start_soon(attempt, app, f"made-up-{i}", statuses)
            # polled: the logins reach the hash through the store's thread, no event to wait on
            while console.hashing.statistics().tasks_waiting < MAX_WAITING_LOGINS:  # noqa: ASYNC110
                await trio.sleep(0.01)
            rows = store.con.execute("SELECT count(*) FROM login_failures").fetchone()
            one_more: list[int] = []
            with trio.move_on_after(10):  # without the bound it waits behind the others
                await attempt(app, "one-more", one_more)
            after = store.con.execute("SELECT count(*) FROM login_failures").fetchone()
            waited = list(statuses)
            console.hashing.release_on_behalf_of(holder)
    assert one_more == [503]
    assert after == rows  # nothing counted for it
    assert waited == []  # the others still waited meanwhile
    assert statuses == [401] * MAX_WAITING_LOGINS
    store.close()
