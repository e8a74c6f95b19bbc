"""The demo's local collector: ``printwatch collector`` on 127.0.0.1 with a self-signed
certificate and its own DuckDB store, one site with a one-time enrolment token, and the
appliance's ``[uplink]`` pointing at it with the certificate's key pinned — the uplink's whole
path (enrolment, signed uploads, acknowledgements, sync) on loopback.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import trio

from printwatch.clock import naive_utcnow
from printwatch.collector.enrolment import add_site
from printwatch.collector.server import create_app, serve_collector
from printwatch.collector.store import CollectorStore
from printwatch.collector.tokens import create_token
from printwatch.config.model import UplinkConfig
from printwatch.uplink.transport import pin_of_pem
from printwatch.web.auth.tls import TlsFiles, self_signed

SITE = "demo-site"


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class DemoCollector:
    store: CollectorStore
    store_path: Path
    tls: TlsFiles
    port: int
    uplink: UplinkConfig
    #: A viewer API token for the collector's ``/api/...`` (the demo prints it).
    api_token: str

    @classmethod
    def prepare(cls, directory: Path, *, key_file: Path) -> DemoCollector:
        """Makes the certificate, the store and the site; the uplink configuration to use.

        Error handling: ``OSError`` for the folder, the store or the port.
        """
        directory.mkdir(parents=True, exist_ok=True)
        tls = self_signed(directory, "127.0.0.1")
        store_path = directory / "collector.duckdb"
        store = CollectorStore(store_path)
        now = naive_utcnow()
        token = add_site(store, SITE, now=now, name="printwatch demo")
        api_token = create_token(store, "demo", "viewer", now=now)
        port = free_tcp_port()
        uplink = UplinkConfig(
            url=f"https://127.0.0.1:{port}",
            site_id=SITE,
            token=token,
            pin=pin_of_pem(tls.cert.read_bytes()),
            key_file=key_file,
        )
        return cls(store, store_path, tls, port, uplink, api_token)

    async def serve(
        self, *, task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serves HTTPS until cancelled (see :func:`printwatch.collector.server.serve_collector`)."""
        self.app = create_app(self.store)
        await serve_collector(
            self.app,
            "127.0.0.1",
            self.port,
            certfile=self.tls.cert,
            keyfile=self.tls.key,
            task_status=task_status,
        )

    def accepted(self) -> int:
        """Uploads the collector accepted so far."""
        app = getattr(self, "app", None)
        return int(app.state.stats["accepted"]) if app is not None else 0

    def close(self) -> None:
        self.store.close()
