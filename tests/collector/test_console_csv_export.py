"""The supplies export's fast path (issue 22: ``/api/supplies.csv`` under 200 ms at 10,000
orders) writes its lines itself: every text cell defused and quoted exactly as the general path
(``csv_cells``, csv's writer) does, byte for byte, hostile text included; and the export of a
queue whose devices and supplies are named by a hostile appliance equals the queue's rows
written by the general path, on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from printwatch.collector import supplies
from printwatch.collector.csvtext import FORMULA, csv_cells, defuse_text, text_cell
from printwatch.collector.store import CollectorStore

HOSTILE = [f'{c}HYPERLINK("http://x.example")' for c in FORMULA] + ["-1+2", "@SUM(A1)", "\r\n=1", "=a,b"]
PLAIN = [
    "",
    "Black Toner",
    "CN123",
    "a,b",
    'quote "x"',
    "two\nlines",
    "cr\r",
    "ünïcode",
    " =x",
    "'=x",
    "\x00nul",
]


def test_a_text_cell_is_what_the_writer_writes() -> None:
    for text in (*HOSTILE, *PLAIN, None):
        row = (text, 3, 12.5, None, text)
        line = f"{text_cell(text)},3,12.5,,{text_cell(text)}\r\n"
        assert line == csv_cells(None, [row]), repr(text)
    for text in HOSTILE:
        assert defuse_text(text) == "'" + text
    for text in PLAIN:
        assert defuse_text(text) == text
    assert defuse_text(None) is None


def test_the_export_equals_the_queue_written_by_the_general_path(collector_store: str | Path) -> None:
    """Orders of devices whose serial, model and supply layout a hostile appliance named, in the
    store as the refresh writes them: each export page equals to_csv(queue) of the same orders."""
    now = dt.datetime(2026, 11, 20, 12, 0)
    layout = (
        '[[1, "toner", "=cmd|\' /C calc\'!A0", "Black, \\"toner\\"\\nline"], [2, "toner", "cyan", "+Cyan"]]'
    )
    with CollectorStore(collector_store) as store, store.transaction() as con:
        con.execute("INSERT INTO sites (site_id, created_at) VALUES ('=site', ?)", [now])
        for n, serial in ((1, "=HYPERLINK(1)"), (2, 'plain "quoted", serial'), (3, None)):
            con.execute(
                "INSERT INTO devices (site_id, n, serial, model, supplies, registered_at) "
                "VALUES ('=site', ?, ?, ?, ?, ?)",
                [n, serial, "@model,x", layout, now],
            )
        for i, (n, index, percent, dte, by) in enumerate(
            ((1, 1, 12.5, 3.25, "appliance"), (1, 2, None, None, "-user"), (2, 1, 7.0, 0.0, "auto"),
             (3, 2, 99.0, 40.0, "a,b"), (4, 1, 1.0, 1.0, "gone device"))
        ):  # fmt: skip
            at = now - dt.timedelta(days=5 - i)
            con.execute(
                "INSERT INTO supply_orders (site_id, n, supply_index, opened_seq, opened_at, last_seq, "
                "last_at, triggers, percent, why, days_to_empty, state, state_at, state_by) "
                "VALUES ('=site', ?, ?, ?, ?, 1, ?, 1, ?, 'low', ?, 'new', ?, ?)",
                [n, index, i + 1, at, at, percent, dte, at, by],
            )
    with CollectorStore(collector_store) as store:
        expected = supplies.to_csv(supplies.queue(store.con, now))
        whole, count, after = supplies.csv_page(store.con, now, limit=3)
        rest, more, _ = supplies.csv_page(store.con, now, limit=3, after=after, header=False)
    assert (count, more) == (3, 2)
    assert whole + rest == expected
    assert "'=HYPERLINK(1)" in expected and "'=cmd" in expected and "'+Cyan" in expected
