"""The console's login throttle is kept in the collector's store (issue 22): two front ends on
one PostgreSQL (each its own connection, database thread and HTTPS server, as
``test_front_ends.py`` runs them) count the same failures, so guesses spread over them earn no
more attempts than guesses at one; attempts sent to both at once cannot pass the limit together.
The rule itself on both backends, on the test's clock (never the real date). And the body
limit's log lines name the console as the console, not the dashboard."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import trio
from printwatch.collector.store import CollectorStore
from printwatch.collector.throttle import StoredThrottle
from printwatch.collector.users import add_user

from tests.support.collector import start_collector
from tests.support.console import FAST, PASSWORD, attempt, client
from tests.support.tls import make_certs

T0 = dt.datetime(2026, 3, 2, 9, 0)
SECOND = dt.timedelta(seconds=1)


def test_the_stored_throttle_counts_waits_and_forgets(collector_store: str | Path) -> None:
    throttle = StoredThrottle()
    keys = ("192.0.2.7 ann", "user ann")
    with CollectorStore(collector_store) as store:
        assert [throttle.reserve_all(store, keys, T0) for _ in range(5)] == [0.0] * 5
        assert throttle.reserve_all(store, keys, T0) == 1.0  # the sixth waits 1 s, uncounted
        assert throttle.failures(store, "user ann", T0) == 5
        assert throttle.reserve_all(store, ("user ann",), T0 + SECOND / 2) == 0.5  # any key waiting
        assert throttle.reserve_all(store, keys, T0 + SECOND) == 0.0  # then counted: the 6th
        assert throttle.reserve_all(store, keys, T0 + SECOND) == 2.0  # 1, 2, 4... s
        assert throttle.reserve_all(store, ("198.51.100.1 bob",), T0 + SECOND) == 0.0  # others free
        throttle.succeeded(store, ["192.0.2.7 ann"])  # a success forgives its own keys only
        assert throttle.failures(store, "192.0.2.7 ann", T0) == 0
        assert throttle.reserve_all(store, keys, T0 + 2 * SECOND) == 1.0
        # a quiet window forgets them; the rows of quiet keys are deleted (once a minute)
        later = T0 + dt.timedelta(seconds=throttle.window_s + 1)
        assert throttle.reserve_all(store, keys, later) == 0.0
        assert throttle.failures(store, "user ann", later) == 1
        rows = store.con.execute("SELECT throttle_key FROM login_failures ORDER BY 1").fetchall()
        assert [r[0] for r in rows] == ["192.0.2.7 ann", "user ann"]  # bob's quiet row went
        # at most 300 s however many failures
        for _ in range(40):
            later += dt.timedelta(seconds=301)
            throttle.reserve_all(store, ("user eve",), later)
        assert throttle.reserve_all(store, ("user eve",), later) == 300.0


async def test_two_front_ends_on_one_postgresql_share_the_throttle(
    tmp_path: Path, postgres_url: str, nursery: trio.Nursery
) -> None:
    clock = {"now": T0}
    certs = make_certs(tmp_path)
    stores = [CollectorStore(postgres_url), CollectorStore(postgres_url)]
    for user in ("ann", "bob"):
        add_user(stores[0], user, PASSWORD, "viewer", now=T0, password_hash=FAST)
    fronts = [await start_collector(nursery, s, certs, now=lambda: clock["now"]) for s in stores]
    async with client(certs, fronts[0].url) as a, client(certs, fronts[1].url) as b:
        # five guesses through one front end: the next through the other waits, right or not
        assert [(await attempt(a, "ann", "wrong guess")).status_code for _ in range(5)] == [401] * 5
        r = await attempt(b, "ann", "another guess")
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert (await attempt(b, "ann", PASSWORD)).status_code == 429  # unchecked
        clock["now"] += 2 * SECOND
        assert (await attempt(b, "ann", PASSWORD)).status_code == 303  # forgiven on both
        assert (await attempt(a, "ann", "wrong guess")).status_code == 401
    # ten guesses at once (each its own client and form), half to each front end: five are
    # checked, not five each
    statuses: list[int] = []

    async def guess(url: str) -> None:
        async with client(certs, url) as c:
            statuses.append((await attempt(c, "bob", "a wrong guess")).status_code)

    with trio.fail_after(60):
        async with trio.open_nursery() as together:
            for i in range(10):
                together.start_soon(guess, fronts[i % 2].url)
    assert sorted(statuses) == [401] * 5 + [429] * 5, statuses
    for front in fronts:
        await front.stop()
    for store in stores:
        store.close()


async def test_the_console_body_limit_logs_as_the_console(
    tmp_path: Path, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    certs = make_certs(tmp_path)
    store = CollectorStore(tmp_path / "c.duckdb")
    collector = await start_collector(nursery, store, certs, now=lambda: T0)
    with caplog.at_level(logging.INFO, logger="printwatch.web.auth.limits"):
        async with client(certs, collector.url) as c:
            r = await c.post("/console/login", content=b"user=" + b"x" * 100_000)
            assert r.status_code == 413
    lines = [r.getMessage() for r in caplog.records if r.name == "printwatch.web.auth.limits"]
    assert lines and all(line.startswith("console: ") for line in lines), lines
    await collector.stop()
    store.close()
