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
from printwatch.store.query import EXPORTED

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


def test_sql_never_downloads_an_extension(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # INET needs DuckDB's inet extension, which the wheel does not carry: the query fails at once
    # instead of fetching it from the internet (DuckDB's default).
    assert main(["sql", "--store", str(store_path), "SELECT '127.0.0.1'::INET"]) == 1
    err = capsys.readouterr().err
    assert "INSTALL inet" in err and "download" not in err.lower(), err


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
    assert Path(files[0]).name == f"devices.{fmt}" and len(files) == len(EXPORTED)
    con = duckdb.connect()
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    n = con.execute(f"SELECT count(*) FROM {reader}('{out_dir / ('meter_history.' + fmt)}')").fetchone()
    assert n == (31,)
    evidence = con.execute(
        f"SELECT DISTINCT rule FROM {reader}('{out_dir / ('meter_history.' + fmt)}')"
    ).fetchall()
    assert evidence == [("prtMarkerLifeCount",)]


@pytest.mark.realtime
def test_poll_store_records_what_it_read(tmp_path: Path) -> None:
    from printwatch.sim import Simulator
    from printwatch.store import normalize_mac, normalize_serial

    from tests.support.peers import RECORDINGS

    path = tmp_path / "polled.duckdb"
    polled: list[dict[str, object]] = []
    with Simulator(RECORDINGS, count=5, base="127.23.1.1", port=0) as sim:
        targets = [f"127.23.1.{i}:{sim.port}" for i in range(1, 6)] + ["127.23.1.200:9"]
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-m", "printwatch.cli", "poll", "--json", "--store", str(path), *targets],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr
            polled = [json.loads(line) for line in out.stdout.splitlines()]
    answered = [d for d in polled if d["reachable"]]
    assert len(answered) == 5

    def identity(d: dict[str, object]) -> str:
        serial, mac = normalize_serial(d.get("serial")), normalize_mac(d.get("mac"))  # type: ignore[arg-type]
        address = str(d["target"]).rsplit(":", 1)[0]
        return f"serial:{serial}" if serial else f"mac:{mac}" if mac else f"address:{address}"

    con = duckdb.connect(str(path), read_only=True)
    devices = con.execute("SELECT address, identity, vendor, state FROM devices ORDER BY address").fetchall()
    polls = con.execute("SELECT count(*), count(DISTINCT last_poll_at) FROM device_state").fetchone()
    supplies = con.execute("SELECT count(DISTINCT supply_id) FROM supply_history").fetchone()
    con.close()
    # Every printer that answered is one device, known as the registry's rules say (the silent
    # address is none); what the poll read is there.
    assert [(d[0], d[1], d[2]) for d in devices] == sorted(
        (str(d["target"]).rsplit(":", 1)[0], identity(d), d["vendor"]) for d in answered
    )
    assert any(d[1].startswith("serial:") for d in devices)
    assert all(d[3] != "offline" for d in devices)
    assert polls is not None and polls[0] == 5
    assert supplies == (sum(len(d["supplies"]) for d in answered),)  # type: ignore[arg-type]
