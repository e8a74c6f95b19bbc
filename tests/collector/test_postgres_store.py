"""What only the PostgreSQL backend has: monthly partitions made ahead, retention, its indexes,
the location picked from the store's address (the conformance suite runs everything else on
both backends)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from printwatch.collector.storage import StoreUnavailable, display, is_url, location
from printwatch.collector.storage.pg_schema import PARTITIONED, partitions
from printwatch.collector.store import CollectorStore, CollectorStoreError

JUNE = dt.datetime(2026, 6, 15, 12)


def months(store: CollectorStore, table: str) -> list[str]:
    return sorted(f"{m:%Y-%m}" for m in partitions(store.con.raw, table).values())


def read(store: CollectorStore, at: dt.datetime, seq: int) -> None:
    with store.transaction() as con:
        store.bulk(
            con,
            "meter_reads",
            ["site_id", "n", "meter", "time", "value", "source", "cycle", "seq"],
            [("site-a", 1, "total", at, 100 + seq, "aggregate", None, seq)],
        )


def where(store: CollectorStore, seq: int) -> list[tuple[str]]:
    rows = store.con.execute("SELECT tableoid::regclass::text FROM meter_reads WHERE seq = ?", [seq])
    return [(str(r[0]),) for r in rows.fetchall()]


def test_the_months_around_now_are_made_ahead_for_every_growing_table(postgres_url: str) -> None:
    with CollectorStore(postgres_url, now=lambda: JUNE) as store:
        assert store.dialect == "postgres"
        for table in PARTITIONED:
            assert months(store, table) == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09"], table
        read(store, JUNE, 1)
        read(store, dt.datetime(2031, 1, 1), 2)  # an appliance's clock years ahead: the default
        assert where(store, 1) == [("meter_reads_p202606",)]
        assert where(store, 2) == [("meter_reads_default",)]
    # Opened again later (a front end's start or its daily renewal): the new months are made,
    # and the default partition's rows of a month made now move into it.
    later = dt.datetime(2030, 11, 2)
    with CollectorStore(postgres_url, now=lambda: later) as store:
        assert months(store, "meter_reads")[-5:] == ["2030-10", "2030-11", "2030-12", "2031-01", "2031-02"]
        assert where(store, 2) == [("meter_reads_p203101",)]
        assert where(store, 1) == [("meter_reads_p202606",)]  # no retention: everything kept


def test_retention_drops_the_months_past_it_and_the_old_rows_of_the_default(postgres_url: str) -> None:
    with CollectorStore(postgres_url, now=lambda: JUNE) as store:
        read(store, dt.datetime(2026, 5, 31, 23, 59), 1)
        read(store, dt.datetime(2026, 7, 1), 2)
        read(store, dt.datetime(2020, 1, 1), 3)  # in the default partition
    december = dt.datetime(2026, 12, 6)
    with CollectorStore(postgres_url, now=lambda: december, retention_months=5) as store:
        # Kept: July 2026 on (5 whole months before December); May and June dropped. October was
        # never made (no store ran then): its rows would have gone to the default partition.
        assert months(store, "meter_reads") == [
            "2026-07", "2026-08", "2026-09", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03",
        ]  # fmt: skip
        assert [r[0] for r in store.con.execute("SELECT seq FROM meter_reads ORDER BY seq").fetchall()] == [2]
        assert months(store, "messages")[0] == "2026-07"
        # The daily renewal applies it too.
        store.backend.now = lambda: dt.datetime(2027, 1, 2)  # type: ignore[attr-defined]
        store.renew()
        assert months(store, "meter_reads")[0] == "2026-08"


def test_the_consoles_questions_have_their_indexes(postgres_url: str) -> None:
    with CollectorStore(postgres_url, now=lambda: JUNE) as store:
        names = {
            r[0]
            for r in store.con.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert {
        "devices_pkey",
        "devices_serial",
        "meter_reads_cycle",
        "meter_reads_device",
        "counter_reads_device",
    } <= names


def test_the_location_picks_the_backend(tmp_path: Path, postgres_url: str) -> None:
    assert is_url(postgres_url) and not is_url(str(tmp_path / "c.duckdb"))
    assert (
        location("postgresql://pw:secret@db.example/collector")
        == "postgresql://pw:secret@db.example/collector"
    )
    assert location("c.duckdb") == Path("c.duckdb")
    assert display("postgresql://pw:secret@db.example/collector") == "postgresql://pw@db.example/collector"
    with CollectorStore(tmp_path / "c.duckdb") as store:
        assert store.dialect == "duckdb"
    with pytest.raises(CollectorStoreError, match=r"postgresql://pw@127\.0\.0\.1:9/x") as caught:
        CollectorStore("postgresql://pw:secret@127.0.0.1:9/x")
    assert "secret" not in str(caught.value)


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    with CollectorStore(postgres_url, now=lambda: JUNE) as store:
        store.con.execute("INSERT INTO schema_version VALUES (99, 'from the future', ?)", [JUNE])
    with pytest.raises(CollectorStoreError, match="schema version 99 is newer"):
        CollectorStore(postgres_url, now=lambda: JUNE)


def test_a_lost_connection_is_made_again_for_the_next_statement(postgres_url: str) -> None:
    import psycopg

    with CollectorStore(postgres_url, now=lambda: JUNE) as store:
        pid = store.con.execute("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(StoreUnavailable):
            store.con.execute("SELECT 1")
        assert store.con.execute("SELECT count(*) FROM sites").fetchall() == [(0,)]
        assert store.con.execute("SELECT pg_backend_pid()").fetchone()[0] != pid


def test_copy_drops_nul_from_strings_and_keeps_the_rest(postgres_url: str) -> None:
    """A NUL anywhere in a bulk insert (a device's name, a meter's) is dropped, on the COPY and
    on the upsert, and rows without one go in as they are (the copy's fast path)."""
    cols = ["site_id", "n", "meter", "value", "time"]
    with CollectorStore(postgres_url, now=lambda: JUNE) as store:
        with store.transaction() as con:
            store.bulk(
                con,
                "meter_latest",
                cols,
                [("site-a", 1, "to\x00tal", 5, JUNE), ("site-a", 2, "total", 6, JUNE)],
            )
            store.bulk(con, "meter_latest", cols, [("site-a", 2, "total", 7, JUNE)], replace=True)
            store.bulk(con, "meter_latest", cols, [("site-a", 1, "total\x00", 8, JUNE)], replace=True)
        rows = store.con.execute("SELECT n, meter, value FROM meter_latest ORDER BY n").fetchall()
    assert [tuple(r) for r in rows] == [(1, "total", 8), (2, "total", 7)]


def test_binary_copy_keeps_every_value_and_refuses_an_integer_out_of_range(postgres_url: str) -> None:
    """A bulk insert is a binary COPY (psycopg's binary dumpers): every type the collector writes
    comes back as it was sent, nulls too; a value beyond an INTEGER column's 32 bits is refused
    as the text COPY refused it (psycopg's binary dumper would have stored 2**31 as -2**31)."""
    import psycopg

    cols = ["site_id", "n", "supply_index", "time", "percent", "why", "days_to_empty", "seq"]
    rows = [
        ("site-a", 1, 2, JUNE, 4.5, "low", None, (1 << 62) + 1),
        ("site-a", (1 << 31) - 1, 0, JUNE + dt.timedelta(microseconds=1), None, "ünïcode", -1.25, 1),
    ]
    with CollectorStore(postgres_url, now=lambda: JUNE) as store:
        with store.transaction() as con:
            store.bulk(con, "reorders", cols, rows)
        back = store.con.execute(f"SELECT {', '.join(cols)} FROM reorders ORDER BY n").fetchall()
        assert [tuple(r) for r in back] == rows
        for wide in (1 << 31, -(1 << 31) - 1):
            with pytest.raises(psycopg.DataError), store.transaction() as con:
                store.bulk(con, "reorders", cols, [("site-a", 3, wide, JUNE, None, "x", None, 2)])
        with pytest.raises(psycopg.DataError), store.transaction() as con:  # nor in an upsert
            store.bulk(con, "meter_latest", ["site_id", "n", "meter", "value", "time"],
                       [("site-a", 1 << 31, "total", 1, JUNE)], replace=True)  # fmt: skip
        assert store.con.execute("SELECT count(*) FROM reorders").fetchall() == [(2,)]
        assert store.con.execute("SELECT count(*) FROM meter_latest").fetchall() == [(0,)]


def test_meter_latest_leaves_room_for_updates_in_place(postgres_url: str) -> None:
    """Migration 7: every aggregate rewrites meter_latest's rows; half of each page is kept free
    so the new versions stay in it (HOT updates, the primary key untouched)."""
    with CollectorStore(postgres_url, now=lambda: JUNE) as store:
        options = store.con.execute(
            "SELECT reloptions FROM pg_class WHERE relname = 'meter_latest'"
        ).fetchone()
        version = store.con.execute("SELECT max(version) FROM schema_version").fetchone()
    assert "fillfactor=50" in options[0]
    assert version[0] >= 7


def test_the_backends_migrations_are_numbered_in_step_and_share_what_is_the_same() -> None:
    """Both lists know the same versions (a store's version means the same tables whichever
    backend holds it), and the migrations written once for both are in both, in their place."""
    from printwatch.collector.storage import duck, pg_schema, schema_common

    assert [v for v, _, _ in duck.MIGRATIONS] == [v for v, _, _ in pg_schema.MIGRATIONS]
    for shared in schema_common.MIGRATIONS:
        assert duck.MIGRATIONS[shared[0] - 1] is shared and pg_schema.MIGRATIONS[shared[0] - 1] is shared
