"""``printwatch sql`` and ``printwatch export`` on a store written by the store's own writer."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from printwatch.cli.main import main
from printwatch.store import Store

from tests.store.docs import doc, every


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "history.duckdb"
    with Store(path, meter_interval_s=0) as store:
        for i, t in enumerate(every(60, 30)):
            store.ingest(
                [
                    doc("10.0.0.1", t, total=1000 + 10 * i, toner=90 - i),
                    doc("10.0.0.2", t, serial="BRN0012345"),
                ]
            )
    return path


def test_sql_formats(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = "SELECT serial, state, addresses FROM devices ORDER BY serial"
    assert main(["sql", "--store", str(store_path), query]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["serial", "state", "addresses"]
    assert table[2].split()[:2] == ["BRN0012345", "running"] and table[-1] == "(2 rows)"
    assert main(["sql", "--store", str(store_path), "--format", "csv", query]) == 0
    assert list(csv.reader(capsys.readouterr().out.splitlines())) == [
        ["serial", "state", "addresses"], ["BRN0012345", "running", "['10.0.0.2']"],
        ["XRX123456", "running", "['10.0.0.1']"],
    ]  # fmt: skip
    assert main(["sql", "--store", str(store_path), "--format", "json", query]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"serial": "BRN0012345", "state": "running", "addresses": ["10.0.0.2"]},
        {"serial": "XRX123456", "state": "running", "addresses": ["10.0.0.1"]},
    ]


def test_sql_errors_name_the_problem(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--store", str(store_path), "SELECT nope FROM devices"]) == 1
    assert 'column "nope"' in capsys.readouterr().err
    assert main(["sql", "--store", str(tmp_path / "none.duckdb"), "SELECT 1"]) == 2
    assert "no store at" in capsys.readouterr().err


def test_sql_takes_the_store_from_the_environment(store_path: Path) -> None:
    query = "SELECT count(*) AS n FROM meter_history"
    out = subprocess.run(
        [sys.executable, "-m", "printwatch.cli", "sql", "--format", "csv", query],
        capture_output=True, text=True, check=True, env={"PRINTWATCH_STORE": str(store_path), "PATH": ""},
    )  # fmt: skip
    assert out.stdout.splitlines() == ["n", "31"]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_every_view(
    store_path: Path, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    assert main(["export", "--store", str(store_path), "--format", fmt, str(out_dir)]) == 0
    files = capsys.readouterr().out.split()
    assert Path(files[0]).name == f"devices.{fmt}" and len(files) == 10
    con = duckdb.connect()
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    n = con.execute(f"SELECT count(*) FROM {reader}('{out_dir / ('meter_history.' + fmt)}')").fetchone()
    assert n == (31,)
    evidence = con.execute(
        f"SELECT DISTINCT rule FROM {reader}('{out_dir / ('meter_history.' + fmt)}')"
    ).fetchall()
    assert evidence == [("prtMarkerLifeCount",)]
