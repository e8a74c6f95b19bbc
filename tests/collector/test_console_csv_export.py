"""The supplies export's fast path (issue 22: ``/api/supplies.csv`` under 200 ms at 10,000
orders) writes cells it defused itself: every formula-like text defused exactly as the general
path (``csv_cells``) does, numbers and empty cells as they are, byte for byte."""

from __future__ import annotations

from printwatch.collector.csvtext import FORMULA, csv_cells, csv_defused, defuse_text

HOSTILE = [f'{c}HYPERLINK("http://x.example")' for c in FORMULA] + ["-1+2", "@SUM(A1)", "\r\n=1"]
PLAIN = ["", "Black Toner", "CN123", "a,b", 'quote "x"', "ünïcode", " =lead space", "'=already"]


def test_the_fast_path_writes_what_the_general_one_does() -> None:
    rows = [(text, text, None, 3, 12.5, None, "2026-11-18T05:00:00Z") for text in (*HOSTILE, *PLAIN)]
    fast = csv_defused(("a", "b", "c", "d", "e", "f", "g"), [
        tuple(defuse_text(v) if i < 3 else v for i, v in enumerate(row)) for row in rows
    ])  # fmt: skip
    assert fast == csv_cells(("a", "b", "c", "d", "e", "f", "g"), rows)
    for text in HOSTILE:
        assert defuse_text(text) == "'" + text
    for text in PLAIN:
        assert defuse_text(text) == text
    assert defuse_text(None) is None
    assert csv_defused(None, [("x", 1)]) == "x,1\r\n"
