"""Real peers of the uplink tests: the collector over HTTPS with trustme's certificates, and
Debian's tinyproxy as the office's HTTP proxy."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trio
import trustme
from printwatch.collector.server import create_app, serve_collector
from printwatch.collector.store import CollectorStore
from printwatch.uplink.transport import Endpoint, pin_of_pem


@dataclass
class Certs:
    ca_file: Path
    certfile: Path
    keyfile: Path
    pin: str


def make_certs(directory: Path) -> Certs:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, ca_file = (
        directory / "collector.pem",
        directory / "collector.key",
        directory / "ca.pem",
    )
    for i, pem in enumerate(cert.cert_chain_pems):
        pem.write_to_path(str(certfile), append=i > 0)
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(ca_file))
    return Certs(ca_file, certfile, keyfile, pin_of_pem(cert.cert_chain_pems[0].bytes()))


@dataclass
class RunningCollector:
    store: CollectorStore
    certs: Certs
    port: int = 0
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    stopped: trio.Event = field(default_factory=trio.Event)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def endpoint(self, **kw: object) -> Endpoint:
        return Endpoint(self.url, pin=self.certs.pin, timeout_s=10.0, **kw)  # type: ignore[arg-type]

    async def stop(self) -> None:
        self.scope.cancel()
        await self.stopped.wait()


async def start_collector(
    nursery: trio.Nursery,
    store: CollectorStore,
    certs: Certs,
    *,
    now: Callable[[], dt.datetime],
    port: int = 0,
    app: object = None,
) -> RunningCollector:
    """The collector on 127.0.0.1 (``port`` 0: a free one) with the clock ``now`` (naive UTC,
    the test's: never the real date), until ``stop()``."""
    running = RunningCollector(store, certs, port)

    async def run(task_status: trio.TaskStatus[tuple[str, int]]) -> None:
        try:
            with running.scope:
                await serve_collector(
                    app or create_app(store, now=now),
                    "127.0.0.1",
                    port,
                    certfile=certs.certfile,
                    keyfile=certs.keyfile,
                    task_status=task_status,
                )
        finally:
            running.stopped.set()

    _, running.port = await nursery.start(run)
    return running


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tinyproxy:
    """Debian's tinyproxy on a free loopback port, CONNECT allowed to any port; its log kept."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
        if not os.path.exists(binary):
            raise RuntimeError("tinyproxy is not installed (make system-deps)")
        self.port = free_port()
        self.log = directory / "tinyproxy.log"
        conf = directory / "tinyproxy.conf"
        conf.write_text(
            f"Port {self.port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\n"
            f'LogFile "{self.log}"\nLogLevel Connect\n'
        )
        # -d: stay in the foreground (our child: killed by PID at the end).
        self.proc = subprocess.Popen(
            [binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"tinyproxy exited with status {self.proc.returncode}")
            time.sleep(0.05)
        self.close()
        raise RuntimeError("tinyproxy did not listen within 10 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connects(self) -> list[str]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if "CONNECT" in line]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
