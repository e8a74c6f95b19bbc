"""A real PostgreSQL for the collector's tests: Debian's ``postgresql`` (make system-deps).

``postgres_server`` (one per session) runs ``initdb`` in a temporary folder as an unprivileged
user (``nobody`` when the tests run as root, as in CI; else the current user), starts
``postgres`` on a Unix socket in that folder and on a free port of 127.0.0.1, and stops it by
its PID at the end (a fast shutdown, SIGINT). ``postgres_url`` is a fresh database per test,
dropped after it. ``own_postgres`` is a server of one test's own, which it may ``stop()`` and
``start()`` again on the same data directory and port (PostgreSQL going away mid-stream).
``collector_store`` is where a collector test keeps its store, once on each backend: a DuckDB
file in the test's folder, then a PostgreSQL database — every test that takes it runs twice
(the conformance suite, see docs/collector.md). Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.ports import free_tcp_port

#: The unprivileged user the server runs as when the tests run as root.
NOBODY = (65534, 65534)
START_TIMEOUT_S = 30.0


def binaries() -> Path:
    """The folder of Debian's PostgreSQL binaries (the newest installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.fail("PostgreSQL is not installed (make system-deps: Debian's postgresql)", pytrace=False)
    return Path(found[-1]).parent


@dataclass
class PostgresServer:
    """A running server: its folder, its socket folder, its port and its process."""

    folder: Path
    port: int
    proc: subprocess.Popen[bytes]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}&port={self.port}"

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(), autocommit=True, connect_timeout=5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: clients cut, no checkpoint wait
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def start(self) -> None:
        """Starts the stopped server again, in place: the same data directory, socket folder
        and port (PostgreSQL coming back after an outage), answering when this returns."""
        if self.proc.poll() is None:
            raise RuntimeError("the server is running: stop() it first")
        self.proc = run_postgres(self.folder, self.port).proc


def _as_user() -> dict[str, Any]:
    """Popen's arguments that drop root to :data:`NOBODY` (nothing when not root)."""
    if os.getuid() != 0:
        return {}
    return {"user": NOBODY[0], "group": NOBODY[1], "extra_groups": []}


def start_postgres(folder: Path) -> PostgresServer:
    """initdb in ``folder`` (made private to the server's user) and a running ``postgres``."""
    bin_dir = binaries()
    if os.getuid() == 0:
        os.chown(folder, *NOBODY)
    subprocess.run(
        [bin_dir / "initdb", "-D", folder / "data", "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-sync", "--locale=C.UTF-8"],
        check=True, capture_output=True, timeout=120, cwd=folder, **_as_user(),
    )  # fmt: skip
    return run_postgres(folder, free_tcp_port())


def run_postgres(folder: Path, port: int) -> PostgresServer:
    """``postgres`` on the cluster in ``folder`` (made by :func:`start_postgres`; again after a
    stop), answering when this returns."""
    settings = {
        "listen_addresses": "127.0.0.1", "unix_socket_directories": str(folder), "port": str(port),
        "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
        "max_connections": "200", "shared_buffers": "32MB", "log_min_messages": "warning",
    }  # fmt: skip
    args = [str(binaries() / "postgres"), "-D", str(folder / "data")]
    for key, value in settings.items():
        args += ["-c", f"{key}={value}"]
    with (folder / "postgres.log").open("ab") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=folder, **_as_user())
    server = PostgresServer(folder, port, proc)
    _wait_ready(server)
    return server


def _wait_ready(server: PostgresServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"postgres exited: {(server.folder / 'postgres.log').read_text()[-2000:]}")
        try:
            server.admin().close()
            return
        except psycopg.OperationalError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"postgres did not answer within {START_TIMEOUT_S:g} s")


@contextlib.contextmanager
def running_postgres(prefix: str) -> Iterator[PostgresServer]:
    """A server in a new temporary folder named ``prefix...``; stopped and removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        server = start_postgres(folder)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres("printwatch-pg-") as server:
        yield server


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of the test's own, in its own folder, for a test that stops and starts it (the
    session's server stays up for the others); stopped and removed at the end."""
    with running_postgres("printwatch-pg-own-") as server:
        yield server


_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"t{os.getpid()}_{next(_numbers)}"
    with postgres_server.admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres_server.url(name)
    with postgres_server.admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


BACKENDS = ("duckdb", "postgres")


@pytest.fixture(params=BACKENDS)
def collector_store(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where the test's collector keeps its store: a DuckDB file, then a PostgreSQL database."""
    if request.param == "duckdb":
        return tmp_path / "collector.duckdb"
    return str(request.getfixturevalue("postgres_url"))


def backup_store(where: str | Path, to: Path) -> None:
    """The night's backup of a closed store: a copy of the DuckDB file, or ``pg_dump``."""
    if isinstance(where, Path):
        shutil.copy(where, to)
        return
    subprocess.run(
        [binaries() / "pg_dump", "-Fc", "-f", to, "-d", where], check=True, capture_output=True, timeout=60
    )


def restore_store(where: str | Path, backup: Path) -> None:
    """The store put back from :func:`backup_store` (the database made again, then ``pg_restore``)."""
    if isinstance(where, Path):
        shutil.copy(backup, where)
        return
    name = where.split("/")[3].split("?")[0]
    with psycopg.connect(where.replace(f"/{name}?", "/postgres?"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    subprocess.run(
        [binaries() / "pg_restore", "-d", where, backup], check=True, capture_output=True, timeout=60
    )
