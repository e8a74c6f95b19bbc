"""The command line, end to end: `printwatch collector serve` (a real HTTPS server process),
`collector site add`, `printwatch enrol`, `printwatch uplink log`, and the collector's views."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest
from printwatch.cli.main import main

from tests.support.ports import free_tcp_port as free_port
from tests.support.processes import PRINTWATCH
from tests.support.processes import printwatch as cli
from tests.support.tls import make_certs


@pytest.mark.realtime
def test_collector_enrol_and_the_uplink_log(tmp_path: Path, collector_store: str | Path) -> None:
    certs = make_certs(tmp_path)
    store = collector_store
    added = cli("collector", "site", "add", "branch-7", "--contact", "ops@example.com", "--store", str(store))
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert cli("collector", "site", "add", "branch-7", "--store", str(store)).returncode == 2  # exists
    pin = cli("collector", "pin", str(certs.certfile)).stdout.strip()
    assert pin == certs.pin
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "printwatch.cli", "collector", "serve", "--port", str(port), "--cert",
         str(certs.certfile), "--key", str(certs.keyfile), "--store", str(store), "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith(f"collector: https://127.0.0.1:{port}")
        state = tmp_path / "state"
        config = tmp_path / "printwatch.toml"
        config.write_text(
            f'[appliance]\nstate_dir = "{state}"\n\n[uplink]\nurl = "https://127.0.0.1:{port}"\n'
            f'site_id = "branch-7"\npin = "{pin}"\n'
        )
        wrong = cli("enrol", "--config", str(config), "--token", "nope")
        assert wrong.returncode == 1 and "enrolment refused" in wrong.stderr and "403" in wrong.stderr
        ok = cli("enrol", "--config", str(config), "--token", token)
        assert ok.returncode == 0 and "enrolled site branch-7" in ok.stdout, ok.stderr
        assert (state / "uplink.key").stat().st_mode & 0o777 == 0o600
        history = state / "history.duckdb"
        log = cli("uplink", "log", "--store", str(history), "--bytes")
        assert log.returncode == 0, log.stderr
        assert "enrol" in log.stdout and "HTTP 403" in log.stdout and "HTTP 200" in log.stdout
        assert "POST /v1/enrol HTTP/1.1" in log.stdout and token not in log.stdout  # the token is masked
        assert "chain: 2 transmissions, whole" in log.stdout
        if isinstance(store, str):  # PostgreSQL: the MSP's commands work while the collector serves
            during = cli("collector", "sites", "--json", "--store", store)
            assert during.returncode == 0 and json.loads(during.stdout)["key_id"], during.stderr
            assert cli("collector", "site", "add", "branch-8", "--store", store).returncode == 0
        rows = [
            json.loads(x) for x in cli("uplink", "log", "--store", str(history), "--json").stdout.splitlines()
        ]
        assert [r["status"] for r in rows] == [403, 200]
        # an edit shows
        con = duckdb.connect(str(history))
        con.execute("UPDATE uplink_log SET status = 201 WHERE n = 2")
        con.close()
        broken = cli("uplink", "log", "--store", str(history))
        assert (
            broken.returncode == 1 and "row 2: its content does not match its hash (edited)" in broken.stderr
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    sites = [
        json.loads(x) for x in cli("collector", "sites", "--json", "--store", str(store)).stdout.splitlines()
    ]
    assert sites[0]["site_id"] == "branch-7" and sites[0]["key_id"] and not sites[0]["token_open"]
    table = cli("collector", "sites", "--store", str(store)).stdout
    assert table.splitlines()[0].split()[:2] == ["site_id", "name"] and "branch-7" in table
    assert cli("collector", "reorders", "--store", str(store)).stdout.strip() == "no reorders"


def test_uplink_log_of_a_store_that_is_not_there(tmp_path: Path) -> None:
    assert main(["uplink", "log", "--store", str(tmp_path / "none.duckdb")]) == 2
    assert main(["collector", "sites", "--store", str(tmp_path / "none.duckdb")]) == 1


def test_the_collector_store_is_private_whatever_the_umask(tmp_path: Path) -> None:
    # Before: created 0644 outside the systemd unit, readable by every local user.
    store = tmp_path / "collector.duckdb"
    done = subprocess.run(
        [*PRINTWATCH, "collector", "site", "add", "branch-9", "--store", str(store)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
        umask=0o022,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    made = [p for p in tmp_path.iterdir() if p.name.startswith("collector.duckdb")]
    assert made and all(p.stat().st_mode & 0o077 == 0 for p in made), [oct(p.stat().st_mode) for p in made]


@pytest.mark.realtime
def test_api_tokens_and_the_read_api_on_a_listener_of_its_own(
    tmp_path: Path, collector_store: str | Path
) -> None:
    certs = make_certs(tmp_path)
    store = collector_store
    assert cli("collector", "site", "add", "branch-3", "--store", str(store)).returncode == 0
    added = cli("collector", "token", "add", "billing desk", "--store", str(store))
    assert added.returncode == 0, added.stderr
    secret = added.stdout.splitlines()[-1]
    assert secret.startswith("pwc_")
    listed = cli("collector", "token", "list", "--store", str(store)).stdout
    assert "billing desk" in listed and "viewer" in listed and "live" in listed and secret not in listed
    assert cli("collector", "token", "add", "x", "--scope", "write", "--store", str(store)).returncode == 2
    port, api_port = free_port(), free_port()
    server = subprocess.Popen(
        [*PRINTWATCH, "collector", "serve", "--port", str(port), "--api-port", str(api_port),
         "--cert", str(certs.certfile), "--key", str(certs.keyfile), "--store", str(store),
         "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith(f"collector: https://127.0.0.1:{port}")
        assert f"read API: https://127.0.0.1:{api_port}/api/" in server.stdout.readline()
        context = ssl.create_default_context(cafile=str(certs.ca_file))

        def get(p: int, token: str | None = None) -> int:
            request = urllib.request.Request(f"https://127.0.0.1:{p}/api/sites")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=10, context=context) as r:
                    assert b"branch-3" in r.read()
                    return int(r.status)
            except urllib.error.HTTPError as err:
                return int(err.code)

        assert get(port, secret) == 404  # the uploads' listener has no API
        assert get(api_port) == 401 and get(api_port, "pwc_" + "x" * 43) == 401
        assert get(api_port, secret) == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    token_id = listed.split()[0]
    assert cli("collector", "token", "revoke", token_id, "--store", str(store)).returncode == 0
    assert "revoked" in cli("collector", "token", "list", "--store", str(store)).stdout
    assert cli("collector", "token", "revoke", "nope", "--store", str(store)).returncode == 2
