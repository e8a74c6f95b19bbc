"""``printwatch collector user ...`` and administration while ``collector serve`` runs (issue
22): on DuckDB the server holds the file, so the CLI goes through its admin API with an admin
token (``--server URL --api-token-file F``); on PostgreSQL it goes to the database directly,
beside the running server. Real processes, real HTTPS with the test's CA."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.ports import free_tcp_port
from tests.support.processes import PRINTWATCH
from tests.support.processes import printwatch as cli
from tests.support.tls import Certs, make_certs

PASSWORD = "a long enough password"


@contextmanager
def serving(store: str, certs: Certs) -> Iterator[str]:
    """``collector serve`` on ``store`` (300 s at most), its URL while it runs."""
    port = free_tcp_port()
    server = subprocess.Popen(
        [*PRINTWATCH, "collector", "serve", "--port", str(port), "--cert", str(certs.certfile),
         "--key", str(certs.keyfile), "--store", store, "--duration", "300"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith(f"collector: https://127.0.0.1:{port}"), line
        yield f"https://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.communicate(timeout=30)


@pytest.mark.realtime
def test_the_cli_administers_a_store_a_server_holds_through_the_server(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    store = str(tmp_path / "collector.duckdb")
    made = cli("collector", "token", "add", "ops", "--role", "admin", "--store", store)
    assert made.returncode == 0, made.stderr
    admin_file = tmp_path / "admin.token"
    admin_file.write_text(made.stdout.splitlines()[-1] + "\n")
    with serving(store, certs) as url:
        remote = ["--server", url, "--api-token-file", str(admin_file), "--ca-file", str(certs.ca_file)]
        held = cli("collector", "site", "add", "branch-1", "--store", store)
        assert held.returncode == 1 and "--server" in held.stderr  # the lock, and the way round it
        added = cli("collector", *remote, "site", "add", "branch-1", "--contact", "it@branch.example")
        assert added.returncode == 0, added.stderr
        assert len(added.stdout.splitlines()[-1]) >= 20  # the one-time enrolment token
        assert cli("collector", *remote, "site", "token", "branch-1").returncode == 0
        assert cli("collector", *remote, "site", "token", "nowhere").returncode == 1
        user = cli("collector", *remote, "user", "add", "acme", "--role", "customer", "--site", "branch-1",
                   stdin=PASSWORD + "\n")  # fmt: skip
        assert user.returncode == 0, user.stderr
        short = cli("collector", *remote, "user", "add", "bob", "--role", "viewer", stdin="short\n")
        assert short.returncode == 1 and "at least" in short.stderr
        listed = cli("collector", *remote, "user", "list")
        assert "acme  customer (branch-1)" in listed.stdout and PASSWORD not in listed.stdout
        viewer = cli("collector", *remote, "token", "add", "desk", "--role", "viewer")
        (tmp_path / "viewer.token").write_text(viewer.stdout.splitlines()[-1])
        sites = cli("collector", *remote, "sites", "--json")
        assert json.loads(sites.stdout.splitlines()[0])["contact"] == "it@branch.example"
        as_viewer = [*remote[:2], "--api-token-file", str(tmp_path / "viewer.token"), *remote[4:]]
        refused = cli("collector", *as_viewer, "site", "add", "branch-2")
        assert refused.returncode == 1 and "403" in refused.stderr
        assert cli("collector", *as_viewer, "sites").returncode == 0  # reading is any role's
        assert cli("collector", *remote, "user", "passwd", "acme", stdin=PASSWORD + "!\n").returncode == 0
        assert cli("collector", *remote, "user", "remove", "acme").returncode == 0
        assert "acme" not in cli("collector", *remote, "user", "list").stdout
        wrong = tmp_path / "wrong.token"
        wrong.write_text("pwc_" + "x" * 43)
        bad = cli("collector", *remote[:2], "--api-token-file", str(wrong), *remote[4:], "user", "list")
        assert bad.returncode == 1 and "401" in bad.stderr
    # the server gone, the file is the CLI's again
    assert "branch-1" in cli("collector", "sites", "--store", store).stdout


@pytest.mark.realtime
def test_on_postgresql_the_cli_goes_to_the_database_beside_the_running_server(
    tmp_path: Path, postgres_url: str
) -> None:
    certs = make_certs(tmp_path)
    with serving(postgres_url, certs):
        assert cli("collector", "site", "add", "branch-1", "--store", postgres_url).returncode == 0
        user = cli("collector", "user", "add", "ann", "--role", "billing", "--store", postgres_url,
                   stdin=PASSWORD + "\n")  # fmt: skip
        assert user.returncode == 0, user.stderr
        assert "ann  billing" in cli("collector", "user", "list", "--store", postgres_url).stdout
        no_role = cli("collector", "user", "add", "bob", "--store", postgres_url, stdin=PASSWORD + "\n")
        assert no_role.returncode == 2 and "--role" in no_role.stderr
