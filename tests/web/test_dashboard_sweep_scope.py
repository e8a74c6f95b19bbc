"""A sweep from the dashboard stays where the configuration says: inside the site's networks and
ports, and the site's secret communities only inside its configured networks (before: any IPv4
range and UDP port, and a listener received the secret communities). A real UDP listener on
loopback stands in for the attacker's host."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import trio
from printwatch import snmp
from printwatch.config.model import Config, Network, SnmpConfig, WebConfig
from printwatch.store import Store
from printwatch.web.dashboard.sweep import Sweeper, SweepScope

pytestmark = pytest.mark.realtime

SECRET = "s3cret-community"


class Listener:
    """Every datagram sent to 127.23.0.5 (on a free port), for at most 30 s."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.23.0.5", 0))
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.got: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + 30
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.got.append(self.sock.recvfrom(65536)[0])
            except TimeoutError:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


async def test_a_sweep_stays_in_scope_and_keeps_the_secret_communities_at_home(tmp_path: Path) -> None:
    listener = Listener()
    try:
        config = Config(
            snmp=SnmpConfig(communities=(SECRET, "public"), timeout_s=0.2, retries=0),
            networks=(Network(ipaddress.IPv4Network("127.24.0.0/30")),),
            web=WebConfig(
                sweep_networks=(ipaddress.IPv4Network("127.23.0.0/29"),), sweep_ports=(listener.port,)
            ),
        )
        sweeper = Sweeper(Store(tmp_path / "h.duckdb"), config.snmp, SweepScope.of(config))
        with pytest.raises(
            ValueError, match=re.escape("127.25.0.0/30 is outside the networks this appliance may sweep")
        ):
            await sweeper.sweep(["127.25.0.0/30"], listener.port)
        with pytest.raises(ValueError, match="port 9 is not one this appliance polls"):
            await sweeper.sweep(["127.23.0.4/30"], 9)
        assert listener.got == []  # refused before anything was sent
        # A widened network: swept, with 'public' alone.
        await sweeper.sweep(["127.23.0.4/30"], listener.port)
        await trio.sleep(0.2)
        assert listener.got, "the widened network was not swept"
        assert {snmp.decode(d).community for d in listener.got} == {b"public"}
        assert not any(SECRET.encode() in d for d in listener.got)
        # Inside the configured networks the site's communities are used, in order.
        scope = SweepScope.of(config)
        assert scope.communities_for(["127.24.0.0/31"], [SECRET, "public"]) == [SECRET, "public"]
        assert scope.ports == (161, listener.port)
    finally:
        listener.close()
